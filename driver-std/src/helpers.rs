//! The typed helpers (`get`, `set`, `incr`, `hset`, `mget`, `del`, `publish`, ...), expanded
//! from the one definition in core ([`redis_ring_core::for_each_command!`]) into blocking
//! methods of [`Ring`] (each a [`Ring::query`]) and queueing methods of [`Pipeline`].

use redis_ring_core::command::{cmds, FromValue};
use redis_ring_core::Error;

use crate::pipeline::Pipeline;
use crate::ring::Ring;

macro_rules! blocking_helpers {
    ($(
        $(#[$meta:meta])*
        fn $name:ident<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
    )*) => {
        /// Typed helpers: each sends its command through [`Ring::query`] and converts the
        /// reply. Keys are routed (and multi-key commands split) by the core.
        impl Ring {$(
            $(#[$meta])*
            ///
            /// # Errors
            /// As [`Ring::cmd`], plus a reply that does not convert to the return type.
            pub fn $name<$($r: FromValue),*>(&self, $($arg: $ty),*) -> Result<$ret, Error> {
                self.query::<$ret>(cmds::$name($($arg),*))
            }
        )*}

        /// Typed helpers that queue their command (results come from [`Pipeline::run`] as
        /// [`Value`](redis_ring_core::resp::Value)s).
        impl Pipeline<'_> {$(
            $(#[$meta])*
            pub fn $name(&mut self, $($arg: $ty),*) -> &mut Self {
                self.cmd(cmds::$name($($arg),*))
            }
        )*}
    };
}

redis_ring_core::for_each_command!(blocking_helpers);
