//! [`Ring`]: the async client handle and its calls, for any [`Runtime`].

use std::sync::Arc;
use std::time::Duration;

use redis_ring_core::command::{Cmd, FromValue, ToArg};
use redis_ring_core::config::ShardSpec;
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;

use crate::builder::{parse_shards, BuildError, RingBuilder};
use crate::convert::convert;
use crate::events::{Events, EVENTS_CAPACITY};
use crate::pipeline::Pipeline;
use crate::request::{declared, Request, Target};
use crate::runtime::Runtime;
use crate::state::{Shared, State};
use crate::stats::{IoStats, ShardStats};

/// A client of several Redis servers ("shards") that spreads keys over them by consistent
/// hashing, watches their health and routes around dead ones (go-redis's `Ring`), on the
/// async runtime `Rt` (each driver crate names it: `redis_ring_smol::Ring`...).
///
/// `Ring` is a cheap handle: clone it freely and share it between tasks and threads
/// (`Clone + Send + Sync`; every future it returns is `Send`). All clones drive one
/// background task and one connection per shard; concurrent commands are pipelined on it
/// automatically. Dropping the last clone shuts everything down (pending commands fail
/// with `Error::Closed`); [`Ring::close`] does it explicitly and waits until it is done.
#[derive(Debug)]
pub struct Ring<Rt: Runtime> {
    inner: Arc<Inner<Rt>>,
    /// Every command sent through this handle is declared idempotent ([`Ring::idempotent`]).
    idempotent: bool,
}

impl<Rt: Runtime> Clone for Ring<Rt> {
    fn clone(&self) -> Self {
        Ring {
            inner: self.inner.clone(),
            idempotent: self.idempotent,
        }
    }
}

/// What the clones share; its drop (the last clone's) stops the driver task.
#[derive(Debug)]
struct Inner<Rt> {
    shared: Arc<Shared>,
    rt: Rt,
    /// Ends (all senders dropped) when the driver task has finished.
    done: async_channel::Receiver<()>,
}

impl<Rt> Drop for Inner<Rt> {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl<Rt: Runtime> Ring<Rt> {
    /// A [`RingBuilder`] with the default options (go-redis's) and `Rt::default()`.
    pub fn builder() -> RingBuilder<Rt, crate::builder::Async>
    where
        Rt: Default,
    {
        RingBuilder::new()
    }

    pub(crate) fn from_parts(
        shared: Arc<Shared>,
        rt: Rt,
        done: async_channel::Receiver<()>,
    ) -> Ring<Rt> {
        Ring {
            inner: Arc::new(Inner { shared, rt, done }),
            idempotent: false,
        }
    }

    /// Another handle to the same ring (a clone) through which every command is declared
    /// idempotent ([`Cmd::idempotent`]): typed helpers (`ring.idempotent().incr("n")`),
    /// `cmd`, `query`, pipelines made from it (`ring.idempotent().pipeline()`) and shard
    /// handles (`ring.idempotent().shard(name)`, `for_each_shard`).
    ///
    /// Why: a command whose connection broke after it was written may have run; the ring
    /// re-sends on its own only what cannot do harm twice (read-only commands, and those
    /// declared idempotent), and fails the others with `Error::MayHaveRun` (go-redis
    /// re-sends them all). Declare idempotence for writes your application can repeat
    /// safely (`SET k v`, `DEL k`, or an `INCR` whose double count you accept); a single
    /// command can also be declared with `Cmd::new(..).idempotent()` on any handle.
    /// Transactions are not affected (`EXEC` is never re-sent).
    #[must_use]
    pub fn idempotent(&self) -> Ring<Rt> {
        Ring {
            inner: self.inner.clone(),
            idempotent: true,
        }
    }

    /// Whether this handle declares its commands idempotent ([`Ring::idempotent`]).
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// `f` of the state, or `default` when called from inside one of the ring's hooks.
    fn read<T>(&self, default: T, f: impl FnOnce(&State) -> T) -> T {
        if self.shared().reentrant() {
            return default;
        }
        f(&self.shared().lock())
    }

    pub(crate) fn shared_arc(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    pub(crate) fn runtime(&self) -> &Rt {
        &self.inner.rt
    }

    /// Runs any command, routed by its key (hash tags applied) to the live shard that owns
    /// it; keyless commands go to any live shard. An error reply from the server is
    /// `Err(Error::Server { .. })` naming the shard.
    ///
    /// Split commands (`MGET`, `MSET`, `DEL`, `EXISTS`...) are split per shard by the core
    /// and merged; blocking commands (`BLPOP`...) wait on a dedicated connection of their
    /// shard, never stalling the shared one. `SUBSCRIBE` (`subscribe`), `MULTI`/`EXEC`
    /// (`transaction`), per-server commands such as `KEYS` or `FLUSHDB` (`for_each_shard`)
    /// and connection-state commands (`SELECT`, `AUTH`: use the builder) are refused with
    /// `Error::Unsupported` saying what to use instead.
    ///
    /// # Errors
    /// Every [`Error`]: the ring retries network failures by itself within the command
    /// timeout; what is left names the shard, its address and the command.
    pub async fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        let cmd = declared(cmd, self.idempotent);
        Request::new(self.shared(), Target::Ring, cmd, None).await
    }

