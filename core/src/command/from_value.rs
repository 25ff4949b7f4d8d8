//! [`FromValue`]: how a reply ([`Value`]) becomes a Rust value, for RESP2 and RESP3 alike.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::hash::{BuildHasher, Hash};

use crate::resp::Value;

/// The shape of a [`Value`], named in conversion errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// [`Value::Nil`].
    Nil,
    /// [`Value::Okay`] or [`Value::Simple`].
    SimpleString,
    /// [`Value::Error`] or [`Value::BulkError`].
    Error,
    /// [`Value::Int`].
    Int,
    /// [`Value::Bulk`].
    BulkString,
    /// [`Value::Array`].
    Array,
    /// [`Value::Boolean`].
    Boolean,
    /// [`Value::Double`].
    Double,
    /// [`Value::BigNumber`].
    BigNumber,
    /// [`Value::Verbatim`].
    Verbatim,
    /// [`Value::Map`].
    Map,
    /// [`Value::Set`].
    Set,
    /// [`Value::Push`].
    Push,
    /// [`Value::Attribute`].
    Attribute,
}

impl ValueKind {
    /// The kind of `v`.
    pub fn of(v: &Value) -> ValueKind {
        match v {
            Value::Nil => ValueKind::Nil,
            Value::Okay | Value::Simple(_) => ValueKind::SimpleString,
            Value::Error(_) | Value::BulkError(_) => ValueKind::Error,
            Value::Int(_) => ValueKind::Int,
            Value::Bulk(_) => ValueKind::BulkString,
            Value::Array(_) => ValueKind::Array,
            Value::Boolean(_) => ValueKind::Boolean,
            Value::Double(_) => ValueKind::Double,
            Value::BigNumber(_) => ValueKind::BigNumber,
            Value::Verbatim { .. } => ValueKind::Verbatim,
            Value::Map(_) => ValueKind::Map,
            Value::Set(_) => ValueKind::Set,
            Value::Push(_) => ValueKind::Push,
            Value::Attribute { .. } => ValueKind::Attribute,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ValueKind::Nil => "nil",
            ValueKind::SimpleString => "simple string",
            ValueKind::Error => "error",
            ValueKind::Int => "integer",
            ValueKind::BulkString => "bulk string",
            ValueKind::Array => "array",
            ValueKind::Boolean => "boolean",
            ValueKind::Double => "double",
            ValueKind::BigNumber => "big number",
            ValueKind::Verbatim => "verbatim string",
            ValueKind::Map => "map",
            ValueKind::Set => "set",
            ValueKind::Push => "push",
            ValueKind::Attribute => "attribute",
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error reply from the server (`-ERR ...` or RESP3 `!...`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerError {
    message: String,
}

impl ServerError {
    /// An error with the whole line the server sent (such as `WRONGTYPE Operation ...`);
    /// bytes that are not UTF-8 are replaced.
    pub fn new(line: &[u8]) -> ServerError {
        ServerError {
            message: String::from_utf8_lossy(line).into_owned(),
        }
    }

    /// The error code: the first word when it is all capitals (`ERR`, `WRONGTYPE`,
    /// `LOADING`, `NOSCRIPT`, ...), as Redis prefixes every error.
    pub fn code(&self) -> Option<&str> {
        let word = self.message.split(' ').next().unwrap_or("");
        let is_code = !word.is_empty()
            && word
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        is_code.then_some(word)
    }

    /// The whole error line.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server error: {}", self.message)
    }
}

impl core::error::Error for ServerError {}

/// Why a reply could not become the requested type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FromValueError {
    /// The reply has a shape the type cannot be made from.
    UnexpectedType {
        /// What the type accepts, such as `"integer"` or `"array"`.
        expected: &'static str,
        /// What arrived.
        got: ValueKind,
    },
    /// The shape fits but the content does not: not a number, out of range, not UTF-8.
    InvalidValue {
        /// What the type needs, such as `"i64"`.
        expected: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// An aggregate has the wrong number of elements (tuples, key/value pairs).
    WrongLength {
        /// The element count the type needs (for pairs: a multiple of it).
        expected: usize,
        /// The element count that arrived.
        got: usize,
    },
    /// The server answered with an error.
    Server(ServerError),
}

impl FromValueError {
    /// The server's error, when the reply was one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            FromValueError::Server(e) => Some(e),
            _ => None,
        }
    }

    fn unexpected(expected: &'static str, v: &Value) -> FromValueError {
        FromValueError::UnexpectedType {
            expected,
            got: ValueKind::of(v),
        }
    }
}

impl fmt::Display for FromValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FromValueError::UnexpectedType { expected, got } => {
                write!(f, "reply type mismatch: expected {expected}, got {got}")
            }
            FromValueError::InvalidValue { expected, reason } => {
                write!(f, "invalid reply: expected {expected}, {reason}")
            }
            FromValueError::WrongLength { expected, got } => {
                write!(
                    f,
                    "reply has {got} elements where {expected} (or a multiple, for pairs) were expected"
                )
            }
            FromValueError::Server(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for FromValueError {}

impl From<ServerError> for FromValueError {
    fn from(e: ServerError) -> Self {
        FromValueError::Server(e)
    }
}

/// A type a reply can be converted into.
///
/// Conversions accept both protocols: a RESP3 map and a RESP2 flat array of keys and
/// values both make a `HashMap` or a `Vec<(K, V)>`; a RESP3 double and a RESP2 bulk string
/// such as `"1.5"` or `"inf"` both make an `f64`; a RESP3 set and a RESP2 array both make a
/// `Vec` or a set. An error reply always becomes [`FromValueError::Server`] (also inside an
/// aggregate, for element types other than [`Value`]). RESP3 attributes are skipped.
///
/// | type | from |
/// |---|---|
/// | `()` | anything but an error |
/// | [`Value`] | anything but a top-level error (kept as is, attributes included) |
/// | `String`, `Vec<u8>` | bulk, simple, verbatim strings, big numbers; integers in decimal |
/// | integers | integers, decimal strings, integral doubles, booleans (0/1) |
/// | `f64`, `f32` | doubles, integers, strings (`inf`, `-inf`, `1.5`), big numbers |
/// | `bool` | booleans, integers (0 = false), `OK` (true), nil (false), `"1"`/`"0"` |
/// | `Option<T>` | nil as `None`, anything else as `Some(T)` |
/// | `Vec<T>`, sets | arrays, sets, pushes (a map is flattened); nil as empty |
/// | tuples (1 to 6) | an array of that many elements |
/// | `Vec<(A, B, ..)>` | an array of tuples, a flat array (`ZRANGE .. WITHSCORES` in RESP2), a map |
/// | maps | a map, a flat array of keys and values, an array of pairs; nil as empty |
///
/// ```
/// use redis_ring_core::command::FromValue;
/// use redis_ring_core::resp::Value;
///
/// let resp2 = Value::Array(vec![Value::Bulk(b"f".to_vec()), Value::Bulk(b"1".to_vec())]);
/// let resp3 = Value::Map(vec![(Value::Bulk(b"f".to_vec()), Value::Int(1))]);
/// let a: Vec<(String, i64)> = FromValue::from_value(resp2).unwrap();
/// let b: Vec<(String, i64)> = FromValue::from_value(resp3).unwrap();
/// assert_eq!(a, b);
/// ```
pub trait FromValue: Sized {
    /// Converts `v`.
    fn from_value(v: Value) -> Result<Self, FromValueError>;

    /// Converts a whole bulk string into a `Vec<Self>`; only `u8` can (making `Vec<u8>`
    /// binary-safe rather than a list of numbers).
    #[doc(hidden)]
    fn from_byte_vec(bytes: Vec<u8>) -> Option<Vec<Self>> {
        let _ = bytes;
        None
    }

    /// Converts the elements of an array into a `Vec<Self>`; tuples override this to also
    /// accept RESP2's flat form.
    #[doc(hidden)]
    fn from_array(items: Vec<Value>) -> Result<Vec<Self>, FromValueError> {
        items.into_iter().map(Self::from_value).collect()
    }

    /// Converts the pairs of a map into a `Vec<Self>`; pairs (2-tuples) take them as they
    /// are, everything else flattens them.
    #[doc(hidden)]
    fn from_map(pairs: Vec<(Value, Value)>) -> Result<Vec<Self>, FromValueError> {
        let mut out = Vec::with_capacity(pairs.len() * 2);
        for (k, v) in pairs {
            out.push(Self::from_value(k)?);
            out.push(Self::from_value(v)?);
        }
        Ok(out)
    }
}

/// Converts a reply, for callers who prefer a function to the trait.
pub fn from_value<T: FromValue>(v: Value) -> Result<T, FromValueError> {
    T::from_value(v)
}

/// Drops attributes and turns error replies into `Err`.
fn plain(v: Value) -> Result<Value, FromValueError> {
    match v {
        Value::Attribute { value, .. } => plain(*value),
        Value::Error(e) | Value::BulkError(e) => Err(ServerError::new(&e).into()),
        v => Ok(v),
    }
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        match v {
            Value::Error(e) | Value::BulkError(e) => Err(ServerError::new(&e).into()),
            v => Ok(v),
        }
    }
}

impl FromValue for () {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        plain(v).map(|_| ())
    }
}

