//! [`Ring`]: the handle callers use, from any number of threads.

use std::fmt;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use polling::Poller;
use redis_ring_core::command::{Cmd, FromValue, ToArg};
use redis_ring_core::config::Config;
use redis_ring_core::error::CmdName;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{Event, RingCore, SubId, SubKind};
use redis_ring_core::time::Instant;
use redis_ring_core::Error;

use crate::builder::{BuildError, Overrides, RingBuilder};
use crate::clock::Clock;
use crate::pipeline::Pipeline;
use crate::pubsub::{SubSink, Subscription};
use crate::queue::{Job, Shared};
use crate::reactor::Reactor;
use crate::stats::{IoStats, ShardStats};
use crate::waiter::{Reply, Submission, Target};

/// Capacity of each [`Ring::events`] channel; events beyond it are dropped for a receiver
/// that does not keep up.
pub const EVENTS_CAPACITY: usize = 1024;

/// A client of several Redis servers ("shards") that spreads keys over them by consistent
/// hashing, watches their health and routes around dead ones (go-redis's `Ring`).
///
/// `Ring` is `Clone + Send + Sync`: clones share one I/O thread, one connection per shard and
/// the shards' health. Many threads may call it at once; no lock is held while a command is
/// in flight, and commands issued concurrently share each shard's connection (automatic
/// pipelining). The I/O thread stops, after failing whatever is pending with
/// [`Error::Closed`], on [`Ring::close`] or when the last clone is dropped.
///
/// ```no_run
/// use redis_ring_std::{Cmd, Ring};
///
/// let ring = Ring::builder()
///     .shard("shard1", "127.0.0.1:7000")
///     .shard("shard2", "127.0.0.1:7001")
///     .build()?;
/// ring.cmd(Cmd::new("SET").arg("greeting").arg("hello"))?;
/// let v: Option<String> = ring.query(Cmd::new("GET").arg("greeting"))?;
/// assert_eq!(v.as_deref(), Some("hello"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Ring {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: ThreadId,
    overrides: Overrides,
    /// The configured `command_timeout` (how long `subscribe` waits for confirmations).
    command_timeout: Duration,
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("closed", &self.inner.shared.is_closed())
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Inner {
    /// Stops the I/O thread and waits for it (every other caller of `shutdown` waits too).
    fn shutdown(&self) {
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(handle) = thread.take() else {
            return;
        };
        let _ = self.shared.push(Job::Shutdown);
        if std::thread::current().id() == self.thread_id {
            // Called from the I/O thread itself (a hook closing the ring): it exits after
            // this job; it cannot wait for itself.
            return;
        }
        let _ = handle.join();
    }
}

impl Ring {
    /// A [`RingBuilder`] with the default options.
    pub fn builder() -> RingBuilder {
        RingBuilder::new()
    }

    pub(crate) fn start(
        config: Config,
        shards: Vec<(String, String)>,
        overrides: Overrides,
    ) -> Result<Ring, BuildError> {
        let poller = Arc::new(Poller::new().map_err(BuildError::Io)?);
        let shared = Arc::new(Shared::new(poller));
        let clock = Clock::new();
        let now = clock.now();
        let command_timeout = config.command_timeout;
        let mut core = RingCore::new(config, now);
        core.set_shards(shards, now);
        let reactor = Reactor::new(core, clock, shared.clone());
        let thread = std::thread::Builder::new()
            .name("redis-ring-io".into())
            .spawn(move || reactor.run())
            .map_err(BuildError::Io)?;
        Ok(Ring {
            inner: Arc::new(Inner {
                shared,
                thread_id: thread.thread().id(),
                thread: Mutex::new(Some(thread)),
                overrides,
                command_timeout,
            }),
        })
    }

    /// Runs `cmds` as one batch and waits for every result, in order.
    pub(crate) fn run_batch(&self, cmds: Vec<Cmd>, timeout: Option<Duration>) -> Vec<Reply> {
        self.run_batch_to(cmds, Target::Routed, timeout)
    }

    /// Runs `cmds` at `target` as one batch and waits for every result, in order.
    pub(crate) fn run_batch_to(
        &self,
        cmds: Vec<Cmd>,
        target: Target,
        timeout: Option<Duration>,
    ) -> Vec<Reply> {
        if cmds.is_empty() {
            return Vec::new();
        }
        if self.on_io_thread() {
            return cmds.iter().map(reentrant).collect();
        }
        let (sub, batch) = Submission::new(cmds, target, timeout);
        // Refused by a closed ring: dropping the submission fails every command.
        self.inner.shared.push(Job::Submit(sub));
        batch.wait()
    }

    fn run_one(&self, cmd: Cmd, timeout: Option<Duration>) -> Reply {
        self.run_one_to(cmd, Target::Routed, timeout)
    }

