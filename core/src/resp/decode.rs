//! The decoder: [`decode`] (stateless) and [`Decoder`] (resumable), both built on one
//! iterative validator.
//!
//! How it works, and why it can neither recurse nor allocate:
//! * [`read_node`] reads one *node* at a position: a whole scalar (simple string, bulk,
//!   double...) or only the header of an aggregate (`*3\r\n`) or attribute (`|1\r\n`).
//! * [`Scanner`] walks a frame node by node, keeping for each open aggregate how many children
//!   it still expects, in a fixed-capacity stack (`heapless`, at most [`MAX_DEPTH`] + 1 slots).
//!   That is all the state needed to find where a frame ends, so depth costs a counter, not
//!   a stack frame, and nothing is ever allocated from a length a peer claims.
//! * Once the end is known, [`build_frame`] makes the [`Frame`]: scalars are read in place,
//!   aggregates keep a borrowed slice of their elements and are read again, lazily, when the
//!   caller iterates them (see [`Aggregate`](super::Aggregate)).

use super::frame::{AggKind, Aggregate, Attributes, Frame, Kind};
use super::{DecodeError, ErrorKind, Limits, Status, MAX_DEPTH};

/// Progress of a read: done, or the buffer must grow to at least this many bytes first.
#[derive(Clone, Copy)]
pub(crate) enum Step<T> {
    Done(T),
    Need(usize),
}

type Read<T> = Result<Step<T>, DecodeError>;

/// Unwraps a `Step::Done` or returns the `Step::Need` from the enclosing function.
macro_rules! done {
    ($e:expr) => {
        match $e? {
            Step::Done(v) => v,
            Step::Need(n) => return Ok(Step::Need(n)),
        }
    };
}

/// What [`read_node`] found.
pub(crate) enum Node<'a> {
    /// A whole scalar frame.
    Scalar(Kind<'a>),
    /// The header of an aggregate with this many entries (pairs for a map).
    Aggregate(AggKind, usize),
    /// The header of an attribute with this many pairs.
    Attribute(usize),
}

/// Limits for re-reading bytes that were already validated (frames, iteration, `to_value`).
pub(crate) const VALIDATED: Limits = Limits {
    max_bulk_len: usize::MAX,
    max_elements: usize::MAX,
    max_depth: MAX_DEPTH,
    max_line_len: usize::MAX,
};

fn err<T>(offset: usize, kind: ErrorKind) -> Read<T> {
    Err(DecodeError::new(offset, kind))
}

