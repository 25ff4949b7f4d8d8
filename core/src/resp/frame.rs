//! [`Frame`]: a decoded reply borrowing from the receive buffer.
//!
//! Aggregates are *lazy*: the decoder validates the whole aggregate (so a `Complete` frame is
//! known good and its exact length known) but records only its element count and the slice
//! holding its elements. Iterating re-reads the elements from that slice, which costs about
//! what the validation did, and allocates nothing. The alternative, filling caller-provided
//! storage with element offsets, would make every decode of an aggregate write O(n) entries
//! that most callers (which turn the frame into a [`Value`] or look at one field) never read,
//! and would add a storage argument to [`decode`](super::decode).

use super::decode::{frame_at, value_at};
use super::Value;

/// The borrowed content of a [`Frame`], mirroring [`Value`]'s variants.
///
/// Text-like payloads are the exact bytes from the buffer (no UTF-8 check, no copy).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Kind<'a> {
    /// A null: RESP2 `$-1` / `*-1`, RESP3 `_`.
    Nil,
    /// The simple string `+OK`.
    Okay,
    /// Any other simple string (`+...`), without `+` and CRLF.
    Simple(&'a [u8]),
    /// A simple error (`-...`): the line after `-`.
    Error(&'a [u8]),
    /// An integer (`:`).
    Int(i64),
    /// A bulk string (`$`).
    Bulk(&'a [u8]),
    /// A boolean (`#t` / `#f`).
    Boolean(bool),
    /// A double (`,`), `inf`, `-inf` and `nan` included.
    Double(f64),
    /// A big number (`(`): its digits with an optional leading `-`.
    BigNumber(&'a [u8]),
    /// A bulk error (`!`).
    BulkError(&'a [u8]),
    /// A verbatim string (`=`).
    Verbatim {
        /// The three-byte format, such as `*b"txt"`.
        format: [u8; 3],
        /// The text after `fmt:`.
        text: &'a [u8],
    },
    /// An array (`*`).
    Array(Aggregate<'a>),
    /// A map (`%`); iterate it with [`Aggregate::pairs`].
    Map(Aggregate<'a>),
    /// A set (`~`).
    Set(Aggregate<'a>),
    /// A push (`>`): out-of-band data such as pub/sub messages or invalidations.
    Push(Aggregate<'a>),
}

impl Kind<'_> {
    /// The owned value of a scalar kind (aggregates are built from the frame's bytes).
    pub(crate) fn scalar_value(&self) -> Value {
        match *self {
            Kind::Nil => Value::Nil,
            Kind::Okay => Value::Okay,
            Kind::Simple(s) => Value::Simple(s.to_vec()),
            Kind::Error(s) => Value::Error(s.to_vec()),
            Kind::Int(n) => Value::Int(n),
            Kind::Bulk(b) => Value::Bulk(b.to_vec()),
            Kind::Boolean(b) => Value::Boolean(b),
            Kind::Double(d) => Value::Double(d),
            Kind::BigNumber(s) => Value::BigNumber(s.to_vec()),
            Kind::BulkError(s) => Value::BulkError(s.to_vec()),
            Kind::Verbatim { format, text } => Value::Verbatim {
                format,
                text: text.to_vec(),
            },
            // Only reached for frames that could not be re-read, which validation excludes.
            Kind::Array(_) | Kind::Map(_) | Kind::Set(_) | Kind::Push(_) => Value::Nil,
        }
    }
}

/// Which aggregate a header announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AggKind {
    Array,
    Map,
    Set,
    Push,
}

impl AggKind {
    pub(crate) fn kind(self, agg: Aggregate<'_>) -> Kind<'_> {
        match self {
            AggKind::Array => Kind::Array(agg),
            AggKind::Map => Kind::Map(agg),
            AggKind::Set => Kind::Set(agg),
            AggKind::Push => Kind::Push(agg),
        }
    }
}

/// One decoded RESP frame, borrowing from the buffer given to [`decode`](super::decode).
///
/// Scalars are read in place; aggregates are validated but read lazily (see the module
/// docs). RESP3 attributes (`|`) that preceded the frame are attached to it
/// ([`Frame::attributes`]) and included in the consumed length. The accessors below let a
/// connection's state machine route a reply without allocating.
///
/// ```
/// use redis_ring_core::resp::{decode, Limits, Status, Value};
/// let wire = b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
/// let Status::Complete((frame, _)) = decode(wire, &Limits::default())? else { panic!() };
/// assert!(frame.is_push());
/// let parts: Vec<_> = frame.as_aggregate().unwrap().iter().map(|f| f.as_bulk()).collect();
/// assert_eq!(parts, [Some(&b"message"[..]), Some(b"ch"), Some(b"hi")]);
/// # Ok::<(), redis_ring_core::resp::DecodeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame<'a> {
    kind: Kind<'a>,
    attributes: Option<Attributes<'a>>,
    raw: &'a [u8],
}

impl<'a> Frame<'a> {
    pub(crate) fn new(kind: Kind<'a>, attributes: Option<Attributes<'a>>, raw: &'a [u8]) -> Self {
        Frame {
            kind,
            attributes,
            raw,
        }
    }

    /// What the frame holds.
    pub fn kind(&self) -> Kind<'a> {
        self.kind
    }

    /// The attributes sent before this frame, if any.
    pub fn attributes(&self) -> Option<Attributes<'a>> {
        self.attributes
    }

    /// The frame's exact bytes on the wire (attributes included).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether this is a RESP3 push (`>`): out-of-band, not the reply to a request.
    pub fn is_push(&self) -> bool {
        matches!(self.kind, Kind::Push(_))
    }

    /// Whether this is `+OK`.
    pub fn is_okay(&self) -> bool {
        matches!(self.kind, Kind::Okay)
    }

    /// Whether this is a null (`_`, `$-1`, `*-1`).
    pub fn is_nil(&self) -> bool {
        matches!(self.kind, Kind::Nil)
    }

    /// Whether this is an error reply (simple `-` or bulk `!`).
    pub fn is_error(&self) -> bool {
        self.error_message().is_some()
    }

    /// The message of an error reply (simple `-` or bulk `!`), such as `ERR unknown command`.
    pub fn error_message(&self) -> Option<&'a [u8]> {
        match self.kind {
            Kind::Error(m) | Kind::BulkError(m) => Some(m),
            _ => None,
        }
    }

    /// The bytes of a bulk string.
    pub fn as_bulk(&self) -> Option<&'a [u8]> {
        match self.kind {
            Kind::Bulk(b) => Some(b),
            _ => None,
        }
    }

    /// The bytes of any string-like frame: bulk, simple (`OK` included), verbatim text.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.kind {
            Kind::Bulk(b) | Kind::Simple(b) | Kind::Verbatim { text: b, .. } => Some(b),
            Kind::Okay => Some(b"OK"),
            _ => None,
        }
    }

    /// The value of an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self.kind {
            Kind::Int(n) => Some(n),
            _ => None,
        }
    }

    /// The elements of an array, map, set or push.
    pub fn as_aggregate(&self) -> Option<Aggregate<'a>> {
        match self.kind {
            Kind::Array(a) | Kind::Map(a) | Kind::Set(a) | Kind::Push(a) => Some(a),
            _ => None,
        }
    }

    /// The owned form of this frame (attributes become [`Value::Attribute`]).
    ///
    /// One pass over the frame's bytes; allocates only for the value itself.
    pub fn to_value(&self) -> Value {
        if self.attributes.is_none() && self.as_aggregate().is_none() {
            return self.kind.scalar_value();
        }
        value_at(self.raw, 0, 0).map_or(Value::Nil, |(v, _)| v)
    }
}

