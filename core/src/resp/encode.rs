//! The encoder: commands (arrays of bulk strings) into a `Vec<u8>` or a `&mut [u8]`, and any
//! [`Value`] in its RESP3 or RESP2 form.
//!
//! Integers are formatted into a 20-byte stack buffer, two digits per step; nothing here
//! allocates except the growth of the caller's `Vec`.

use alloc::vec::Vec;
use core::fmt;

use super::Value;

const CRLF: &[u8] = b"\r\n";

/// Pairs of decimal digits "00".."99", for formatting two digits per division.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Formats `n` in decimal at the end of `buf`; returns the start of the digits.
fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> usize {
    let mut i = buf.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    i
}

/// Number of decimal digits of `n`.
fn digit_count(n: u64) -> usize {
    let mut count = 1;
    let mut n = n;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

/// A byte sink: a growable `Vec`, or a slice whose size was checked beforehand.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Writes into a slice; callers check the total length first, so `put` never runs out (and
/// if it did, it would drop bytes rather than panic).
struct SliceSink<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.pos += bytes.len();
        }
    }
}

/// `prefix`, the decimal `n`, CRLF: a length or integer line.
#[inline]
fn put_line<S: Sink>(out: &mut S, prefix: u8, n: u64) {
    if n < 10 {
        out.put(&[prefix, b'0' + n as u8, b'\r', b'\n']);
    } else {
        let mut buf = [0u8; 20];
        let start = format_u64(n, &mut buf);
        out.put(&[prefix]);
        out.put(&buf[start..]);
        out.put(CRLF);
    }
}

#[inline]
fn put_bulk<S: Sink>(out: &mut S, prefix: u8, data: &[u8]) {
    put_line(out, prefix, data.len() as u64);
    out.put(data);
    out.put(CRLF);
}

fn put_command<S: Sink, A: AsRef<[u8]>>(out: &mut S, args: &[A]) {
    put_line(out, b'*', args.len() as u64);
    for arg in args {
        put_bulk(out, b'$', arg.as_ref());
    }
}

/// Bytes taken by a length line: prefix, digits, CRLF.
fn line_len(n: usize) -> usize {
    3 + digit_count(n as u64)
}

/// Bytes taken by one bulk string of `len` bytes (`$<len>\r\n<data>\r\n`).
pub fn bulk_len(len: usize) -> usize {
    line_len(len) + len + 2
}

/// Exact number of bytes [`encode_command`] writes for `args`.
///
/// ```
/// use redis_ring_core::resp::encoded_len;
/// assert_eq!(encoded_len(&["GET", "key"]), b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n".len());
/// ```
pub fn encoded_len<A: AsRef<[u8]>>(args: &[A]) -> usize {
    line_len(args.len())
        + args
            .iter()
            .map(|a| bulk_len(a.as_ref().len()))
            .sum::<usize>()
}

/// Appends `args` (command name first) to `out` as a RESP array of bulk strings, the form
/// Redis expects requests in (RESP2 and RESP3 alike).
///
/// ```
/// use redis_ring_core::resp::encode_command;
/// let mut out = Vec::new();
/// encode_command(&["SET", "key", "value"], &mut out);
/// assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
/// ```
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    out.reserve(encoded_len(args));
    put_command(out, args);
}

/// The buffer given to [`encode_command_into`] is too small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// Bytes the encoding needs ([`encoded_len`]).
    pub needed: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "buffer too small: the command needs {} bytes",
            self.needed
        )
    }
}

impl core::error::Error for BufferTooSmall {}

/// Writes `args` as a RESP command at the start of `buf`; returns the bytes written, or
/// [`BufferTooSmall`] (writing nothing) when `buf` is shorter than [`encoded_len`].
///
/// ```
/// use redis_ring_core::resp::encode_command_into;
/// let mut buf = [0u8; 64];
/// let n = encode_command_into(&["PING"], &mut buf).unwrap();
/// assert_eq!(&buf[..n], b"*1\r\n$4\r\nPING\r\n");
/// assert_eq!(encode_command_into(&["PING"], &mut buf[..5]).unwrap_err().needed, 14);
/// ```
pub fn encode_command_into<A: AsRef<[u8]>>(
    args: &[A],
    buf: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    let needed = encoded_len(args);
    if buf.len() < needed {
        return Err(BufferTooSmall { needed });
    }
    let mut sink = SliceSink { buf, pos: 0 };
    put_command(&mut sink, args);
    Ok(sink.pos)
}

/// Appends an array header `*<len>\r\n`: the start of a command whose arguments are then
/// written one by one with [`encode_bulk`] (for callers that do not hold them in a slice).
pub fn encode_array_header(len: usize, out: &mut Vec<u8>) {
    put_line(out, b'*', len as u64);
}

/// Appends one bulk string `$<len>\r\n<data>\r\n`.
pub fn encode_bulk(data: &[u8], out: &mut Vec<u8>) {
    put_bulk(out, b'$', data);
}

/// Which protocol version a [`Value`] is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// RESP2: RESP3-only types are written the way Redis downgrades them for RESP2 clients.
    Resp2,
    /// RESP3: every type in its own form.
    Resp3,
}

