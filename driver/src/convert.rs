//! Reply conversions for `query` and the typed helpers: the one place a [`FromValue`]
//! failure becomes an [`Error`] ([`Error::Conversion`]: command, reply kind, Rust type).

use redis_ring_core::command::{FromValue, ValueKind};
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;

/// Converts `value`, the reply of `command`, into `T`.
pub(crate) fn convert<T: FromValue>(command: CmdName, value: Value) -> Result<T, Error> {
    let reply = ValueKind::of(&value);
    T::from_value(value).map_err(|error| Error::Conversion {
        command,
        reply,
        into: std::any::type_name::<T>(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_conversion_names_command_reply_kind_and_type() {
        let e = convert::<i64>(CmdName::new(b"GET"), Value::Bulk(b"abc".to_vec())).unwrap_err();
        let Error::Conversion {
            command,
            reply,
            into,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(command.as_str(), "GET");
        assert_eq!(*reply, ValueKind::BulkString);
        assert_eq!(*into, "i64");
        let text = e.to_string();
        assert!(
            text.starts_with("GET: the reply (") && text.contains("i64"),
            "{text}"
        );
    }
}