/// Reads the node starting at `pos`: a whole scalar, or the header of an aggregate.
/// Returns it with the offset just past what was read.
#[inline(always)]
pub(crate) fn read_node<'a>(buf: &'a [u8], pos: usize, limits: &Limits) -> Read<(Node<'a>, usize)> {
    let Some(&ty) = buf.get(pos) else {
        return Ok(Step::Need(pos + 1));
    };
    let p = pos + 1;
    let node = match ty {
        b'$' => {
            let (len, h) = done!(length(
                buf,
                p,
                limits.max_bulk_len,
                ErrorKind::BulkTooLong,
                true
            ));
            match len {
                None => (Node::Scalar(Kind::Nil), h),
                Some(n) => {
                    let (data, end) = done!(payload(buf, h, n));
                    (Node::Scalar(Kind::Bulk(data)), end)
                }
            }
        }
        b'+' => {
            let (line, end) = done!(line(buf, p, limits));
            let kind = if line == b"OK" {
                Kind::Okay
            } else {
                Kind::Simple(line)
            };
            (Node::Scalar(kind), end)
        }
        b':' => {
            let (n, end) = done!(integer(buf, p));
            (Node::Scalar(Kind::Int(n)), end)
        }
        b'-' => {
            let (line, end) = done!(line(buf, p, limits));
            (Node::Scalar(Kind::Error(line)), end)
        }
        b'*' | b'%' | b'~' | b'>' => {
            let (len, end) = done!(length(
                buf,
                p,
                limits.max_elements,
                ErrorKind::TooManyElements,
                ty == b'*'
            ));
            let kind = match ty {
                b'*' => AggKind::Array,
                b'%' => AggKind::Map,
                b'~' => AggKind::Set,
                _ => AggKind::Push,
            };
            match len {
                None => (Node::Scalar(Kind::Nil), end),
                Some(n) => (Node::Aggregate(kind, n), end),
            }
        }
        b'_' => {
            let end = done!(crlf(buf, p, ErrorKind::InvalidNull));
            (Node::Scalar(Kind::Nil), end)
        }
        b'#' => {
            let value = match buf.get(p) {
                None => return Ok(Step::Need(p + 1)),
                Some(b't') => true,
                Some(b'f') => false,
                Some(_) => return err(p, ErrorKind::InvalidBoolean),
            };
            let end = done!(crlf(buf, p + 1, ErrorKind::ExpectedCrlf));
            (Node::Scalar(Kind::Boolean(value)), end)
        }
        b',' => {
            let (line, end) = done!(line(buf, p, limits));
            let value = core::str::from_utf8(line)
                .ok()
                .and_then(|s| s.parse::<f64>().ok());
            match value {
                Some(v) => (Node::Scalar(Kind::Double(v)), end),
                None => return err(p, ErrorKind::InvalidDouble),
            }
        }
        b'(' => {
            let (line, end) = done!(line(buf, p, limits));
            let digits = line.strip_prefix(b"-").unwrap_or(line);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return err(p, ErrorKind::InvalidBigNumber);
            }
            (Node::Scalar(Kind::BigNumber(line)), end)
        }
        b'!' | b'=' => {
            let (len, h) = done!(length(
                buf,
                p,
                limits.max_bulk_len,
                ErrorKind::BulkTooLong,
                false
            ));
            let n = len.unwrap_or(0);
            let (data, end) = done!(payload(buf, h, n));
            let kind = if ty == b'!' {
                Kind::BulkError(data)
            } else {
                match data {
                    [a, b, c, b':', text @ ..] => Kind::Verbatim {
                        format: [*a, *b, *c],
                        text,
                    },
                    _ => return err(h, ErrorKind::InvalidVerbatim),
                }
            };
            (Node::Scalar(kind), end)
        }
        b'|' => {
            let (len, end) = done!(length(
                buf,
                p,
                limits.max_elements,
                ErrorKind::TooManyElements,
                false
            ));
            (Node::Attribute(len.unwrap_or(0)), end)
        }
        b';' | b'.' => return err(pos, ErrorKind::Streamed),
        other => return err(pos, ErrorKind::UnknownType(other)),
    };
    Ok(Step::Done(node))
}

/// Expects CRLF at `i`; `not_cr` is the error when the byte at `i` is not CR.
#[inline(always)]
fn crlf(buf: &[u8], i: usize, not_cr: ErrorKind) -> Read<usize> {
    match buf.get(i) {
        None => Ok(Step::Need(i + 1)),
        Some(b'\r') => match buf.get(i + 1) {
            None => Ok(Step::Need(i + 2)),
            Some(b'\n') => Ok(Step::Done(i + 2)),
            Some(_) => err(i + 1, ErrorKind::ExpectedLf),
        },
        Some(_) => err(i, not_cr),
    }
}

/// A CRLF-terminated line starting at `start` (without the CRLF), and the offset after it.
#[inline(always)]
fn line<'a>(buf: &'a [u8], start: usize, limits: &Limits) -> Read<(&'a [u8], usize)> {
    let rest = buf.get(start..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(i) if i > limits.max_line_len => {
            err(start + limits.max_line_len, ErrorKind::LineTooLong)
        }
        Some(i) => {
            if rest[i] == b'\n' {
                return err(start + i, ErrorKind::StrayNewline);
            }
            match rest.get(i + 1) {
                None => Ok(Step::Need(start + i + 2)),
                Some(b'\n') => Ok(Step::Done((&rest[..i], start + i + 2))),
                Some(_) => err(start + i + 1, ErrorKind::ExpectedLf),
            }
        }
        None if rest.len() > limits.max_line_len => {
            err(start + limits.max_line_len, ErrorKind::LineTooLong)
        }
        None => Ok(Step::Need(buf.len() + 1)),
    }
}

