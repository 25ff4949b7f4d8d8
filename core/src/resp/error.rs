//! [`DecodeError`]: why bytes from a peer are not valid RESP (small, `Copy`, with the offset).

use core::fmt;

/// Why a byte sequence is not valid RESP.
///
/// Carries the byte offset of the problem in the buffer given to the decoder and what the
/// decoder expected there. A truncated but otherwise valid frame is never an error: it is
/// [`Status::Partial`](super::Status::Partial).
///
/// ```
/// use redis_ring_core::resp::{decode, ErrorKind, Limits};
/// let err = decode(b"$3\r\nabcX\r\n", &Limits::default()).unwrap_err();
/// assert_eq!(err.offset(), 7);
/// assert_eq!(err.kind(), ErrorKind::ExpectedCrlf);
/// assert_eq!(err.to_string(), "invalid RESP at byte 7: expected CRLF after the payload");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecodeError {
    offset: usize,
    kind: ErrorKind,
}

impl DecodeError {
    pub(crate) const fn new(offset: usize, kind: ErrorKind) -> Self {
        DecodeError { offset, kind }
    }

    /// Byte offset of the problem in the buffer given to the decoder.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// What was wrong (what the decoder expected at [`DecodeError::offset`]).
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid RESP at byte {}: {}", self.offset, self.kind)
    }
}

impl core::error::Error for DecodeError {}

/// The kinds of [`DecodeError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The byte where a frame starts is not a RESP2/RESP3 type byte.
    UnknownType(u8),
    /// A decimal digit was expected (empty number, stray sign, letter in a length...).
    ExpectedDigit,
    /// A CR was followed by something other than LF.
    ExpectedLf,
    /// The bytes after a bulk payload (or `_`, `#t`) are not CRLF.
    ExpectedCrlf,
    /// A line (simple string, error, number) contains a CR or LF that is not its terminator.
    StrayNewline,
    /// A number does not fit in 64 bits.
    Overflow,
    /// A length is negative and is not the RESP2 null marker `-1` of `$` and `*`.
    NegativeLength,
    /// A bulk string, bulk error or verbatim string is longer than [`Limits::max_bulk_len`](super::Limits::max_bulk_len).
    BulkTooLong,
    /// An aggregate claims more elements than [`Limits::max_elements`](super::Limits::max_elements).
    TooManyElements,
    /// Aggregates (or attributes) nest deeper than [`Limits::max_depth`](super::Limits::max_depth).
    TooDeep,
    /// A line is longer than [`Limits::max_line_len`](super::Limits::max_line_len) without a CRLF.
    LineTooLong,
    /// A boolean is not `#t` or `#f`.
    InvalidBoolean,
    /// A double is not a decimal floating-point number, `inf`, `-inf` or `nan`.
    InvalidDouble,
    /// A big number is not an optional `-` followed by decimal digits.
    InvalidBigNumber,
    /// A verbatim string does not start with a three-byte format and `:`.
    InvalidVerbatim,
    /// A null is not exactly `_\r\n`.
    InvalidNull,
    /// A RESP3 streamed string or aggregate (`$?`, `*?`, `;`, `.`...): not supported by this
    /// decoder (no Redis version sends them); rejected rather than misparsed.
    Streamed,
    /// An incomplete reply grew beyond what the caller agreed to buffer (the ring's
    /// `Config::max_reply_len`). Never returned by [`decode`](super::decode) itself: the
    /// caller that owns the receive buffer reports it.
    ReplyTooLong,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnknownType(b) => write!(
                f,
                "expected a RESP type byte (one of +-:$*_#,(!=%~>|), found {:?}",
                char::from(*b)
            ),
            ErrorKind::ExpectedDigit => f.write_str("expected a decimal digit"),
            ErrorKind::ExpectedLf => f.write_str("expected LF after CR"),
            ErrorKind::ExpectedCrlf => f.write_str("expected CRLF after the payload"),
            ErrorKind::StrayNewline => {
                f.write_str("expected CRLF, found a lone CR or LF in a line")
            }
            ErrorKind::Overflow => f.write_str("number does not fit in 64 bits"),
            ErrorKind::NegativeLength => {
                f.write_str("expected a length >= 0 (or -1, the RESP2 null, for $ and *)")
            }
            ErrorKind::BulkTooLong => f.write_str("bulk length exceeds Limits::max_bulk_len"),
            ErrorKind::TooManyElements => {
                f.write_str("aggregate length exceeds Limits::max_elements")
            }
            ErrorKind::TooDeep => f.write_str("nesting exceeds Limits::max_depth"),
            ErrorKind::LineTooLong => f.write_str("line exceeds Limits::max_line_len"),
            ErrorKind::InvalidBoolean => f.write_str("expected `t` or `f` (boolean)"),
            ErrorKind::InvalidDouble => {
                f.write_str("expected a floating-point number, inf, -inf or nan (double)")
            }
            ErrorKind::InvalidBigNumber => {
                f.write_str("expected an optional `-` and decimal digits (big number)")
            }
            ErrorKind::InvalidVerbatim => {
                f.write_str("expected a three-byte format and `:` (verbatim string)")
            }
            ErrorKind::InvalidNull => f.write_str("expected CRLF right after `_` (null)"),
            ErrorKind::Streamed => f.write_str(
                "RESP3 streamed strings and aggregates (`?` lengths, `;`, `.`) are not supported",
            ),
            ErrorKind::ReplyTooLong => {
                f.write_str("reply longer than the receive limit (Config::max_reply_len)")
            }
        }
    }
}
