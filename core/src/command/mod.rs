//! Commands: building them, converting arguments and replies, and which arguments are keys.
//!
//! * [`Cmd`]: a command, kept pre-encoded so that sending it is one copy.
//! * [`ToArg`]: Rust values as command arguments, written without intermediate allocations.
//! * [`FromValue`]: replies as Rust values, from RESP2 and RESP3 shapes alike.

mod cmd;
mod from_value;
mod to_arg;

pub use cmd::{Args, Cmd};
pub use from_value::{from_value, FromValue, FromValueError, ServerError, ValueKind};
pub use to_arg::{ArgSink, ToArg};