/// Decimal digits starting at `start` up to CRLF: the value (checked against `max`, reported
/// as `too_big` at `start`, also before the CRLF has arrived) and the offset after the CRLF.
#[inline(always)]
fn digits(buf: &[u8], start: usize, max: u64, too_big: ErrorKind) -> Read<(u64, usize)> {
    // 19 decimal digits always fit in a u64, so the common short numbers are read by a loop
    // without overflow checks (a checked multiply is a long dependency chain per digit) or
    // bounds checks; longer ones continue in a checked loop.
    const SAFE_DIGITS: usize = 19;
    let bytes = buf.get(start..).unwrap_or_default();
    let fast = &bytes[..bytes.len().min(SAFE_DIGITS)];
    let mut acc: u64 = 0;
    let mut n = 0;
    for &b in fast {
        let d = b.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        acc = acc * 10 + u64::from(d);
        n += 1;
    }
    if n == fast.len() {
        for &b in &bytes[n..] {
            let d = b.wrapping_sub(b'0');
            if d >= 10 {
                break;
            }
            match acc
                .checked_mul(10)
                .and_then(|a| a.checked_add(u64::from(d)))
            {
                Some(a) => acc = a,
                None if max < u64::MAX => return err(start, too_big),
                None => return err(start, ErrorKind::Overflow),
            }
            n += 1;
        }
    }
    if acc > max {
        return err(start, too_big);
    }
    let i = start + n;
    match bytes.get(n) {
        None => return Ok(Step::Need(i + 1)),
        Some(b'\r') if n > 0 => {}
        Some(b'\n') => return err(i, ErrorKind::StrayNewline),
        Some(_) => return err(i, ErrorKind::ExpectedDigit),
    }
    let end = done!(crlf(buf, i, ErrorKind::ExpectedDigit));
    Ok(Step::Done((acc, end)))
}

/// The line of a `:` integer: an optional sign and digits, fitting an `i64`.
#[inline(always)]
fn integer(buf: &[u8], start: usize) -> Read<(i64, usize)> {
    let (negative, first) = match buf.get(start) {
        None => return Ok(Step::Need(start + 1)),
        Some(b'-') => (true, start + 1),
        Some(b'+') => (false, start + 1),
        Some(_) => (false, start),
    };
    let max = if negative {
        i64::MIN.unsigned_abs()
    } else {
        i64::MAX as u64
    };
    let (abs, end) = done!(digits(buf, first, max, ErrorKind::Overflow));
    let value = if negative {
        0i64.wrapping_sub_unsigned(abs)
    } else {
        abs as i64
    };
    Ok(Step::Done((value, end)))
}

/// The length line of a bulk or aggregate: `None` for the RESP2 null `-1` (when `null_ok`).
#[inline(always)]
fn length(
    buf: &[u8],
    start: usize,
    max: usize,
    too_big: ErrorKind,
    null_ok: bool,
) -> Read<(Option<usize>, usize)> {
    match buf.get(start) {
        None => Ok(Step::Need(start + 1)),
        Some(b'?') => err(start, ErrorKind::Streamed),
        Some(b'-') => {
            let (n, end) = done!(digits(buf, start + 1, u64::MAX, ErrorKind::Overflow));
            // Exactly `-1`: `-01` is not the null marker.
            if n == 1 && null_ok && end == start + 4 {
                Ok(Step::Done((None, end)))
            } else {
                err(start, ErrorKind::NegativeLength)
            }
        }
        Some(_) => {
            let max = u64::try_from(max).unwrap_or(u64::MAX);
            let (n, end) = done!(digits(buf, start, max, too_big));
            // n <= max, which came from a usize.
            Ok(Step::Done((Some(n as usize), end)))
        }
    }
}

/// `n` payload bytes at `start` followed by CRLF.
#[inline(always)]
fn payload(buf: &[u8], start: usize, n: usize) -> Read<(&[u8], usize)> {
    let Some(end) = start.checked_add(n).and_then(|e| e.checked_add(2)) else {
        return err(start, ErrorKind::BulkTooLong);
    };
    if buf.len() < end {
        return Ok(Step::Need(end));
    }
    if &buf[end - 2..end] != b"\r\n" {
        return err(end - 2, ErrorKind::ExpectedCrlf);
    }
    Ok(Step::Done((&buf[start..end - 2], end)))
}

