//! [`Ring`]: the client handle and its calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant as StdInstant};

use redis_ring_core::command::{Cmd, FromValue, ToArg};
use redis_ring_core::config::Config;
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{Event, RingCore};
use redis_ring_core::time::Instant;
use smol::channel::{self, Receiver};

use crate::builder::{parse_shards, BuildError, RingBuilder};
use crate::driver::{Alive, Driver};
use crate::pipeline::Pipeline;
use crate::request::{Request, Target};
use crate::shared::Shared;
use crate::stats::{IoStats, ShardStats};
use redis_ring_core::config::ShardAddr;

/// How many events an [`Ring::events`] receiver may fall behind before it misses some.
pub const EVENTS_CAPACITY: usize = 1024;

/// A client of several Redis servers ("shards") that spreads keys over them by consistent
/// hashing, watches their health and routes around dead ones (go-redis's `Ring`), for
/// async code on smol / async-io.
///
/// `Ring` is a cheap handle: clone it freely and share it between tasks and threads
/// (`Clone + Send + Sync`). All clones drive one background task and one connection per
/// shard; concurrent commands are pipelined on it automatically. Dropping the last clone
/// shuts everything down (pending commands fail with `Error::Closed`); [`Ring::close`]
/// does it explicitly and waits until it is done.
///
/// ```no_run
/// use redis_ring_smol::{Cmd, Ring};
///
/// smol::block_on(async {
///     let ring = Ring::builder()
///         .shard("shard1", "127.0.0.1:7000")
///         .shard("shard2", "127.0.0.1:7001")
///         .build()?;
///     ring.set("user:1", "ada").await?;
///     let name: Option<String> = ring.get("user:1").await?;
///     let n: i64 = ring.query(Cmd::new("INCR").arg("visits")).await?;
///     println!("{name:?} {n} on {:?}", ring.shard_for_key("user:1"));
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Ring {
    inner: Arc<Inner>,
}

/// What the clones share; its drop (the last clone's) stops the driver task.
#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    /// Ends (all senders dropped) when the driver task has finished.
    done: Receiver<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.with(|st| {
            st.closing = true;
            st.wake_driver();
        });
    }
}

impl Ring {
    /// A [`RingBuilder`] with the default options (go-redis's).
    pub fn builder() -> RingBuilder {
        RingBuilder::new()
    }

    /// Creates the core and spawns the driver task (see [`RingBuilder::build`]).
    pub(crate) fn start(
        config: Config,
        urls: Arc<Mutex<HashMap<String, ShardAddr>>>,
        driver_thread: bool,
    ) -> Ring {
        let epoch = StdInstant::now();
        let core = RingCore::new(config, Instant::ZERO);
        let shared = Arc::new(Shared::new(core, epoch, urls));
        let (done_tx, done_rx) = channel::bounded(1);
        let driver = Driver::new(shared.clone(), Alive::new(done_tx));
        if driver_thread {
            // If no thread can be started, the global executor runs the driver instead:
            // a ring without a driver would hang every caller.
            let slot = Arc::new(Mutex::new(Some(driver)));
            let theirs = slot.clone();
            let started = std::thread::Builder::new()
                .name("redis-ring-smol".into())
                .spawn(move || {
                    let driver = theirs.lock().unwrap_or_else(PoisonError::into_inner).take();
                    if let Some(driver) = driver {
                        async_io::block_on(driver.run());
                    }
                })
                .is_ok();
            if !started {
                let left = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(driver) = left {
                    smol::spawn(driver.run()).detach();
                }
            }
        } else {
            smol::spawn(driver.run()).detach();
        }
        Ring {
            inner: Arc::new(Inner {
                shared,
                done: done_rx,
            }),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Runs any command, routed by its key (hash tags applied) to the live shard that owns
    /// it; keyless commands go to any live shard. An error reply from the server is
    /// `Err(Error::Server { .. })` naming the shard.
    ///
    /// Split commands (`MGET`, `MSET`, `DEL`, `EXISTS`...) are split per shard by the core
    /// and merged; blocking commands (`BLPOP`...) wait on a dedicated connection of their
    /// shard, never stalling the shared one. `SUBSCRIBE` ([`Ring::subscribe`]), `MULTI`/`EXEC`
    /// ([`Ring::transaction`]), per-server commands such as `KEYS` or `FLUSHDB`
    /// ([`Ring::for_each_shard`]) and connection-state commands (`SELECT`, `AUTH`: use the
    /// builder) are refused with `Error::Unsupported` saying what to use instead.
    ///
    /// # Errors
    /// Every [`Error`]: the ring retries network failures by itself within the command
    /// timeout; what is left names the shard, its address and the command.
    pub async fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        Request::new(self.shared(), Target::Ring, cmd, None).await
    }

    /// [`Ring::cmd`] with its own deadline instead of the configured command timeout.
    ///
    /// # Errors
    /// As [`Ring::cmd`].
    pub async fn cmd_timeout(&self, cmd: Cmd, timeout: Duration) -> Result<Value, Error> {
        Request::new(self.shared(), Target::Ring, cmd, Some(timeout)).await
    }

    /// [`Ring::cmd`], the reply converted to `T` (`String`, `Option<Vec<u8>>`, `i64`,
    /// `HashMap<String, f64>`, ... see [`FromValue`]).
    ///
    /// # Errors
    /// As [`Ring::cmd`]; a reply that does not convert to `T` is reported as an error too.
    pub async fn query<T: FromValue>(&self, cmd: Cmd) -> Result<T, Error> {
        let name = CmdName::new(cmd.name());
        convert(name, self.cmd(cmd).await?)
    }

    /// A pipeline: queue commands, then [`Pipeline::run`] sends them all at once (each on
    /// its shard's connection, concurrently) and returns each command's own result in
    /// submission order.
    pub fn pipeline(&self) -> Pipeline<'_> {
        Pipeline::new(self)
    }

