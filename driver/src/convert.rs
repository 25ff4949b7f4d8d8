//! Reply conversions for `query` and the typed helpers: the one place a [`FromValue`]
//! failure becomes an [`Error`].

use redis_ring_core::command::{FromValue, FromValueError};
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;

/// Converts `value`, the reply of `command`, into `T`.
pub(crate) fn convert<T: FromValue>(command: CmdName, value: Value) -> Result<T, Error> {
    T::from_value(value).map_err(|e| conversion_error(command, &e))
}

/// A failed conversion as an [`Error`] naming the command.
fn conversion_error(command: CmdName, e: &FromValueError) -> Error {
    let reason = match e {
        FromValueError::UnexpectedType { .. } => {
            "the reply has another type than the one asked for"
        }
        FromValueError::WrongLength { .. } => "the reply has another length than the one asked for",
        FromValueError::Server(_) => "the reply holds a server error",
        _ => "the reply's value does not fit the type asked for",
    };
    Error::InvalidCommand { command, reason }
}
