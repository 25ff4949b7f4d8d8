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
            let children = children(&node, self.pos)?;
            descend(
                &mut self.top,
                &mut self.parents,
                children,
                max_depth,
                self.pos,
            )?;
            self.pos = end;
        }
        Ok(Step::Done(self.pos))
    }
}

/// The nodes that make up the value of `node` (read at `pos`): none for a scalar, its
/// elements for an aggregate.
#[inline(always)]
fn children(node: &Node<'_>, pos: usize) -> Result<u64, DecodeError> {
    Ok(match *node {
        Node::Scalar(_) => 0,
        Node::Aggregate(AggKind::Map, n) => pairs(n, pos)?,
        Node::Aggregate(_, n) => n as u64,
        // The pairs and the value the attribute is attached to: an attribute is a level of
        // nesting, so a chain of them cannot grow the depth unchecked.
        Node::Attribute(n) => pairs(n, pos)?.saturating_add(1),
    })
}

/// Counts one node read at `pos` (with `children`) in a walk's state: `top` nodes still
/// expected at the current level, `parents` those of the enclosing levels. Closes every
/// level the node completes.
#[inline(always)]
fn descend(
    top: &mut u64,
    parents: &mut heapless::Vec<u64, MAX_DEPTH>,
    children: u64,
    max_depth: usize,
    pos: usize,
) -> Result<(), DecodeError> {
    *top -= 1;
    if children > 0 {
        if parents.len() >= max_depth || parents.push(*top).is_err() {
            return Err(DecodeError::new(pos, ErrorKind::TooDeep));
        }
        *top = children;
    }
    while *top == 0 {
        match parents.pop() {
            Some(parent) => *top = parent,
            None => break,
        }
    }
    Ok(())
}

/// Walks past one frame as it streams in, keeping none of it: what a connection does with
/// a reply it has given up on (over `Config::max_reply_len`), so that the reply costs no
/// memory however large it is, and the frames after it are read as usual.
///
/// Same grammar and limits as [`Decoder`], except that a string's payload is counted, not
/// needed whole: only a node's header (at most a line) is ever kept between reads.
#[derive(Debug)]
pub(crate) struct Skipper {
    limits: Limits,
    /// Nodes still expected at the current level (0: the frame is over).
    top: u64,
    /// The counts of the enclosing levels, innermost last.
    parents: heapless::Vec<u64, MAX_DEPTH>,
    /// Bytes of a string (payload and CRLF) still to go by.
    string_left: u64,
    /// The start of a node whose header has not arrived whole (at most a line).
    partial: alloc::vec::Vec<u8>,
    /// Bytes walked past so far (for error offsets and the caller's figures).
    walked: u64,
}

impl Skipper {
    /// A skipper at the start of a frame, enforcing `limits` (the protocol's, not the
    /// connection's reply limit: a string over the protocol's bulk limit is a broken peer).
    pub(crate) fn new(limits: Limits) -> Self {
        Skipper {
            limits,
            top: 1,
            parents: heapless::Vec::new(),
            string_left: 0,
            partial: alloc::vec::Vec::new(),
            walked: 0,
        }
    }

    /// Walks through `data`, the next bytes of the stream: `Some(n)` when the frame ended
    /// after the first `n` bytes of `data` (the rest is the next frame), `None` when all of
    /// `data` belonged to it. An error means the stream is not RESP (offsets count from the
    /// frame's start).
    pub(crate) fn feed(&mut self, data: &[u8]) -> Result<Option<usize>, DecodeError> {
        let mut pos = 0;
        loop {
            if self.string_left > 0 {
                let n = self.string_left.min((data.len() - pos) as u64) as usize;
                // The payload is anything; its last two bytes must be CRLF.
                for (left, want) in [(2, b'\r'), (1, b'\n')] {
                    let Some(i) = self.string_left.checked_sub(left) else {
                        continue;
                    };
                    if i < n as u64 && data[pos + i as usize] != want {
                        let at = self.walked + i;
                        return Err(DecodeError::new(at as usize, ErrorKind::ExpectedCrlf));
                    }
                }
                self.string_left -= n as u64;
                self.walked += n as u64;
                pos += n;
                if self.string_left > 0 {
                    return Ok(None);
                }
            }
            if self.top == 0 {
                return Ok(Some(pos));
            }
            if pos == data.len() {
                return Ok(None);
            }
            // One node header, from `data` or (when one was cut by a read) `partial` + `data`.
            let joined = !self.partial.is_empty();
            if joined {
                self.partial.extend_from_slice(&data[pos..]);
            }
            let (buf, at) = if joined {
                (&self.partial[..], 0)
            } else {
                (data, pos)
            };
            let offset = |e: DecodeError| {
                let within = e.offset().saturating_sub(at) as u64;
                DecodeError::new((self.walked + within) as usize, e.kind())
            };
            let (children, string, end) = match skip_node(buf, at, &self.limits).map_err(offset)? {
                Step::Done(done) => done,
                Step::Need(_) => {
                    let kept = if joined {
                        self.partial.len()
                    } else {
                        data.len() - pos
                    };
                    // A header is one line at most: anything longer is not one.
                    if kept > self.limits.max_line_len.saturating_add(64) {
                        let at = self.walked as usize + self.limits.max_line_len;
                        return Err(DecodeError::new(at, ErrorKind::LineTooLong));
                    }
                    if !joined {
                        self.partial.extend_from_slice(&data[pos..]);
                    }
                    return Ok(None);
                }
            };
            let used = end - at;
            let max_depth = self.limits.max_depth.min(MAX_DEPTH);
            let node_at = self.walked as usize;
            descend(
                &mut self.top,
                &mut self.parents,
                children,
                max_depth,
                node_at,
            )?;
            self.walked += used as u64;
            self.string_left = string;
            if joined {
                // The node began in `partial` (kept before `data`) and ended in `data`.
                let before = self.partial.len() - (data.len() - pos);
                pos += used - before;
                self.partial.clear();
            } else {
                pos = end;
            }
        }
    }
}