    /// `MGET` across shards: the values of `keys` in key order (`Option<_>` for keys that
    /// may be missing).
    ///
    /// # Errors
    /// As [`Ring::cmd`].
    pub async fn mget<K: ToArg, T: FromValue>(&self, keys: &[K]) -> Result<Vec<T>, Error> {
        self.query(Cmd::new("MGET").arg(keys)).await
    }

    /// `MSET` across shards.
    ///
    /// # Errors
    /// As [`Ring::cmd`].
    pub async fn mset<K: ToArg, V: ToArg>(&self, pairs: &[(K, V)]) -> Result<(), Error> {
        let mut cmd = Cmd::with_capacity("MSET", pairs.len() * 2, pairs.len() * 16);
        for (k, v) in pairs {
            cmd.push_arg(k).push_arg(v);
        }
        self.query(cmd).await
    }

    /// `DEL` across shards: how many keys were deleted.
    ///
    /// # Errors
    /// As [`Ring::cmd`].
    pub async fn del<K: ToArg>(&self, keys: &[K]) -> Result<u64, Error> {
        self.query(Cmd::new("DEL").arg(keys)).await
    }

    /// `EXISTS` across shards: how many of `keys` exist.
    ///
    /// # Errors
    /// As [`Ring::cmd`].
    pub async fn exists<K: ToArg>(&self, keys: &[K]) -> Result<u64, Error> {
        self.query(Cmd::new("EXISTS").arg(keys)).await
    }

    /// The name of the live shard that owns `key` now (hash tags applied); `None` when no
    /// shard is up.
    pub fn shard_for_key(&self, key: impl AsRef<[u8]>) -> Option<String> {
        self.shared()
            .lock()
            .core
            .shard_for_key(key.as_ref())
            .map(|(name, _)| name.to_string())
    }

    /// The number of live shards (go-redis `Len`).
    pub fn len(&self) -> usize {
        self.shared().lock().core.live_len()
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
    /// A shard address that cannot be parsed; nothing changes then.
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
        self.apply_shards(&shards);
        Ok(())
    }

    pub(crate) fn apply_shards(&self, shards: &[(String, ShardAddr)]) {
        let shared = self.shared();
        {
            let mut urls = shared.urls.lock().unwrap_or_else(PoisonError::into_inner);
            urls.clear();
            for (name, addr) in shards {
                if addr.has_overrides() {
                    urls.insert(name.clone(), addr.clone());
                }
            }
        }
        shared.with(|st| {
            if st.closing {
                return;
            }
            let now = shared.now();
            st.core
                .set_shards(shards.iter().map(|(n, a)| (n, &a.addr)), now);
            st.drain();
        });
    }

    /// A new receiver of the ring's events from now on (shard added, removed, up, down);
    /// it is a [`Stream`](smol::stream::Stream) and has `recv().await`. A receiver more
    /// than [`EVENTS_CAPACITY`] events behind misses the newest. It ends when the ring
    /// closes.
    pub fn events(&self) -> Receiver<Event> {
        let (tx, rx) = channel::bounded(EVENTS_CAPACITY);
        self.shared().with(|st| {
            if !st.closing {
                st.subscribers.push(tx);
            }
        });
        rx
    }

    /// Every shard in configured order: state, address, last error, commands in flight.
    pub fn stats(&self) -> Vec<ShardStats> {
        self.shared()
            .lock()
            .core
            .shards()
            .map(ShardStats::from)
            .collect()
    }

    /// What the driver has done so far: commands, writes, reads, wake-ups.
    pub fn io_stats(&self) -> IoStats {
        self.shared().lock().io_stats
    }

    /// Commands waiting for their reply, over all shards.
    pub fn in_flight(&self) -> usize {
        self.shared().lock().waiting()
    }

    /// Closes the ring for every clone: pending and later commands fail with
    /// `Error::Closed`, connections close, and this returns when the background task has
    /// finished.
    pub async fn close(&self) {
        self.shared().with(|st| {
            st.closing = true;
            st.wake_driver();
        });
        // Every sender is the driver's: `recv` fails once the task is gone.
        let _ = self.inner.done.recv().await;
    }

    /// Whether the ring was closed.
    pub fn is_closed(&self) -> bool {
        self.shared().lock().closing
    }
}

/// The typed helpers of the core's table as `Ring` methods; `mget`, `mset`, `del` and
/// `exists` are the ring's own (above: slices in, element types out).
macro_rules! ring_methods {
    (@munch [$($done:tt)*]) => {
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
            /// As [`Ring::cmd`], or a reply that does not convert to the type asked for.
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

/// Converts a reply for [`Ring::query`] and the typed helpers.
pub(crate) fn convert<T: FromValue>(command: CmdName, value: Value) -> Result<T, Error> {
    redis_ring_core::error::convert_reply(command, value)
}