/// The iterative validator: walks nodes, counting the children each open aggregate still
/// expects. Its whole state is `pos` (always at a node boundary) and the counts, so it can be
/// resumed when more bytes arrive ([`Decoder`]).
#[derive(Clone, Debug)]
struct Scanner {
    /// Nodes still expected at the current level (0: done).
    top: u64,
    /// The counts of the enclosing levels, innermost last: one entry per open aggregate.
    parents: heapless::Vec<u64, MAX_DEPTH>,
    /// Offset of the next node to read.
    pos: usize,
    /// The buffer must be at least this long before another read can progress.
    need: usize,
}

impl Scanner {
    /// A scanner expecting `count` frames starting at `pos`.
    fn new(pos: usize, count: u64) -> Self {
        Scanner {
            top: count,
            parents: heapless::Vec::new(),
            pos,
            need: 0,
        }
    }

    /// Scans until the expected frames are complete: returns their end offset.
    #[inline]
    fn run(&mut self, buf: &[u8], limits: &Limits) -> Read<usize> {
        if buf.len() < self.need {
            return Ok(Step::Need(self.need));
        }
        let max_depth = limits.max_depth.min(MAX_DEPTH);
        while self.top > 0 {
            let (node, end) = match read_node(buf, self.pos, limits)? {
                Step::Done(done) => done,
                Step::Need(n) => {
                    self.need = n;
                    return Ok(Step::Need(n));
                }
            };
            let children = match node {
                Node::Scalar(_) => 0,
                Node::Aggregate(AggKind::Map, n) => pairs(n, self.pos)?,
                Node::Aggregate(_, n) => n as u64,
                // The pairs and the value the attribute is attached to: an attribute is a
                // level of nesting, so a chain of them cannot grow the depth unchecked.
                Node::Attribute(n) => pairs(n, self.pos)?.saturating_add(1),
            };
            self.top -= 1;
            if children > 0 {
                if self.parents.len() >= max_depth || self.parents.push(self.top).is_err() {
                    return err(self.pos, ErrorKind::TooDeep);
                }
                self.top = children;
            }
            self.pos = end;
            while self.top == 0 {
                match self.parents.pop() {
                    Some(parent) => self.top = parent,
                    None => break,
                }
            }
        }
        Ok(Step::Done(self.pos))
    }
}

/// Elements of a map or attribute with `n` pairs.
fn pairs(n: usize, pos: usize) -> Result<u64, DecodeError> {
    (n as u64)
        .checked_mul(2)
        .ok_or(DecodeError::new(pos, ErrorKind::TooManyElements))
}

/// The end of `count` consecutive frames at `pos` in already-validated bytes.
///
/// Validated bytes need no depth check, so one counter of pending nodes replaces the
/// scanner's stack: each node is one pending node done and its children pending.
pub(crate) fn skip(buf: &[u8], mut pos: usize, count: u64) -> Option<usize> {
    let mut pending = count;
    while pending > 0 {
        let Ok(Step::Done((node, end))) = read_node(buf, pos, &VALIDATED) else {
            return None;
        };
        let children = match node {
            Node::Scalar(_) => 0,
            Node::Aggregate(AggKind::Map, n) => (n as u64).checked_mul(2)?,
            Node::Aggregate(_, n) => n as u64,
            Node::Attribute(n) => (n as u64).checked_mul(2)?.checked_add(1)?,
        };
        pending = (pending - 1).checked_add(children)?;
        pos = end;
    }
    Some(pos)
}

/// The frame at `pos` in validated bytes, and the offset after it. A scalar is read once;
/// an aggregate or attributed frame is first skipped to find its end.
#[inline]
pub(crate) fn frame_at(buf: &[u8], pos: usize) -> Option<(Frame<'_>, usize)> {
    let Ok(Step::Done((node, end))) = read_node(buf, pos, &VALIDATED) else {
        return None;
    };
    if let Node::Scalar(kind) = node {
        return Some((Frame::new(kind, None, buf.get(pos..end)?), end));
    }
    let end = skip(buf, pos, 1)?;
    Some((build_frame(buf.get(pos..end)?).ok()?, end))
}

