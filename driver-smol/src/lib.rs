//! # redis-ring-smol
//!
//! The async redis-ring client: keys spread over several independent Redis servers
//! ("shards") by consistent hashing, go-redis `Ring` compatible, for smol / async-io
//! programs. All protocol, routing, health and retry logic lives in the sans-io
//! core ([`core`], `redis_ring_core`), everything else a driver needs in [`redis_ring_driver`]; this crate
//! is the [`Smol`] runtime adapter (sockets in `async_io::Async`, `async_io::Timer`, the
//! driver task on smol's global executor or a thread of its own) and the names.
//!
//! ```no_run
//! use redis_ring_smol::{Cmd, Ring};
//!
//! smol::block_on(async {
//!     let ring = Ring::builder()
//!         .shard("shard1", "127.0.0.1:7000")
//!         .shard("shard2", "redis://:s3cret@127.0.0.1:7001/0")
//!         .build()?;
//!     ring.set("user:1", "ada").await?;
//!     let name: Option<String> = ring.get("user:1").await?;
//!     let mut p = ring.pipeline();
//!     p.incr("visits").get("user:1");
//!     let results = p.run().await;
//!     println!("{name:?} {results:?} on {:?}", ring.shard_for_key("user:1"));
//!     ring.close().await;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where the driver runs
//!
//! By default a task on smol's global executor; with `.runtime(Smol::new().driver_thread(true))`
//! on the builder, a thread of its own (named `redis-ring-smol`: the blocking driver's
//! [`IoThread`], one `epoll_wait` per wait, instead of async-io's reactor). When your tasks also run on
//! the global executor's single thread, everything shares one thread: the cheapest in CPU,
//! but a busy executor delays replies. Awaiting from your own thread (`smol::block_on` in
//! `main`, a `LocalExecutor`) or a driver thread puts callers and driver on two threads:
//! more throughput and a much lower p99 on a busy machine (figures in the repository's
//! `ARCHITECTURE.md`).
//!
//! What the default costs: async-io re-arms each socket after every readiness and resets
//! its timer on each wait, about twice the syscalls of a driver thread (measured: 21 against
//! 11 per pipeline of 100 commands over 3 shards, 10 against 5 per lone command), and a
//! lone round trip's reply reaches your task through two threads (the reactor's, then the
//! executor's) where a driver thread takes one. With 50 callers they measure alike. The
//! repository's `cli/scripts/syscalls.sh` and `redis-ring bench --driver smol-global` (this
//! default) / `smol` (a driver thread) / `smol-block-on` measure each on your machine.
//!
//! With a driver thread, a thread of yours that mostly waits on the ring can run its future
//! with the ring's own [`Ring::block_on`](redis_ring_driver::Ring::block_on) instead of
//! `smol::block_on`: while a round trip is the only one in flight, that thread waits on the
//! driver thread's reactor and reads the reply itself, as a blocking `redis-ring-std` caller
//! does (no cross-thread wake-up: two syscalls fewer per round trip); with several in flight
//! the driver thread reads for all of them.
//!
//! ```no_run
//! use redis_ring_smol::{Ring, Smol};
//!
//! let ring = Ring::builder()
//!     .shard("shard1", "127.0.0.1:7000")
//!     .runtime(Smol::new().driver_thread(true))
//!     .build()?;
//! let ex = smol::LocalExecutor::new();
//! ring.block_on(ex.run(async {
//!     for i in 0..1000 {
//!         ring.set(format!("k{i}"), i).await?;
//!     }
//!     Ok::<(), redis_ring_smol::Error>(())
//! }))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The API at a glance
//!
//! | call | what |
//! |---|---|
//! | [`Ring::builder`] → [`RingBuilder`] | shards (`host:port`, `[::1]:port`, `redis://user:pass@host:port/db`, Unix paths), every core option |
//! | `ring.get/set/incr/hset/...` | typed helpers, one definition in the core ([`cmds`] for the plain constructors) |
//! | `cmd`, `query`, `cmd_timeout` | any command, routed by its keys |
//! | `pipeline` | several commands at once, each its own result |
//! | `mget`, `mset`, `del`, `exists`, `mget_per_key` | split per shard by the core, merged |
//! | `transaction` | `WATCH` / reads / `MULTI` … `EXEC` on one shard, optimistic retry |
//! | `subscribe`, `psubscribe`, `ssubscribe` → [`Subscription`] | pub/sub, a `Stream` of [`Message`]s |
//! | `for_each_shard`, `shard`, `scan` | per-server commands (`DBSIZE`, `FLUSHDB`, `INFO`...) |
//! | `shard_for_key`, `len`, `stats`, `io_stats` | placement, health and per-shard counters ([`ShardStats`]), synchronous |
//! | `set_shards`, `events` | membership changes; `ShardUp` / `ShardDown` / ... |
//! | `close` (or drop the last clone) | shuts down; [`driver_tasks`] counts live drivers |
//!
//! Features `tracing` and `metrics` (off by default): spans per command and metrics in the
//! OpenTelemetry database conventions (see `redis_ring_driver::observe`).
#![forbid(unsafe_code)]

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::TcpStream;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::{Async, Timer};
use redis_ring_driver::{
    AsyncSocket, AsyncTimer, BoxFuture, CallerPoll, IoThread, Runtime, TakeError,
};

