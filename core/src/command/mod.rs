//! Commands: building them, converting arguments and replies, and which arguments are keys.
//!
//! * [`Cmd`]: a command, kept pre-encoded so that sending it is one copy.
//! * [`ToArg`]: Rust values as command arguments, written without intermediate allocations.
//! * [`FromValue`]: replies as Rust values, from RESP2 and RESP3 shapes alike.
//! * [`classify`] / [`CommandTable`]: the [`Class`] of a command (how the ring routes it)
//!   and the positions of its keys ([`KeyPositions`]), from the key-spec table of every
//!   Redis 7.0 command ([`commands`], [`CommandInfo`], [`KeySpec`]).
//! * [`cmds`] and [`for_each_command!`](crate::for_each_command): the typed helpers of the
//!   common commands, defined once for every driver.

mod cmd;
mod from_value;
mod helpers;
mod routing;
mod spec;
mod table;
mod to_arg;

pub(crate) use cmd::write_escaped as write_key;
pub use cmd::{Args, Cmd};
pub use from_value::{from_value, FromValue, FromValueError, ServerError, ValueKind};
pub use helpers::cmds;
pub use routing::{classify, commands, lookup, Class, CommandTable, Merge, PubSubKind, Routing};
pub use spec::{BeginSearch, Block, CommandInfo, FindKeys, KeyPositions, KeySpec};
pub use to_arg::{ArgSink, ToArg};

/// Paths the exported macros need in crates without `alloc` in their prelude.
#[doc(hidden)]
pub mod __private {
    pub use alloc::string::String;
}