/// The elements of an aggregate frame, read lazily from the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aggregate<'a> {
    len: usize,
    map: bool,
    body: &'a [u8],
}

impl<'a> Aggregate<'a> {
    pub(crate) fn new(len: usize, kind: AggKind, body: &'a [u8]) -> Self {
        Aggregate {
            len,
            map: kind == AggKind::Map,
            body,
        }
    }

    /// Entries as the header announced them: elements, or pairs for a map.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every element in order; a map yields key, value, key, value...
    pub fn iter(&self) -> Elements<'a> {
        Elements {
            body: self.body,
            pos: 0,
            remaining: if self.map { self.len * 2 } else { self.len },
        }
    }

    /// Consecutive elements as pairs: the entries of a map.
    pub fn pairs(&self) -> Pairs<'a> {
        Pairs(self.iter())
    }
}

impl<'a> IntoIterator for Aggregate<'a> {
    type Item = Frame<'a>;
    type IntoIter = Elements<'a>;
    fn into_iter(self) -> Elements<'a> {
        self.iter()
    }
}

/// Iterator over the elements of an [`Aggregate`].
#[derive(Clone, Debug)]
pub struct Elements<'a> {
    body: &'a [u8],
    pos: usize,
    remaining: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Frame<'a>;

    #[inline]
    fn next(&mut self) -> Option<Frame<'a>> {
        if self.remaining == 0 {
            return None;
        }
        match frame_at(self.body, self.pos) {
            Some((frame, end)) => {
                self.pos = end;
                self.remaining -= 1;
                Some(frame)
            }
            None => {
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Elements<'_> {}

/// Iterator over the key/value pairs of a map or attribute.
#[derive(Clone, Debug)]
pub struct Pairs<'a>(Elements<'a>);

impl<'a> Iterator for Pairs<'a> {
    type Item = (Frame<'a>, Frame<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        Some((self.0.next()?, self.0.next()?))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.remaining / 2;
        (n, Some(n))
    }
}

/// The RESP3 attributes (`|`) sent before a frame: one map, or several when a server chains
/// them. Iterate them with [`Attributes::pairs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attributes<'a> {
    raw: &'a [u8],
}

impl<'a> Attributes<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Attributes { raw }
    }

    /// The attribute bytes on the wire.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Every key/value pair of every attribute map, in order.
    pub fn pairs(&self) -> AttributePairs<'a> {
        AttributePairs {
            raw: self.raw,
            pos: 0,
            remaining: 0,
        }
    }
}

/// Iterator over the pairs of [`Attributes`].
#[derive(Clone, Debug)]
pub struct AttributePairs<'a> {
    raw: &'a [u8],
    pos: usize,
    remaining: usize,
}

impl<'a> AttributePairs<'a> {
    fn element(&mut self) -> Option<Frame<'a>> {
        let (frame, end) = frame_at(self.raw, self.pos)?;
        self.pos = end;
        Some(frame)
    }
}

impl<'a> Iterator for AttributePairs<'a> {
    type Item = (Frame<'a>, Frame<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        use super::decode::{read_node, Node, Step, VALIDATED};
        // Step over (possibly several, possibly empty) attribute headers.
        while self.remaining == 0 {
            match read_node(self.raw, self.pos, &VALIDATED) {
                Ok(Step::Done((Node::Attribute(n), end))) => {
                    self.remaining = n;
                    self.pos = end;
                }
                _ => return None,
            }
        }
        let key = self.element()?;
        let value = self.element()?;
        self.remaining -= 1;
        Some((key, value))
    }
}
