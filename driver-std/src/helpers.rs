//! The typed helpers (`get`, `set`, `incr`, `hset`, `expire`, `publish`, ...), expanded from
//! the one definition in core ([`redis_ring_core::for_each_command!`]) into blocking methods
//! of [`Ring`] (each a [`Ring::query`]) and queueing methods of [`Pipeline`].
//!
//! `mget`, `mset`, `del` and `exists` are not expanded for [`Ring`]: it has slice-taking
//! versions of its own with the shared driver API's signatures
//! (`mget::<_, T>(&keys) -> Vec<T>`, `mset(&[(k, v)])`, counts as `u64`).

use redis_ring_core::command::{cmds, FromValue};
use redis_ring_core::Error;

use crate::pipeline::Pipeline;
use crate::ring::Ring;

/// Expands the table into `Ring` methods, skipping the entries `Ring` defines by hand.
macro_rules! ring_methods {
    (@munch [$($done:tt)*]) => {
        /// Typed helpers: each sends its command through [`Ring::query`] and converts the
        /// reply. Keys are routed (and multi-key commands split) by the core.
        impl Ring { $($done)* }
    };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn mget<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => { ring_methods!(@munch [$($done)*] $($rest)*); };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn mset<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => { ring_methods!(@munch [$($done)*] $($rest)*); };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn del<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => { ring_methods!(@munch [$($done)*] $($rest)*); };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn exists<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => { ring_methods!(@munch [$($done)*] $($rest)*); };
    (@munch [$($done:tt)*]
        $(#[$meta:meta])* fn $name:ident<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
        $($rest:tt)*) => {
        ring_methods!(@munch [$($done)*
            $(#[$meta])*
            ///
            /// # Errors
            /// As [`Ring::cmd`], plus a reply that does not convert to the return type.
            pub fn $name<$($r: FromValue),*>(&self, $($arg: $ty),*) -> Result<$ret, Error> {
                self.query::<$ret>(cmds::$name($($arg),*))
            }
        ] $($rest)*);
    };
    ($($entries:tt)*) => { ring_methods!(@munch [] $($entries)*); };
}

/// Expands the table into `Pipeline` methods (every entry: a pipeline returns `Value`s).
macro_rules! pipeline_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
    )*) => {
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

redis_ring_core::for_each_command!(ring_methods);
redis_ring_core::for_each_command!(pipeline_methods);
