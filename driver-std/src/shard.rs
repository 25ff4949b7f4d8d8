//! [`Shard`]: one shard, addressed by name, for [`Ring::for_each_shard`] (fan-out commands
//! such as `DBSIZE`, `FLUSHDB`, `INFO`, `SCRIPT LOAD`, `CONFIG SET`).

use std::sync::Arc;
use std::time::Duration;

use redis_ring_core::command::{Cmd, FromValue};
use redis_ring_core::error::CmdName;
use redis_ring_core::resp::Value;
use redis_ring_core::Error;

use crate::ring::{convert, Ring};
use crate::waiter::Target;

/// One shard of the ring: commands sent through it go to that shard, whatever their keys
/// (go-redis `ForEachShard`'s per-shard client). A command is retried on the same shard only,
/// and fails with [`Error::ShardDown`] while the shard is down.
#[derive(Debug)]
pub struct Shard<'r> {
    ring: &'r Ring,
    name: Arc<str>,
}

impl<'r> Shard<'r> {
    pub(crate) fn new(ring: &'r Ring, name: Arc<str>) -> Shard<'r> {
        Shard { ring, name }
    }

    /// The shard's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `cmd` to this shard.
    ///
    /// # Errors
    /// As [`Ring::cmd`]; [`Error::ShardDown`] while the shard is down.
    pub fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        self.ring
            .run_one_to(cmd, Target::Shard(self.name.clone()), None)
    }

    /// [`Shard::cmd`] with its own deadline.
    ///
    /// # Errors
    /// As [`Shard::cmd`].
    pub fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error> {
        self.ring
            .run_one_to(cmd, Target::Shard(self.name.clone()), Some(timeout))
    }

    /// Sends `cmd` to this shard and converts the reply.
    ///
    /// # Errors
    /// As [`Shard::cmd`], plus a reply that does not convert to `T`.
    pub fn query<T: FromValue>(&self, cmd: Cmd) -> Result<T, Error> {
        let name = CmdName::new(cmd.name());
        convert(name, self.cmd(cmd)?)
    }
}

impl Ring {
    /// Calls `f` for every live shard, concurrently (one thread per shard), with a [`Shard`]
    /// handle that sends commands to that shard; returns each shard's name with its result,
    /// in configured order (go-redis `ForEachShard`, but the results are kept per shard).
    ///
    /// ```no_run
    /// # let ring = redis_ring_std::Ring::builder().shard("a", "127.0.0.1:7000").build()?;
    /// use redis_ring_std::Cmd;
    ///
    /// let sizes = ring.for_each_shard(|shard| shard.query::<i64>(Cmd::new("DBSIZE")));
    /// for (name, size) in sizes {
    ///     println!("{name}: {size:?}");
    /// }
    /// # Ok::<(), redis_ring_std::BuildError>(())
    /// ```
    pub fn for_each_shard<T, F>(&self, f: F) -> Vec<(String, Result<T, Error>)>
    where
        T: Send,
        F: Fn(&Shard<'_>) -> Result<T, Error> + Sync,
    {
        let live: Vec<Arc<str>> = self
            .stats()
            .into_iter()
            .filter(|s| s.up)
            .map(|s| Arc::from(s.name))
            .collect();
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = live
                .into_iter()
                .map(|name| {
                    let shard = Shard::new(self, name);
                    s.spawn(move || (shard.name.to_string(), f(&shard)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    /// A handle on the shard named `name` (live or not): commands sent through it go to
    /// that shard.
    pub fn shard(&self, name: &str) -> Shard<'_> {
        Shard::new(self, Arc::from(name))
    }
}