/// The bytes of a string-like reply, or `Err(v)`.
fn into_bytes(v: Value) -> Result<Vec<u8>, Value> {
    match v {
        Value::Bulk(b) | Value::Simple(b) | Value::BigNumber(b) => Ok(b),
        Value::Verbatim { text, .. } => Ok(text),
        Value::Okay => Ok(b"OK".to_vec()),
        Value::Int(i) => {
            let mut out = Vec::new();
            super::ToArg::write_args(&i, &mut SingleArg(&mut out));
            Ok(out)
        }
        Value::Double(d) => {
            let mut out = Vec::new();
            super::ToArg::write_args(&d, &mut SingleArg(&mut out));
            Ok(out)
        }
        v => Err(v),
    }
}

/// Collects the single argument a `ToArg` writes.
struct SingleArg<'a>(&'a mut Vec<u8>);

impl super::ArgSink for SingleArg<'_> {
    fn push_arg(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// The text of a string-like reply (for parsing numbers), borrowed.
fn as_text(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Bulk(b) | Value::Simple(b) | Value::BigNumber(b) => Some(b),
        Value::Verbatim { text, .. } => Some(text),
        Value::Okay => Some(b"OK"),
        _ => None,
    }
}

impl FromValue for String {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        let bytes = into_bytes(plain(v)?).map_err(|v| FromValueError::unexpected("string", &v))?;
        String::from_utf8(bytes).map_err(|_| FromValueError::InvalidValue {
            expected: "String",
            reason: "the reply is not valid UTF-8",
        })
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<Self, FromValueError> {
                let out_of_range = FromValueError::InvalidValue {
                    expected: stringify!($t),
                    reason: "the number is out of range",
                };
                match plain(v)? {
                    Value::Int(i) => <$t>::try_from(i).map_err(|_| out_of_range),
                    Value::Boolean(b) => Ok(<$t>::from(b)),
                    Value::Double(d) => {
                        // Integral doubles in range only: `as` truncates and saturates, so
                        // check the range and the round trip.
                        let i = d as $t;
                        let in_range = d >= <$t>::MIN as f64 && d < <$t>::MAX as f64 + 1.0;
                        if in_range && i as f64 == d {
                            Ok(i)
                        } else {
                            Err(FromValueError::InvalidValue {
                                expected: stringify!($t),
                                reason: "the double is not an integer in range",
                            })
                        }
                    }
                    v => {
                        let text = as_text(&v)
                            .ok_or_else(|| FromValueError::unexpected("integer", &v))?;
                        core::str::from_utf8(text)
                            .ok()
                            .and_then(|s| s.parse::<$t>().ok())
                            .ok_or(FromValueError::InvalidValue {
                                expected: stringify!($t),
                                reason: "the string is not a decimal integer in range",
                            })
                    }
                }
            }
        }
    )*};
}