    /// Runs one command at `target` and waits for its result.
    pub(crate) fn run_one_to(&self, cmd: Cmd, target: Target, timeout: Option<Duration>) -> Reply {
        if self.on_io_thread() {
            return reentrant(&cmd);
        }
        let (sub, batch) = Submission::new(vec![cmd], target, timeout);
        self.inner.shared.push(Job::Submit(sub));
        batch.wait_one()
    }

    /// Whether the caller is the ring's own I/O thread (a hook such as `heartbeat_check`
    /// calling the ring): it must not wait for itself.
    fn on_io_thread(&self) -> bool {
        std::thread::current().id() == self.inner.thread_id
    }

    /// Queues a job (`false`: the ring is closed).
    pub(crate) fn push_job(&self, job: Job) -> bool {
        self.inner.shared.push(job)
    }

    /// Starts a subscription on the I/O thread; `None` when the ring is closed.
    pub(crate) fn subscribe_job(
        &self,
        kind: SubKind,
        channels: Vec<Vec<u8>>,
        sink: SubSink,
    ) -> Option<Result<SubId, Error>> {
        if self.on_io_thread() {
            return None;
        }
        let (reply, rx) = mpsc::sync_channel(1);
        self.push_job(Job::Subscribe {
            kind,
            channels,
            sink,
            reply,
        })
        .then_some(())?;
        rx.recv().ok()
    }

