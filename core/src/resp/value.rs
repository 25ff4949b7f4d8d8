//! [`Value`]: the owned form of a RESP2/RESP3 reply, the shape every reply leaves the core in.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

/// An owned RESP2/RESP3 value.
///
/// Text-like payloads are kept as bytes: Redis never promises UTF-8, and a client must not
/// mangle what it was given. Use [`Value::as_bytes`] / [`Value::as_str`] to look inside.
#[derive(Clone, PartialEq)]
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

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, items: &[Value]) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        fn pairs(f: &mut fmt::Formatter<'_>, pairs: &[(Value, Value)]) -> fmt::Result {
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

/// Bytes shown as a quoted string: text as text (escaped as Rust escapes a `str`), bytes that
/// are not UTF-8 as `\xNN`. `Bulk("abc")` rather than `Bulk([97, 98, 99])`.
struct Text<'a>(&'a [u8]);

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '"' => f.write_str("\\\"")?,
                    '\'' => f.write_char('\'')?,
                    _ => write!(f, "{}", c.escape_debug())?,
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_char('"')
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Okay => f.write_str("Okay"),
            Value::Simple(b) => f.debug_tuple("Simple").field(&Text(b)).finish(),
            Value::Error(b) => f.debug_tuple("Error").field(&Text(b)).finish(),
            Value::Int(i) => f.debug_tuple("Int").field(i).finish(),
            Value::Bulk(b) => f.debug_tuple("Bulk").field(&Text(b)).finish(),
            Value::Array(v) => f.debug_tuple("Array").field(v).finish(),
            Value::Boolean(b) => f.debug_tuple("Boolean").field(b).finish(),
            Value::Double(d) => f.debug_tuple("Double").field(d).finish(),
            Value::BigNumber(b) => f.debug_tuple("BigNumber").field(&Text(b)).finish(),
            Value::BulkError(b) => f.debug_tuple("BulkError").field(&Text(b)).finish(),
            Value::Verbatim { format, text } => f
                .debug_struct("Verbatim")
                .field("format", &Text(format))
                .field("text", &Text(text))
                .finish(),
            Value::Map(m) => f.debug_tuple("Map").field(m).finish(),
            Value::Set(v) => f.debug_tuple("Set").field(v).finish(),
            Value::Push(v) => f.debug_tuple("Push").field(v).finish(),
            Value::Attribute { attributes, value } => f
                .debug_struct("Attribute")
                .field("attributes", attributes)
                .field("value", value)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    #[test]
    fn debug_shows_strings_as_escaped_text() {
        let v = Value::Array(vec![
            Value::Bulk(b"abc".to_vec()),
            Value::Bulk(b"q\"uote\\ \n caf\xc3\xa9 \xff".to_vec()),
            Value::Error(b"ERR bad".to_vec()),
            Value::Int(1),
        ]);
        assert_eq!(
            format!("{v:?}"),
            r#"Array([Bulk("abc"), Bulk("q\"uote\\ \n café \xff"), Error("ERR bad"), Int(1)])"#
        );
    }
}