int_from_value!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

// u8 by hand: it also makes `Vec<u8>` a byte string.
impl FromValue for u8 {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        let i = u16::from_value(v)?;
        u8::try_from(i).map_err(|_| FromValueError::InvalidValue {
            expected: "u8",
            reason: "the number is out of range",
        })
    }

    fn from_byte_vec(bytes: Vec<u8>) -> Option<Vec<u8>> {
        Some(bytes)
    }
}

impl FromValue for f64 {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        match plain(v)? {
            Value::Double(d) => Ok(d),
            Value::Int(i) => Ok(i as f64),
            v => {
                let text = as_text(&v).ok_or_else(|| FromValueError::unexpected("double", &v))?;
                core::str::from_utf8(text)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .ok_or(FromValueError::InvalidValue {
                        expected: "f64",
                        reason: "the string is not a number",
                    })
            }
        }
    }
}

impl FromValue for f32 {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        f64::from_value(v).map(|d| d as f32)
    }
}

impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        match plain(v)? {
            Value::Boolean(b) => Ok(b),
            Value::Int(i) => Ok(i != 0),
            Value::Nil => Ok(false),
            Value::Okay => Ok(true),
            v => match as_text(&v) {
                Some(b"1") => Ok(true),
                Some(b"0") => Ok(false),
                Some(_) => Err(FromValueError::InvalidValue {
                    expected: "bool",
                    reason: "the string is neither \"1\" nor \"0\"",
                }),
                None => Err(FromValueError::unexpected("boolean", &v)),
            },
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        match plain(v)? {
            Value::Nil => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        match plain(v)? {
            Value::Array(items) | Value::Set(items) | Value::Push(items) => T::from_array(items),
            Value::Map(pairs) => T::from_map(pairs),
            Value::Nil => Ok(Vec::new()),
            v => match into_bytes(v) {
                Ok(bytes) => T::from_byte_vec(bytes).ok_or(FromValueError::UnexpectedType {
                    expected: "array",
                    got: ValueKind::BulkString,
                }),
                Err(v) => Err(FromValueError::unexpected("array", &v)),
            },
        }
    }
}