    /// Runs `f` on the I/O thread with the core and returns its result; `None` when the ring
    /// is closed.
    pub(crate) fn with_core<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut RingCore, Instant) -> R + Send + 'static,
    ) -> Option<R> {
        if self.on_io_thread() {
            return None;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let job = Job::Run(Box::new(move |core, now| {
            let _ = tx.send(f(core, now));
        }));
        self.inner.shared.push(job).then_some(())?;
        rx.recv().ok()
    }

    /// Sends any command and returns the server's reply as a [`Value`]. The command is
    /// routed by its key (hash tags apply); multi-key commands the core can split (MGET,
    /// MSET, DEL, EXISTS, ...) are split per shard and merged.
    ///
    /// # Errors
    /// Whatever [`Error`] the command met: the server's error reply ([`Error::Server`]), a
    /// connection or timeout error naming the shard, [`Error::AllShardsDown`], ...
    pub fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        self.run_one(cmd, None)
    }

    /// [`Ring::cmd`] with its own deadline instead of the configured `command_timeout`.
    ///
    /// # Errors
    /// As [`Ring::cmd`]; [`Error::Timeout`] after `timeout`.
    pub fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error> {
        self.run_one(cmd, Some(timeout))
    }

    /// Sends any command and converts the reply with [`FromValue`].
    ///
    /// # Errors
    /// As [`Ring::cmd`], plus a reply that does not convert to `T`.
    pub fn query<T: FromValue>(&self, cmd: Cmd) -> Result<T, Error> {
        let name = CmdName::new(cmd.name());
        convert(name, self.run_one(cmd, None)?)
    }

    /// A pipeline: queue commands, then [`Pipeline::run`] sends them all at once (split per
    /// shard, concurrently) and returns each command's own result in order.
    pub fn pipeline(&self) -> Pipeline<'_> {
        Pipeline::new(self)
    }

    /// `MGET` across shards: the values of `keys` in key order (`T = Option<_>` for keys that
    /// may be missing), split per shard and merged by the core.
    ///
    /// # Errors
    /// As [`Ring::cmd`].
    pub fn mget<K: ToArg, T: FromValue>(&self, keys: &[K]) -> Result<Vec<T>, Error> {
        self.query(Cmd::new("MGET").arg(keys))
    }

    /// `MSET` across shards.
    ///
    /// # Errors
    /// As [`Ring::cmd`].
    pub fn mset<K: ToArg, V: ToArg>(&self, pairs: &[(K, V)]) -> Result<(), Error> {
        let mut cmd = Cmd::with_capacity("MSET", pairs.len() * 2, pairs.len() * 16);
        for (k, v) in pairs {
            cmd.push_arg(k).push_arg(v);
        }
        self.query(cmd)
    }

    /// `DEL` across shards: how many of `keys` were deleted (counts summed over shards).
    ///
    /// # Errors
    /// As [`Ring::cmd`].
    pub fn del<K: ToArg>(&self, keys: &[K]) -> Result<u64, Error> {
        self.query(Cmd::new("DEL").arg(keys))
    }

    /// `EXISTS` across shards: how many of `keys` exist (a key given twice counts twice).
    ///
    /// # Errors
    /// As [`Ring::cmd`].
    pub fn exists<K: ToArg>(&self, keys: &[K]) -> Result<u64, Error> {
        self.query(Cmd::new("EXISTS").arg(keys))
    }

    /// The name of the shard that owns `key` now (hash tags applied), over the live shards;
    /// `None` when no shard is up or the ring is closed.
    pub fn shard_for_key(&self, key: impl AsRef<[u8]>) -> Option<String> {
        let key = key.as_ref().to_vec();
        self.with_core(move |core, _| core.shard_for_key(&key).map(|(name, _)| name.to_string()))
            .flatten()
    }

    /// How many shards are up (go-redis `Ring.Len`).
    pub fn len(&self) -> usize {
        self.with_core(|core, _| core.live_len()).unwrap_or(0)
    }

    /// Whether no shard is up.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces the shards (add, remove, re-address) while running. A shard whose name and
    /// address are unchanged keeps its connection and health; commands pending on a removed
    /// shard fail with [`Error::ShardRemoved`]. Returns once the ring uses the new set.
    ///
    /// # Errors
    /// [`BuildError::Address`] for an address that cannot be parsed (nothing is changed),
    /// [`BuildError::Closed`] when the ring is closed.
    pub fn set_shards<I, N, A>(&self, shards: I) -> Result<(), BuildError>
    where
        I: IntoIterator<Item = (N, A)>,
        N: Into<String>,
        A: Into<String>,
    {
        let given: Vec<(String, String)> = shards
            .into_iter()
            .map(|(n, a)| (n.into(), a.into()))
            .collect();
        let overrides = self.inner.overrides.clone();
        // Parsed and recorded on the I/O thread, right before the core adds the shards and
        // calls the hook that reads the overrides: no other `set_shards` can interleave.
        let parsed = self.with_core(move |core, now| {
            let parsed = overrides.parse(&given)?;
            core.set_shards(parsed, now);
            Ok(())
        });
        parsed.unwrap_or(Err(BuildError::Closed))
    }

    /// A channel of the ring's [`Event`]s from now on (shard added, removed, up, down). Each
    /// call makes a new receiver; a receiver more than [`EVENTS_CAPACITY`] events behind
    /// misses the newest. The channel ends when the ring closes.
    pub fn events(&self) -> Receiver<Event> {
        let (tx, rx) = mpsc::sync_channel(EVENTS_CAPACITY);
        // On a closed ring the sender is dropped here: the receiver ends at once.
        let _ = self.inner.shared.push(Job::Events(tx));
        rx
    }

    /// Subscribes to `channels`, each on the shard its name is placed on (where `PUBLISH`
    /// routes it), and returns once every channel is confirmed, so a message published
    /// afterwards is received. The subscription follows shards going down and up and
    /// survives reconnects (see [`Subscription`]).
    ///
    /// # Errors
    /// [`Error::NoShards`] / [`Error::AllShardsDown`]; [`Error::Timeout`] when the
    /// confirmations did not all come within the configured `command_timeout`.
    pub fn subscribe<C: AsRef<[u8]>>(&self, channels: &[C]) -> Result<Subscription, Error> {
        Subscription::start(self, SubKind::Channel, channels, self.inner.command_timeout)
    }

    /// Subscribes to channel patterns (`PSUBSCRIBE`), on every live shard (a pattern can match
    /// a channel of any shard). As [`Ring::subscribe`].
    ///
    /// # Errors
    /// As [`Ring::subscribe`].
    pub fn psubscribe<C: AsRef<[u8]>>(&self, patterns: &[C]) -> Result<Subscription, Error> {
        Subscription::start(self, SubKind::Pattern, patterns, self.inner.command_timeout)
    }

    /// Subscribes to shard channels (`SSUBSCRIBE`, Redis 7), placed as `SPUBLISH` routes them.
    /// As [`Ring::subscribe`].
    ///
    /// # Errors
    /// As [`Ring::subscribe`].
    pub fn ssubscribe<C: AsRef<[u8]>>(&self, channels: &[C]) -> Result<Subscription, Error> {
        Subscription::start(self, SubKind::Sharded, channels, self.inner.command_timeout)
    }

    /// Per-shard state, in configured order; empty when the ring is closed.
    pub fn stats(&self) -> Vec<ShardStats> {
        self.with_core(|core, _| core.shards().map(ShardStats::from).collect())
            .unwrap_or_default()
    }

    /// What the I/O thread has done so far (commands, writes, reads, wake-ups): for example
    /// `commands / writes` shows how many concurrent commands share each write.
    pub fn io_stats(&self) -> IoStats {
        self.inner.shared.io.snapshot()
    }

    /// Closes the ring: pending commands fail with [`Error::Closed`], connections are closed,
    /// the I/O thread is joined. Later calls fail with [`Error::Closed`]. Dropping the last
    /// clone does the same.
    pub fn close(&self) {
        self.inner.shutdown();
    }

    /// Whether the ring is closed.
    pub fn is_closed(&self) -> bool {
        self.inner.shared.is_closed()
    }
}

/// The error of a call made from the ring's own I/O thread (it would wait for itself).
fn reentrant(cmd: &Cmd) -> Reply {
    Err(Error::Unsupported {
        command: CmdName::new(cmd.name()),
        reason: "called from the ring's own I/O thread (inside a hook): it would deadlock",
    })
}

/// Converts a reply for [`Ring::query`] and friends.
pub(crate) fn convert<T: FromValue>(command: CmdName, value: Value) -> Result<T, Error> {
    redis_ring_core::error::convert_reply(command, value)
}