    /// `cmd` with its own deadline instead of the configured command timeout.
    ///
    /// # Errors
    /// As `cmd`.
    pub async fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error> {
        let cmd = declared(cmd, self.idempotent);
        Request::new(self.shared(), Target::Ring, cmd, Some(timeout)).await
    }

    /// `cmd`, the reply converted to `T` (`String`, `Option<Vec<u8>>`, `i64`,
    /// `HashMap<String, f64>`, ... see [`FromValue`]).
    ///
    /// # Errors
    /// As `cmd`; a reply that does not convert to `T` is reported as an error too.
    pub async fn query<T: FromValue>(&self, cmd: Cmd) -> Result<T, Error> {
        let name = CmdName::new(cmd.name());
        convert(name, self.cmd(cmd).await?)
    }

    /// A pipeline: queue commands, then `run` sends them all at once (each on its shard's
    /// connection, concurrently) and returns each command's own result in submission order.
    pub fn pipeline(&self) -> Pipeline<'_> {
        Pipeline::new(self.shared(), self.idempotent, 0)
    }

    /// [`Ring::pipeline`] with room for `capacity` commands (no growth while queueing them).
    pub fn pipeline_with_capacity(&self, capacity: usize) -> Pipeline<'_> {
        Pipeline::new(self.shared(), self.idempotent, capacity)
    }

    /// `MGET` across shards: the values of `keys` in key order (`Option<_>` for keys that
    /// may be missing).
    ///
    /// # Errors
    /// As `cmd`.
    pub async fn mget<K: ToArg, T: FromValue>(&self, keys: &[K]) -> Result<Vec<T>, Error> {
        self.query(Cmd::new("MGET").arg(keys)).await
    }

    /// `MSET` across shards.
    ///
    /// # Errors
    /// As `cmd`.
    pub async fn mset<K: ToArg, V: ToArg>(&self, pairs: &[(K, V)]) -> Result<(), Error> {
        self.query(mset_cmd(pairs)).await
    }

    /// `DEL` across shards: how many keys were deleted.
    ///
    /// # Errors
    /// As `cmd`.
    pub async fn del<K: ToArg>(&self, keys: &[K]) -> Result<u64, Error> {
        self.query(Cmd::new("DEL").arg(keys)).await
    }

    /// `EXISTS` across shards: how many of `keys` exist.
    ///
    /// # Errors
    /// As `cmd`.
    pub async fn exists<K: ToArg>(&self, keys: &[K]) -> Result<u64, Error> {
        self.query(Cmd::new("EXISTS").arg(keys)).await
    }

    /// The name of the live shard that owns `key` now (hash tags applied); `None` when no
    /// shard is up.
    pub fn shard_for_key(&self, key: impl AsRef<[u8]>) -> Option<String> {
        self.read(None, |st| {
            st.core
                .shard_for_key(key.as_ref())
                .map(|(name, _)| name.to_string())
        })
    }

    /// The number of live shards (go-redis `Len`).
    pub fn len(&self) -> usize {
        self.read(0, |st| st.core.live_len())
    }

    /// Whether no shard is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces the shards (go-redis `SetAddrs`): new names are added (up, probed at
    /// once), missing ones removed (their pending commands fail with
    /// `Error::ShardRemoved`), unchanged ones keep their connection and health.
    ///
    /// # Errors
    /// [`BuildError::Address`] for an address that cannot be parsed (nothing changes);
    /// [`BuildError::Closed`] when the ring is closed.
    pub fn set_shards<I, N, A>(&self, shards: I) -> Result<(), BuildError>
    where
        I: IntoIterator<Item = (N, A)>,
        N: Into<String>,
        A: Into<String>,
    {
        let shards = parse_shards(
            shards
                .into_iter()
                .map(|(n, a)| (n.into(), a.into()))
                .collect(),
        )?;
        self.set_shard_specs(shards)
    }

    /// [`set_shards`](Self::set_shards) with typed [`ShardSpec`]s (endpoint, TLS, weight,
    /// per-shard overrides). A shard whose spec changed only in weight keeps its
    /// connection; the new weight applies at once.
    ///
    /// # Errors
    /// [`BuildError::Closed`] when the ring is closed.
    pub fn set_shard_specs<I>(&self, specs: I) -> Result<(), BuildError>
    where
        I: IntoIterator<Item = ShardSpec>,
    {
        let specs: Vec<ShardSpec> = specs.into_iter().collect();
        let shared = self.shared();
        if shared.reentrant() {
            return Err(BuildError::Closed);
        }
        shared.with(|st| {
            if st.closing {
                return Err(BuildError::Closed);
            }
            crate::builder::apply_shards(shared, st, specs);
            Ok(())
        })
    }

    /// A new receiver of the ring's events from now on (shard added, removed, up, down).
    pub fn events(&self) -> Events {
        let (tx, rx) = async_channel::bounded(EVENTS_CAPACITY);
        if self.shared().reentrant() {
            return Events::new(rx);
        }
        self.shared().with(|st| {
            if !st.closing {
                st.events.push(tx);
            }
        });
        Events::new(rx)
    }

    /// Every shard in configured order: state and how long it has held, address, last
    /// errors, commands in flight and queued, and its counters since it joined (commands,
    /// errors by kind, retries, connects, bytes, transitions, a latency histogram:
    /// monotonic, so rates are differences of two readings).
    pub fn stats(&self) -> Vec<ShardStats> {
        let now = self.shared().now();
        self.read(Vec::new(), |st| {
            st.core.shards().map(|s| ShardStats::at(s, now)).collect()
        })
    }

    /// What the driver has done so far: commands, writes, reads, wake-ups.
    pub fn io_stats(&self) -> IoStats {
        self.read(IoStats::default(), |st| st.io_stats)
    }

    /// Runs `fut` to completion on the calling thread: an executor's `block_on` that knows
    /// this ring. While `fut` waits on a round trip of this ring that is the only one in
    /// flight, the thread waits on the ring's own reactor and reads the replies itself
    /// instead of parking until the ring's driver thread wakes it: no hand-off between
    /// threads, two syscalls fewer per round trip. Only when the driver runs on a thread of
    /// its own with a reactor a caller can share (`redis-ring-std`'s, smol's
    /// `Smol::driver_thread(true)`); otherwise, and whenever several round trips are in
    /// flight, it parks the thread like any `block_on`. Any future may run here (your
    /// executor's `run`, say), including ones that use other rings or other reactors: they
    /// wake the thread as usual.
    ///
    /// Do not call it from inside an async task (it blocks the thread), nor from a hook.
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        crate::blocking::block_on_with_ring(self.shared(), fut)
    }

    /// Commands waiting for their reply, over all shards.
    pub fn in_flight(&self) -> usize {
        self.read(0, State::waiting)
    }

    /// Closes the ring for every clone: pending and later commands fail with
    /// `Error::Closed`, connections close, subscriptions and event streams end, and this
    /// returns when the background task has finished.
    pub async fn close(&self) {
        if self.shared().reentrant() {
            return;
        }
        self.shared().close();
        // Every sender is the driver's: `recv` fails once the task is gone.
        let _ = self.inner.done.recv().await;
    }

    /// Whether the ring was closed.
    pub fn is_closed(&self) -> bool {
        self.read(false, |st| st.closing)
    }
}

