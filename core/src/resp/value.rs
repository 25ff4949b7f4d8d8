//! [`Value`]: the owned form of a RESP2/RESP3 reply, the shape every reply leaves the core in.

use alloc::boxed::Box;
use alloc::vec::Vec;

/// An owned RESP2/RESP3 value.
///
/// Text-like payloads are kept as bytes: Redis never promises UTF-8, and a client must not
/// mangle what it was given. Use [`Value::as_bytes`] / [`Value::as_str`] to look inside.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A null: RESP2 `$-1` / `*-1`, RESP3 `_`.
    Nil,
    /// The simple string `+OK`, kept apart so the most common reply costs no allocation.
    Okay,
    /// Any other simple string (`+...`).
    Simple(Vec<u8>),
    /// A simple error (`-ERR ...`): the whole line after `-`.
    Error(Vec<u8>),
    /// An integer (`:`).
    Int(i64),
    /// A bulk string (`$`).
    Bulk(Vec<u8>),
    /// An array (`*`).
    Array(Vec<Value>),
    /// A RESP3 boolean (`#t` / `#f`).
    Boolean(bool),
    /// A RESP3 double (`,`), `inf`, `-inf` and `nan` included.
    Double(f64),
    /// A RESP3 big number (`(`): its decimal digits, with an optional leading `-`.
    BigNumber(Vec<u8>),
    /// A RESP3 bulk error (`!`).
    BulkError(Vec<u8>),
    /// A RESP3 verbatim string (`=`): a three-byte format (`txt`, `mkd`) and the text.
    Verbatim {
        /// The format, such as `*b"txt"`.
        format: [u8; 3],
        /// The text after `fmt:`.
        text: Vec<u8>,
    },
    /// A RESP3 map (`%`), in the order the server sent it.
    Map(Vec<(Value, Value)>),
    /// A RESP3 set (`~`), in the order the server sent it.
    Set(Vec<Value>),
    /// A RESP3 push (`>`): out-of-band data such as pub/sub messages.
    Push(Vec<Value>),
    /// A RESP3 attribute (`|`) together with the value it is attached to.
    Attribute {
        /// The attribute map.
        attributes: Vec<(Value, Value)>,
        /// The reply the attributes describe.
        value: Box<Value>,
    },
}
