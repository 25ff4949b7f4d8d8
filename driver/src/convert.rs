//! Reply conversions for `query` and the typed helpers: a [`FromValue`] failure becomes
//! [`Error::Conversion`] (command, reply kind, Rust type) through the core's one
//! [`convert_reply`](redis_ring_core::error::convert_reply).

use redis_ring_core::command::FromValue;
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;

/// Converts `value`, the reply of `command`, into `T`.
pub(crate) fn convert<T: FromValue>(command: CmdName, value: Value) -> Result<T, Error> {
    redis_ring_core::error::convert_reply(command, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis_ring_core::command::ValueKind;

    #[test]
    fn a_failed_conversion_names_command_reply_kind_and_type() {
        let e = convert::<i64>(CmdName::new(b"GET"), Value::Bulk(b"abc".to_vec())).unwrap_err();
        let Error::Conversion {
            command,
            reply,
            rust_type,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(command.as_str(), "GET");
        assert_eq!(*reply, ValueKind::BulkString);
        assert_eq!(*rust_type, "i64");
        let text = e.to_string();
        assert!(
            text.starts_with("GET: the reply (") && text.contains("i64"),
            "{text}"
        );
    }
}