/// The frame of `raw`, which holds exactly one validated frame.
pub(crate) fn build_frame(raw: &[u8]) -> Result<Frame<'_>, DecodeError> {
    let truncated = DecodeError::new(raw.len(), ErrorKind::ExpectedCrlf);
    let mut pos = 0;
    let mut attrs_start = None;
    loop {
        let (node, end) = match read_node(raw, pos, &VALIDATED)? {
            Step::Done(done) => done,
            Step::Need(_) => return Err(truncated),
        };
        let kind = match node {
            Node::Attribute(n) => {
                attrs_start.get_or_insert(pos);
                pos = skip(raw, end, 2 * n as u64).ok_or(truncated)?;
                continue;
            }
            Node::Scalar(kind) => kind,
            Node::Aggregate(agg, n) => agg.kind(Aggregate::new(n, agg, &raw[end..])),
        };
        let attrs = attrs_start.map(|s| Attributes::new(&raw[s..pos]));
        return Ok(Frame::new(kind, attrs, raw));
    }
}

/// Decodes one frame from the start of `buf`.
///
/// Returns `Complete((frame, consumed))` where `consumed` is the exact length of that frame
/// (attributes before it included), or `Partial` when `buf` holds only a prefix of a frame
/// (not an error: call again with more bytes). The frame borrows from `buf`; nothing is
/// allocated and no length claimed by the peer is trusted before its bytes are there.
///
/// Cost of a `Partial`: this function is stateless, so every call scans from the start of
/// `buf`. Scalars (the common reply) are one short line plus a length check, so re-scanning
/// is negligible; for large aggregates arriving in many reads use [`Decoder`], which resumes
/// where it stopped.
///
/// ```
/// use redis_ring_core::resp::{decode, Kind, Limits, Status, Value};
/// let limits = Limits::default();
/// assert_eq!(decode(b"$5\r\nhel", &limits), Ok(Status::Partial));
/// let Status::Complete((frame, used)) = decode(b"$5\r\nhello\r\n+OK\r\n", &limits)? else {
///     panic!("complete")
/// };
/// assert_eq!((frame.kind(), used), (Kind::Bulk(b"hello"), 11));
/// assert_eq!(frame.to_value(), Value::Bulk(b"hello".to_vec()));
/// # Ok::<(), redis_ring_core::resp::DecodeError>(())
/// ```
pub fn decode<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Status<(Frame<'a>, usize)>, DecodeError> {
    // Fast path: a scalar (the common reply) is read in one pass, without the scanner, whose
    // fixed-size state is only set up for aggregates.
    match read_node(buf, 0, limits)? {
        Step::Need(_) => Ok(Status::Partial),
        Step::Done((Node::Scalar(kind), end)) => {
            Ok(Status::Complete((Frame::new(kind, None, &buf[..end]), end)))
        }
        Step::Done(_) => scan_aggregate(&mut Scanner::new(0, 1), buf, limits),
    }
}

/// Runs (or resumes) `scan` to the end of the frame, then builds the frame.
#[inline(never)]
fn scan_aggregate<'a>(
    scan: &mut Scanner,
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Status<(Frame<'a>, usize)>, DecodeError> {
    match scan.run(buf, limits)? {
        Step::Need(_) => Ok(Status::Partial),
        Step::Done(end) => Ok(Status::Complete((build_frame(&buf[..end])?, end))),
    }
}

/// A resumable decoder: like [`decode`], but a `Partial` result keeps its progress, so a
/// frame that arrives in many reads is scanned once in total instead of once per read.
///
/// Call protocol:
/// 1. Append received bytes to your buffer, then call [`Decoder::decode`] with the whole
///    unconsumed buffer (its start must not change between calls that return `Partial`).
/// 2. On `Complete((frame, n))`, use the frame, then drop the first `n` bytes of the buffer;
///    the decoder is ready for the next frame. Call again: more frames may be buffered.
/// 3. On `Partial`, wait for more bytes; a call before the buffer reached the length the
///    decoder is known to need returns `Partial` in O(1) (a 512 MiB bulk costs nothing
///    until its last byte arrives).
/// 4. On `Err`, the stream is broken (drop the connection); the decoder is reset.
///
/// Breaking rule 1 (changing bytes already scanned) cannot make it panic, but may give a
/// wrong frame or error. The state is one fixed-size array (no allocation), about 1 KiB.
///
/// ```
/// use redis_ring_core::resp::{Decoder, Limits, Status};
/// let mut decoder = Decoder::new(Limits::default());
/// let wire = b"*2\r\n$1\r\na\r\n$1\r\nb\r\n";
/// for end in 0..wire.len() {
///     assert_eq!(decoder.decode(&wire[..end])?, Status::Partial);
/// }
/// let Status::Complete((frame, used)) = decoder.decode(wire)? else { panic!() };
/// assert_eq!((frame.as_aggregate().unwrap().len(), used), (2, wire.len()));
/// # Ok::<(), redis_ring_core::resp::DecodeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Decoder {
    limits: Limits,
    scan: Scanner,
}