/// Reads the node at `pos` for [`Skipper`]: its children, the bytes of a string that follow
/// its header (payload and CRLF: not needed here), and the offset after what was read.
fn skip_node(buf: &[u8], pos: usize, limits: &Limits) -> Read<(u64, u64, usize)> {
    let Some(&ty) = buf.get(pos) else {
        return Ok(Step::Need(pos + 1));
    };
    if matches!(ty, b'$' | b'!' | b'=') {
        let too_big = ErrorKind::BulkTooLong;
        let (len, end) = done!(length(
            buf,
            pos + 1,
            limits.max_bulk_len,
            too_big,
            ty == b'$'
        ));
        let string = match len {
            None => 0,
            Some(n) => n as u64 + 2,
        };
        return Ok(Step::Done((0, string, end)));
    }
    let (node, end) = done!(read_node(buf, pos, limits));
    Ok(Step::Done((children(&node, pos)?, 0, end)))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of every shape, with strings, nesting, attributes, nulls and RESP3 scalars.
    const FRAMES: &[&[u8]] = &[
        b"$5\r\nhello\r\n",
        b"$0\r\n\r\n",
        b"$-1\r\n",
        b"+OK\r\n",
        b":-12\r\n",
        b"*3\r\n$1\r\na\r\n$-1\r\n$3\r\nbcd\r\n",
        b"*2\r\n*2\r\n$2\r\nxy\r\n:1\r\n%1\r\n+k\r\n!3\r\nerr\r\n",
        b"|1\r\n+key\r\n,1.5\r\n~2\r\n=8\r\ntxt:abcd\r\n#t\r\n",
        b"*0\r\n",
        b">2\r\n+message\r\n$4\r\nbody\r\n",
        b"*1\r\n(12345678901234567890\r\n",
    ];

    /// Feeds `wire` to a skipper in pieces of `step` bytes; the offset where it said the
    /// frame ended.
    fn skip_in_pieces(wire: &[u8], step: usize) -> Result<Option<usize>, DecodeError> {
        let mut skipper = Skipper::new(Limits::default());
        for (i, piece) in wire.chunks(step).enumerate() {
            if let Some(n) = skipper.feed(piece)? {
                return Ok(Some(i * step + n));
            }
        }
        Ok(None)
    }

    #[test]
    fn the_skipper_ends_where_the_decoder_does_however_the_bytes_are_cut() {
        for frame in FRAMES {
            let mut wire = frame.to_vec();
            wire.extend_from_slice(b"+NEXT\r\n");
            let Ok(Status::Complete((_, end))) = decode(&wire, &Limits::default()) else {
                panic!("{frame:?}");
            };
            for step in 1..=wire.len() {
                assert_eq!(
                    skip_in_pieces(&wire, step),
                    Ok(Some(end)),
                    "{frame:?} by {step}"
                );
            }
            // A frame cut short is never over.
            assert_eq!(skip_in_pieces(&wire[..end - 1], 1), Ok(None), "{frame:?}");
        }
    }

    #[test]
    fn the_skipper_keeps_no_payload() {
        let mut skipper = Skipper::new(Limits::default());
        assert_eq!(skipper.feed(b"*2\r\n$100000000\r\n"), Ok(None));
        for _ in 0..1000 {
            assert_eq!(skipper.feed(&[b'x'; 100_000]), Ok(None));
        }
        assert!(skipper.partial.is_empty());
        assert_eq!(skipper.feed(b"\r\n:1\r\n+NEXT\r\n"), Ok(Some(6)));
    }

    #[test]
    fn the_skipper_refuses_what_the_decoder_refuses() {
        let limits = Limits::default();
        let bad: &[&[u8]] = &[
            b"*2\r\n$3\r\nabcX\r\n",
            b"*1\r\n$4294967296\r\n",
            b"*1\r\n?\r\n",
            b"*1\r\n$-2\r\n",
        ];
        for wire in bad {
            assert!(decode(wire, &limits).is_err(), "{wire:?}");
            for step in 1..=wire.len() {
                assert!(skip_in_pieces(wire, step).is_err(), "{wire:?} by {step}");
            }
        }
        // Too deep.
        let deep = b"*1\r\n".repeat(MAX_DEPTH + 2);
        assert!(skip_in_pieces(&deep, 7).is_err());
        // A header that never ends is not kept for ever.
        let limits = Limits {
            max_line_len: 64 * 1024,
            ..limits
        };
        let mut skipper = Skipper::new(limits);
        assert_eq!(skipper.feed(b"*1\r\n$"), Ok(None));
        let zeros = [b'0'; 4096];
        let mut failed = false;
        for _ in 0..(limits.max_line_len / zeros.len() + 2) {
            if skipper.feed(&zeros).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed, "an endless header was kept");
    }
}