pub use redis_ring_driver::{
    cmds, core, driver_tasks, Algorithm, BuildError, Cmd, Config, ConnOptions, Error, ErrorCounts,
    ErrorKind, Event, Events, FromValue, FromValueError, IoStats, LatencyHistogram, Message,
    NetError, Pipeline, Protocol, Scan, ScanStream, Shard, ShardCounters, ShardStats, Subscription,
    TlsError, TlsSettings, ToArg, Tx, Value, EVENTS_CAPACITY, SUBSCRIPTION_CAPACITY,
    TRANSACTION_ATTEMPTS,
};

/// The ring client on smol (see [`redis_ring_driver::Ring`] for every call).
pub type Ring = redis_ring_driver::Ring<Smol>;
/// Builds a [`Ring`] (see [`redis_ring_driver::RingBuilder`] for every option).
pub type RingBuilder = redis_ring_driver::RingBuilder<Smol>;
/// go-redis's name for the ring's options: the same type as [`RingBuilder`].
pub type RingOptions = RingBuilder;

/// The smol / async-io runtime: sockets in [`Async`], timers [`Timer`], the driver task on
/// smol's global executor (or a thread of its own, [`Smol::driver_thread`]).
#[derive(Clone, Debug, Default)]
pub struct Smol {
    /// The driver's own thread, when asked for.
    thread: Option<IoThread>,
}

impl Smol {
    /// The default: the driver task on smol's global executor.
    pub fn new() -> Smol {
        Smol::default()
    }

    /// Runs the ring's driver on a thread of its own (named `redis-ring-smol`) instead of
    /// smol's global executor. Worth it when the executor that runs your tasks is busy, or
    /// when your program does not use smol's executor; it costs a thread and a cross-thread
    /// wake-up per batch.
    ///
    /// That thread is an [`IoThread`] (the blocking driver's runtime: its sockets are
    /// registered once with `mio`, a wait is one `epoll_wait`), not async-io's reactor, which
    /// re-arms each socket after every readiness and spends five syscalls and two
    /// allocations on every wait; your tasks only see their wakers woken, on any executor.
    /// One ring per `Smol` value made with this option (as [`IoThread`]).
    pub fn driver_thread(mut self, on: bool) -> Smol {
        self.thread = on.then(|| IoThread::named("redis-ring-smol"));
        self
    }
}

impl Runtime for Smol {
    fn spawn(&self, driver: BoxFuture) -> io::Result<()> {
        match &self.thread {
            Some(thread) => thread.spawn(driver),
            None => {
                smol::spawn(driver).detach();
                Ok(())
            }
        }
    }

    fn caller_poll(&self) -> Option<Arc<dyn CallerPoll>> {
        self.thread.as_ref()?.caller_poll()
    }

    fn new_timer(&self) -> Pin<Box<dyn AsyncTimer>> {
        match &self.thread {
            Some(thread) => thread.new_timer(),
            None => Box::pin(SmolTimer(Timer::never())),
        }
    }

    fn wrap_tcp(&self, stream: TcpStream) -> io::Result<Box<dyn AsyncSocket>> {
        match &self.thread {
            Some(thread) => thread.wrap_tcp(stream),
            None => Ok(Box::new(SmolSocket(Async::new(stream)?))),
        }
    }

    #[cfg(unix)]
    fn wrap_unix(&self, stream: UnixStream) -> io::Result<Box<dyn AsyncSocket>> {
        match &self.thread {
            Some(thread) => thread.wrap_unix(stream),
            None => Ok(Box::new(SmolSocket(Async::new(stream)?))),
        }
    }
}

/// An [`async_io::Timer`] as an [`AsyncTimer`].
#[derive(Debug)]
struct SmolTimer(Timer);

impl AsyncTimer for SmolTimer {
    fn reset(mut self: Pin<&mut Self>, at: Instant) {
        self.0.set_at(at);
    }

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// A stream registered with async-io's reactor.
#[derive(Debug)]
struct SmolSocket<T>(Async<T>);

impl<T> AsyncSocket for SmolSocket<T>
where
    T: TakeError + std::fmt::Debug + Send + Sync,
    for<'a> &'a T: Read + Write,
{
    fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_readable(cx)
    }

    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_writable(cx)
    }

    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.get_ref().read(buf)
    }

    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.get_ref().write(buf)
    }

    fn try_write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.get_ref().write_vectored(bufs)
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.0.get_ref().take_error()
    }
}
