//! [`Shard`]: commands sent to one shard of the caller's choice, and `for_each_shard`.
//!
//! The core pins such requests to their shard: retried there, never re-routed, failed with
//! `Error::ShardDown` while the shard is down. That is what per-server commands (`DBSIZE`,
//! `FLUSHDB`, `INFO`, `SCAN`, `SCRIPT LOAD`...) need, which the ring refuses to send to
//! "any" shard.

use std::sync::Arc;
use std::time::Duration;

use redis_ring_core::command::{Cmd, FromValue};
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;

use crate::convert::convert;
use crate::request::{declared, join_all, Request, Target};
use crate::runtime::Runtime;
use crate::state::Shared;
use crate::Ring;

/// A handle on one shard: commands sent through it go to that shard, whatever their keys.
/// From `Ring::shard` or `Ring::for_each_shard`.
#[derive(Clone, Debug)]
pub struct Shard<'r> {
    shared: &'r Shared,
    name: Arc<str>,
    /// Every command is declared idempotent (from `Ring::idempotent`).
    idempotent: bool,
}

impl<'r> Shard<'r> {
    pub(crate) fn new(shared: &'r Shared, name: Arc<str>, idempotent: bool) -> Self {
        Shard {
            shared,
            name,
            idempotent,
        }
    }

    /// The shard's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `cmd` on this shard.
    ///
    /// # Errors
    /// As `Ring::cmd`; `Error::ShardDown` while the shard is down, `Error::InvalidCommand`
    /// for an unknown shard name.
    pub async fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        let cmd = declared(cmd, self.idempotent);
        Request::new(self.shared, Target::Shard(self.name.clone()), cmd, None).await
    }

    /// `cmd` with its own deadline.
    ///
    /// # Errors
    /// As `cmd`.
    pub async fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error> {
        let target = Target::Shard(self.name.clone());
        let cmd = declared(cmd, self.idempotent);
        Request::new(self.shared, target, cmd, Some(timeout)).await
    }

    /// `cmd` with the reply converted to `T`.
    ///
    /// # Errors
    /// As `cmd`, plus a reply that does not convert to `T`.
    pub async fn query<T: FromValue>(&self, cmd: Cmd) -> Result<T, Error> {
        let name = CmdName::new(cmd.name());
        convert(name, self.cmd(cmd).await?)
    }
}

/// The live shards' names, in configured order.
pub(crate) fn live_shards(shared: &Shared) -> Vec<Arc<str>> {
    if shared.reentrant() {
        return Vec::new();
    }
    shared
        .lock()
        .core
        .shards()
        .filter(|s| s.up)
        .map(|s| s.name)
        .collect()
}

impl<Rt: Runtime> Ring<Rt> {
    /// Calls `f` for every live shard, concurrently, with a [`Shard`] handle that sends
    /// commands to that shard; returns each shard's name with its result, in configured
    /// order (go-redis `ForEachShard`, but the results are kept per shard).
    pub async fn for_each_shard<T, F>(&self, f: F) -> Vec<(String, Result<T, Error>)>
    where
        F: AsyncFn(&Shard<'_>) -> Result<T, Error>,
    {
        let shards: Vec<Shard<'_>> = live_shards(self.shared())
            .into_iter()
            .map(|name| Shard::new(self.shared(), name, self.is_idempotent()))
            .collect();
        let f = &f;
        let results = join_all(shards.iter().map(|shard| f(shard)).collect()).await;
        shards
            .iter()
            .zip(results)
            .map(|(shard, r)| (shard.name.to_string(), r))
            .collect()
    }

    /// A handle on the shard named `name` (live or not): commands sent through it go to
    /// that shard.
    pub fn shard(&self, name: &str) -> Shard<'_> {
        Shard::new(self.shared(), Arc::from(name), self.is_idempotent())
    }
}