/// Appends `value` in its RESP3 form (what a RESP3 server would send); used by fake shards.
///
/// Simple strings and errors cannot contain CR or LF on the wire: those bytes are written as
/// spaces (as Redis does). `Value::Simple(b"OK")` and `Value::Okay` are both `+OK`, which
/// decodes to `Value::Okay`. Nesting is encoded recursively: values from [`decode`](super::decode)
/// are at most [`MAX_DEPTH`](super::MAX_DEPTH) deep.
///
/// ```
/// use redis_ring_core::resp::{encode_value, Value};
/// let mut out = Vec::new();
/// encode_value(&Value::Map(vec![(Value::Bulk(b"n".to_vec()), Value::Double(1.5))]), &mut out);
/// assert_eq!(out, b"%1\r\n$1\r\nn\r\n,1.5\r\n");
/// ```
pub fn encode_value(value: &Value, out: &mut Vec<u8>) {
    encode_value_as(value, Protocol::Resp3, out);
}

/// Appends `value` in the form `protocol` allows. In RESP2: nulls are `$-1`, booleans are
/// `:1`/`:0`, doubles and big numbers bulk strings, bulk errors simple errors, verbatim
/// strings their text, maps flat arrays, sets and pushes arrays, attributes dropped.
pub fn encode_value_as(value: &Value, protocol: Protocol, out: &mut Vec<u8>) {
    let resp3 = protocol == Protocol::Resp3;
    match value {
        Value::Nil if resp3 => out.extend_from_slice(b"_\r\n"),
        Value::Nil => out.extend_from_slice(b"$-1\r\n"),
        Value::Okay => out.extend_from_slice(b"+OK\r\n"),
        Value::Simple(s) => put_simple(out, b'+', s),
        Value::Error(s) => put_simple(out, b'-', s),
        Value::Int(n) => put_int(out, b':', *n),
        Value::Bulk(b) => put_bulk(out, b'$', b),
        Value::Boolean(b) if resp3 => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Value::Boolean(b) => out.extend_from_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
        Value::Double(d) => {
            let start = out.len();
            out.push(b',');
            put_double(out, *d);
            out.extend_from_slice(CRLF);
            if !resp3 {
                let text = out.split_off(start + 1);
                out.truncate(start);
                put_bulk(out, b'$', &text[..text.len() - 2]);
            }
        }
        Value::BigNumber(n) if resp3 => put_simple(out, b'(', n),
        Value::BigNumber(n) => put_bulk(out, b'$', n),
        Value::BulkError(e) if resp3 => put_bulk(out, b'!', e),
        Value::BulkError(e) => put_simple(out, b'-', e),
        Value::Verbatim { format, text } if resp3 => {
            put_line(out, b'=', (text.len() + 4) as u64);
            out.extend_from_slice(format);
            out.push(b':');
            out.extend_from_slice(text);
            out.extend_from_slice(CRLF);
        }
        Value::Verbatim { text, .. } => put_bulk(out, b'$', text),
        Value::Array(items) => put_items(out, b'*', items, protocol),
        Value::Set(items) => put_items(out, if resp3 { b'~' } else { b'*' }, items, protocol),
        Value::Push(items) => put_items(out, if resp3 { b'>' } else { b'*' }, items, protocol),
        Value::Map(pairs) if resp3 => put_pairs(out, b'%', pairs, protocol),
        Value::Map(pairs) => {
            put_line(out, b'*', pairs.len() as u64 * 2);
            for (k, v) in pairs {
                encode_value_as(k, protocol, out);
                encode_value_as(v, protocol, out);
            }
        }
        Value::Attribute { attributes, value } => {
            if resp3 {
                put_pairs(out, b'|', attributes, protocol);
            }
            encode_value_as(value, protocol, out);
        }
    }
}

fn put_items(out: &mut Vec<u8>, prefix: u8, items: &[Value], protocol: Protocol) {
    put_line(out, prefix, items.len() as u64);
    for item in items {
        encode_value_as(item, protocol, out);
    }
}

fn put_pairs(out: &mut Vec<u8>, prefix: u8, pairs: &[(Value, Value)], protocol: Protocol) {
    put_line(out, prefix, pairs.len() as u64);
    for (k, v) in pairs {
        encode_value_as(k, protocol, out);
        encode_value_as(v, protocol, out);
    }
}

/// A line-typed payload; CR and LF would end the line early, so they become spaces.
fn put_simple(out: &mut Vec<u8>, prefix: u8, line: &[u8]) {
    out.push(prefix);
    out.extend(
        line.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(CRLF);
}

fn put_int(out: &mut Vec<u8>, prefix: u8, n: i64) {
    let mut buf = [0u8; 20];
    let start = format_u64(n.unsigned_abs(), &mut buf);
    out.push(prefix);
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[start..]);
    out.extend_from_slice(CRLF);
}

/// A double as RESP3 writes it: `inf`, `-inf`, `nan`, or the shortest decimal that reads
/// back to the same `f64` (Rust's `Debug` form, which switches to an exponent for very large
/// and very small magnitudes).
fn put_double(out: &mut Vec<u8>, d: f64) {
    struct VecWriter<'a>(&'a mut Vec<u8>);
    impl fmt::Write for VecWriter<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    if d.is_nan() {
        out.extend_from_slice(b"nan");
    } else if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"inf" } else { b"-inf" });
    } else {
        // Writing to a Vec cannot fail.
        let _ = fmt::Write::write_fmt(&mut VecWriter(out), format_args!("{d:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_integers() {
        for n in [0u64, 1, 9, 10, 99, 100, 101, 12345, u64::MAX] {
            let mut buf = [0u8; 20];
            let start = format_u64(n, &mut buf);
            assert_eq!(&buf[start..], alloc::format!("{n}").as_bytes());
            assert_eq!(digit_count(n), 20 - start);
        }
        for n in [0i64, -1, 42, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            put_int(&mut out, b':', n);
            assert_eq!(out, alloc::format!(":{n}\r\n").as_bytes());
        }
    }
}