impl Decoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            scan: Scanner::new(0, 1),
        }
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Forgets any progress (for a new connection or a buffer that was replaced).
    pub fn reset(&mut self) {
        // In place: rebuilding the scanner would copy its whole fixed-size stack.
        let scan = &mut self.scan;
        scan.top = 1;
        scan.parents.clear();
        scan.pos = 0;
        scan.need = 0;
    }

    /// Decodes one frame from the start of `buf`, resuming a previous `Partial` scan.
    pub fn decode<'a>(&mut self, buf: &'a [u8]) -> Result<Status<(Frame<'a>, usize)>, DecodeError> {
        if buf.len() < self.scan.need {
            return Ok(Status::Partial);
        }
        let result = if self.scan.pos == 0 {
            // Nothing scanned yet: the one-pass scalar path first, as in `decode`.
            match read_node(buf, 0, &self.limits) {
                Ok(Step::Need(n)) => {
                    self.scan.need = n;
                    return Ok(Status::Partial);
                }
                Ok(Step::Done((Node::Scalar(kind), end))) => {
                    self.scan.need = 0;
                    return Ok(Status::Complete((Frame::new(kind, None, &buf[..end]), end)));
                }
                Ok(Step::Done(_)) => scan_aggregate(&mut self.scan, buf, &self.limits),
                Err(e) => Err(e),
            }
        } else {
            scan_aggregate(&mut self.scan, buf, &self.limits)
        };
        if !matches!(result, Ok(Status::Partial)) {
            self.reset();
        }
        result
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

/// The owned value of the frame at `pos` in validated bytes, and the offset after it.
/// Recursion is bounded by `depth` (at most [`MAX_DEPTH`], as the validator enforced).
pub(crate) fn value_at(buf: &[u8], pos: usize, depth: usize) -> Option<(super::Value, usize)> {
    use super::Value;
    if depth > MAX_DEPTH {
        return None;
    }
    let Ok(Step::Done((node, end))) = read_node(buf, pos, &VALIDATED) else {
        return None;
    };
    // Capacities come from validated lengths, and are capped by the bytes present anyway
    // (every element takes at least 3 bytes), so a claimed length never sizes an allocation.
    let cap = |n: usize| n.min(buf.len().saturating_sub(end) / 3);
    match node {
        Node::Scalar(kind) => Some((kind.scalar_value(), end)),
        Node::Aggregate(AggKind::Map, n) | Node::Attribute(n) => {
            let mut entries = alloc::vec::Vec::with_capacity(cap(n));
            let mut at = end;
            for _ in 0..n {
                let (k, next) = value_at(buf, at, depth + 1)?;
                let (v, next) = value_at(buf, next, depth + 1)?;
                entries.push((k, v));
                at = next;
            }
            if matches!(node, Node::Attribute(_)) {
                let (value, next) = value_at(buf, at, depth + 1)?;
                let value = Value::Attribute {
                    attributes: entries,
                    value: alloc::boxed::Box::new(value),
                };
                Some((value, next))
            } else {
                Some((Value::Map(entries), at))
            }
        }
        Node::Aggregate(agg, n) => {
            let mut items = alloc::vec::Vec::with_capacity(cap(n));
            let mut at = end;
            for _ in 0..n {
                let (v, next) = value_at(buf, at, depth + 1)?;
                items.push(v);
                at = next;
            }
            let value = match agg {
                AggKind::Set => Value::Set(items),
                AggKind::Push => Value::Push(items),
                _ => Value::Array(items),
            };
            Some((value, at))
        }
    }
}
