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

impl Value {
    /// The bytes of a string-like value: bulk, simple (`OK` included), verbatim text, big
    /// number digits.
    ///
    /// ```
    /// use redis_ring_core::resp::Value;
    /// assert_eq!(Value::Okay.as_bytes(), Some(&b"OK"[..]));
    /// assert_eq!(Value::Int(1).as_bytes(), None);
    /// ```
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Okay => Some(b"OK"),
            Value::Simple(b) | Value::Bulk(b) | Value::BigNumber(b) => Some(b),
            Value::Verbatim { text, .. } => Some(text),
            _ => None,
        }
    }

    /// [`Value::as_bytes`] when those bytes are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|b| core::str::from_utf8(b).ok())
    }

    /// The value of an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// Whether this is a null.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Whether this is an error reply (simple or bulk).
    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_) | Value::BulkError(_))
    }

    /// The message of an error reply (simple or bulk), such as `ERR unknown command`.
    pub fn error_message(&self) -> Option<&[u8]> {
        match self {
            Value::Error(m) | Value::BulkError(m) => Some(m),
            _ => None,
        }
    }

    /// Splits an error reply from a successful one: `Err(message)` for simple and bulk
    /// errors, `Ok(self)` otherwise.
    ///
    /// ```
    /// use redis_ring_core::resp::Value;
    /// assert_eq!(Value::Error(b"ERR x".to_vec()).into_error_message(), Err(b"ERR x".to_vec()));
    /// assert_eq!(Value::Int(3).into_error_message(), Ok(Value::Int(3)));
    /// ```
    pub fn into_error_message(self) -> Result<Value, Vec<u8>> {
        match self {
            Value::Error(m) | Value::BulkError(m) => Err(m),
            other => Ok(other),
        }
    }
}

/// Writes bytes as text: printable ASCII as is, `"` and `\\` escaped, `\n`, `\r`, `\t`, and
/// `\xNN` for every other byte (as redis-cli does).
struct Escaped<'a>(&'a [u8]);

impl core::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write;
        for &b in self.0 {
            match b {
                b'"' | b'\\' => {
                    f.write_char('\\')?;
                    f.write_char(char::from(b))?;
                }
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                0x20..=0x7e => f.write_char(char::from(b))?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        Ok(())
    }
}

/// One-line, redis-cli-like text: `"bulk"`, `(integer) 1`, `(nil)`, `(error) ERR ...`,
/// `[a, b]`, `{k: v}`; bytes that are not printable ASCII are escaped.
///
/// ```
/// use redis_ring_core::resp::Value;
/// let v = Value::Array(vec![Value::Bulk(b"it's\n\xff".to_vec()), Value::Int(2), Value::Nil]);
/// assert_eq!(v.to_string(), r#"["it's\n\xff", (integer) 2, (nil)]"#);
/// ```
impl core::fmt::Display for Value {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        fn list(f: &mut core::fmt::Formatter<'_>, items: &[Value]) -> core::fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        fn pairs(f: &mut core::fmt::Formatter<'_>, pairs: &[(Value, Value)]) -> core::fmt::Result {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}: {v}")?;
            }
            Ok(())
        }
        match self {
            Value::Nil => f.write_str("(nil)"),
            Value::Okay => f.write_str("OK"),
            Value::Simple(s) => write!(f, "{}", Escaped(s)),
            Value::Error(s) | Value::BulkError(s) => write!(f, "(error) {}", Escaped(s)),
            Value::Int(n) => write!(f, "(integer) {n}"),
            Value::Bulk(b) => write!(f, "\"{}\"", Escaped(b)),
            Value::Boolean(b) => write!(f, "({b})"),
            Value::Double(d) => write!(f, "(double) {d}"),
            Value::BigNumber(n) => write!(f, "(big number) {}", Escaped(n)),
            Value::Verbatim { text, .. } => write!(f, "\"{}\"", Escaped(text)),
            Value::Array(items) | Value::Set(items) => {
                f.write_str("[")?;
                list(f, items)?;
                f.write_str("]")
            }
            Value::Push(items) => {
                f.write_str("push [")?;
                list(f, items)?;
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                pairs(f, entries)?;
                f.write_str("}")
            }
            Value::Attribute { attributes, value } => {
                f.write_str("|{")?;
                pairs(f, attributes)?;
                write!(f, "}} {value}")
            }
        }
    }
}
