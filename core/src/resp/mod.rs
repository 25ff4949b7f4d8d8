//! The RESP2/RESP3 codec.
//!
//! PLACEHOLDER API (the codec issue replaces the bodies): other modules compile against
//! these names.

mod value;

pub use value::Value;

/// Bounds on what the decoder accepts from a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk-string payload in bytes (Redis's `proto-max-bulk-len`, 512 MiB).
    pub max_bulk_len: usize,
    /// Largest element count of one aggregate.
    pub max_elements: usize,
    /// Deepest nesting of aggregates.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_elements: 1 << 24,
            max_depth: 64,
        }
    }
}

/// The outcome of a decode call that did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// A whole frame was decoded.
    Complete(T),
    /// More bytes are needed; this is not an error.
    Partial,
}

/// Why a byte sequence is not valid RESP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// Byte offset of the problem in the buffer given to [`decode`].
    pub offset: usize,
}

/// A decoded frame borrowing from the input buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame<'a> {
    raw: &'a [u8],
}

impl Frame<'_> {
    /// The owned form of this frame.
    pub fn to_value(&self) -> Value {
        let _ = self.raw;
        Value::Nil
    }
}

/// Decodes one frame from the start of `buf`.
pub fn decode<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Status<(Frame<'a>, usize)>, DecodeError> {
    let _ = (buf, limits);
    Ok(Status::Partial)
}

/// Appends `args` as a RESP array of bulk strings (a command) to `out`.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut alloc::vec::Vec<u8>) {
    let _ = (args, out);
}
