//! Commands: building them, converting arguments and replies, and which arguments are keys.
//!
//! * [`Cmd`]: a command, kept pre-encoded so that sending it is one copy.
//! * [`ToArg`]: Rust values as command arguments, written without intermediate allocations.

mod cmd;
mod to_arg;

pub use cmd::{Args, Cmd};
pub use to_arg::{ArgSink, ToArg};