/// `MSET k1 v1 k2 v2 ...`.
pub(crate) fn mset_cmd<K: ToArg, V: ToArg>(pairs: &[(K, V)]) -> Cmd {
    let mut cmd = Cmd::with_capacity("MSET", pairs.len() * 2, pairs.len() * 16);
    for (k, v) in pairs {
        cmd.push_arg(k).push_arg(v);
    }
    cmd
}

/// The typed helpers of the core's table as `Ring` methods; `mget`, `mset`, `del` and
/// `exists` are the ring's own (above: slices in, element types out).
macro_rules! ring_methods {
    (@munch [$($done:tt)*]) => {
        /// Typed helpers (one definition in the core's `for_each_command!`): each sends its
        /// command through `query` and converts the reply.
        impl<Rt: Runtime> Ring<Rt> { $($done)* }
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
            /// As `cmd`, or a reply that does not convert to the type asked for.
            pub async fn $name<$($r: FromValue),*>(&self, $($arg: $ty),*) -> Result<$ret, Error> {
                // Built before any await, so the future holds the command across it, not
                // the arguments.
                let cmd = redis_ring_core::command::cmds::$name($($arg),*);
                self.query::<$ret>(cmd).await
            }
        ] $($rest)*);
    };
    ($($entries:tt)*) => { ring_methods!(@munch [] $($entries)*); };
}

redis_ring_core::for_each_command!(ring_methods);
