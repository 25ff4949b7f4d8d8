//! [`Pipeline`]: several commands sent at once, each with its own result.

use std::time::Duration;

use redis_ring_core::command::Cmd;
use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;

use crate::request::{declared, Gather, Target};
use crate::state::Shared;

/// Commands queued to be sent together by [`Pipeline::run`] (from `Ring::pipeline`).
///
/// Each command goes to its own shard (the ring routes them one by one, as it routes
/// `Ring::cmd`); commands for one shard leave in one write, shards are served
/// concurrently, and the results come back in the order the commands were queued, each
/// its own `Result`: one shard failing fails only its own commands. It is not a
/// transaction: other clients' commands may run in between.
#[derive(Debug)]
#[must_use = "a pipeline does nothing until run"]
pub struct Pipeline<'a> {
    shared: &'a Shared,
    cmds: Vec<Cmd>,
    timeout: Option<Duration>,
    /// Every command queued is declared idempotent (from `Ring::idempotent`).
    idempotent: bool,
}

impl<'a> Pipeline<'a> {
    pub(crate) fn new(shared: &'a Shared, idempotent: bool, capacity: usize) -> Self {
        Pipeline {
            shared,
            cmds: Vec::with_capacity(capacity),
            timeout: None,
            idempotent,
        }
    }

    /// Queues any command.
    pub fn cmd(&mut self, cmd: Cmd) -> &mut Self {
        self.cmds.push(declared(cmd, self.idempotent));
        self
    }

    /// A deadline for every command of the pipeline instead of the configured command
    /// timeout.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }

    pub(crate) fn shared(&self) -> &'a Shared {
        self.shared
    }

    /// The number of queued commands.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// Whether no command is queued.
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Sends every queued command and returns their results in order. The pipeline is
    /// empty afterwards and can be filled again (its buffer kept: a pipeline reused for
    /// batch after batch allocates only its results).
    pub async fn run(&mut self) -> Vec<Result<Value, Error>> {
        if self.cmds.is_empty() {
            return Vec::new();
        }
        Gather::batch(self.shared, Target::Ring, &mut self.cmds, self.timeout).await
    }
}

/// The typed helpers of the core's table as queueing methods, expanded inside the `impl` of
/// a pipeline type (this async one and `blocking::Pipeline`): anything with a
/// `cmd(&mut self, Cmd) -> &mut Self`. Their reply types are chosen when the results are
/// read, so the helpers here take no type parameters.
macro_rules! queue_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident<$($r:ident),*>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty { $body:expr }
    )*) => {$(
        $(#[$meta])*
        pub fn $name(&mut self, $($arg: $ty),*) -> &mut Self {
            self.cmd(redis_ring_core::command::cmds::$name($($arg),*))
        }
    )*};
}

pub(crate) use queue_methods;

/// Typed helpers that queue their command (results come from `run` as [`Value`]s).
impl Pipeline<'_> {
    redis_ring_core::for_each_command!(queue_methods);
}