/// Key/value pairs from a map, a flat array, or an array of 2-element arrays.
fn pairs<K: FromValue, V: FromValue>(v: Value) -> Result<Vec<(K, V)>, FromValueError> {
    Vec::<(K, V)>::from_value(v)
}

impl<K, V, S> FromValue for hashbrown::HashMap<K, V, S>
where
    K: FromValue + Eq + Hash,
    V: FromValue,
    S: BuildHasher + Default,
{
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        Ok(pairs(v)?.into_iter().collect())
    }
}

impl<T, S> FromValue for hashbrown::HashSet<T, S>
where
    T: FromValue + Eq + Hash,
    S: BuildHasher + Default,
{
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        Ok(Vec::<T>::from_value(v)?.into_iter().collect())
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        Ok(pairs(v)?.into_iter().collect())
    }
}

impl<T: FromValue + Ord> FromValue for BTreeSet<T> {
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        Ok(Vec::<T>::from_value(v)?.into_iter().collect())
    }
}

#[cfg(feature = "std")]
impl<K, V, S> FromValue for std::collections::HashMap<K, V, S>
where
    K: FromValue + Eq + Hash,
    V: FromValue,
    S: BuildHasher + Default,
{
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        Ok(pairs(v)?.into_iter().collect())
    }
}

#[cfg(feature = "std")]
impl<T, S> FromValue for std::collections::HashSet<T, S>
where
    T: FromValue + Eq + Hash,
    S: BuildHasher + Default,
{
    fn from_value(v: Value) -> Result<Self, FromValueError> {
        Ok(Vec::<T>::from_value(v)?.into_iter().collect())
    }
}

/// Whether `v` is an aggregate (so an array of them is an array of tuples, not a flat one).
fn is_aggregate(v: &Value) -> bool {
    match v {
        Value::Attribute { value, .. } => is_aggregate(value),
        Value::Array(_) | Value::Set(_) | Value::Map(_) | Value::Push(_) => true,
        _ => false,
    }
}

macro_rules! tuple_from_value {
    ($n:literal; $($name:ident)+) => {
        #[allow(clippy::modulo_one, clippy::identity_op)]
        impl<$($name: FromValue),+> FromValue for ($($name,)+) {
            fn from_value(v: Value) -> Result<Self, FromValueError> {
                let items = match plain(v)? {
                    Value::Array(items) | Value::Set(items) | Value::Push(items) => items,
                    Value::Map(pairs) if $n == 2 && pairs.len() == 1 => {
                        let (k, v) = pairs.into_iter().next().expect("one pair");
                        alloc::vec![k, v]
                    }
                    v => return Err(FromValueError::unexpected("array", &v)),
                };
                if items.len() != $n {
                    return Err(FromValueError::WrongLength { expected: $n, got: items.len() });
                }
                let mut it = items.into_iter();
                Ok(($($name::from_value(it.next().expect("length checked"))?,)+))
            }

            fn from_array(items: Vec<Value>) -> Result<Vec<Self>, FromValueError> {
                if items.iter().all(is_aggregate) {
                    return items.into_iter().map(Self::from_value).collect();
                }
                // RESP2's flat form: [a1, b1, a2, b2, ...].
                if items.len() % $n != 0 {
                    return Err(FromValueError::WrongLength { expected: $n, got: items.len() });
                }
                let mut out = Vec::with_capacity(items.len() / $n);
                let mut it = items.into_iter();
                while it.len() > 0 {
                    out.push(($($name::from_value(it.next().expect("length checked"))?,)+));
                }
                Ok(out)
            }

            fn from_map(pairs: Vec<(Value, Value)>) -> Result<Vec<Self>, FromValueError> {
                if $n == 2 {
                    let mut out = Vec::with_capacity(pairs.len());
                    for (k, v) in pairs {
                        let mut it = [k, v].into_iter();
                        out.push(($($name::from_value(it.next().expect("two"))?,)+));
                    }
                    return Ok(out);
                }
                let flat = pairs.into_iter().flat_map(|(k, v)| [k, v]).collect();
                Self::from_array(flat)
            }
        }
    };
}

tuple_from_value!(1; A);
tuple_from_value!(2; A B);
tuple_from_value!(3; A B C);
tuple_from_value!(4; A B C D);
tuple_from_value!(5; A B C D E);
tuple_from_value!(6; A B C D E F);
