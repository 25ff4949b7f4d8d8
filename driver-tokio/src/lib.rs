//! # redis-ring-tokio
//!
//! The async redis-ring client: keys spread over several independent Redis servers
//! ("shards") by consistent hashing, go-redis `Ring` compatible, for tokio programs. All
//! protocol, routing, health and retry logic lives in the sans-io core ([`core`], `redis_ring_core`),
//! everything else a driver needs in [`redis_ring_driver`]; this crate is the [`Tokio`]
//! runtime adapter (sockets in `tokio::net`, timers `tokio::time::Sleep`, the driver task
//! spawned on your runtime) and the names.
//!
//! ```no_run
//! use redis_ring_tokio::{Cmd, Ring};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
//!     Ok(())
//! }
//! ```
//!
//! # Where the driver runs
//!
//! `build` spawns the ring's driver task on the tokio runtime it is called from
//! (`Handle::try_current`), multi-thread or `current_thread` alike; outside a runtime it
//! fails with a [`BuildError`] rather than start one behind your back (or pass a handle:
//! `.runtime(Tokio::with_handle(handle))`). The runtime needs its I/O and time drivers
//! (`enable_all`, as `#[tokio::main]` and `Runtime::new` do). Every future the ring returns
//! is `Send`, so calls work from spawned tasks; dropping the last clone of the ring or
//! `close()` ends the driver task, and shutting the runtime down fails any call still
//! waiting.
//!
//! # The API at a glance
//!
//! The same as `redis-ring-smol`'s (one implementation, [`redis_ring_driver::Ring`]):
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
use std::io::{self, Read};
use std::net::TcpStream;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use redis_ring_driver::{AsyncSocket, AsyncTimer, BoxFuture, Runtime};
use socket2::SockRef;
use tokio::io::Interest;
use tokio::runtime::Handle;
use tokio::time::Sleep;

pub use redis_ring_driver::{
    cmds, core, driver_tasks, Algorithm, BuildError, Cmd, Config, ConnOptions, Error, ErrorCounts,
    ErrorKind, Event, Events, FromValue, FromValueError, IoStats, LatencyHistogram, Message,
    NetError, Pipeline, Protocol, Scan, ScanStream, Shard, ShardCounters, ShardStats, Subscription,
    TlsError, TlsSettings, ToArg, Tx, Value, EVENTS_CAPACITY, SUBSCRIPTION_CAPACITY,
    TRANSACTION_ATTEMPTS,
};

/// The ring client on tokio (see [`redis_ring_driver::Ring`] for every call).
pub type Ring = redis_ring_driver::Ring<Tokio>;
/// Builds a [`Ring`] (see [`redis_ring_driver::RingBuilder`] for every option).
pub type RingBuilder = redis_ring_driver::RingBuilder<Tokio>;
/// go-redis's name for the ring's options: the same type as [`RingBuilder`].
pub type RingOptions = RingBuilder;

/// The tokio runtime: sockets in `tokio::net`, the timer a [`Sleep`], the driver task on
/// the runtime `build` is called from (or the one of [`Tokio::with_handle`]).
#[derive(Clone, Debug, Default)]
pub struct Tokio {
    handle: Option<Handle>,
}

impl Tokio {
    /// The default: the runtime `build` is called from.
    pub fn new() -> Tokio {
        Tokio::default()
    }

    /// Runs the driver task on `handle`'s runtime, wherever `build` is called from (a
    /// plain thread, say).
    pub fn with_handle(handle: Handle) -> Tokio {
        Tokio {
            handle: Some(handle),
        }
    }
}

impl Runtime for Tokio {
    fn spawn(&self, driver: BoxFuture) -> io::Result<()> {
        let handle = match &self.handle {
            Some(h) => h.clone(),
            None => Handle::try_current().map_err(|e| {
                io::Error::other(format!(
                    "{e}: build the ring inside a tokio runtime (`#[tokio::main]`, a task, \
                     `block_on`), or pass one with `.runtime(Tokio::with_handle(handle))`"
                ))
            })?,
        };
        // Detached: the task ends by itself when the ring is closed or dropped.
        drop(handle.spawn(driver));
        Ok(())
    }

    /// A caller wakes the driver from inside its own poll, and tokio runs a task woken that
    /// way next (the worker's LIFO slot): the driver would send each caller's command in a
    /// write of its own (measured with 50 callers: one `sendto` per command). Yielding once
    /// first (a task that wakes itself goes to the back of the run queue) lets every caller
    /// already runnable queue its command, and one write takes them all (about 11 commands
    /// per `sendto` in the same measurement). Not while one caller's requests are alone in
    /// flight: a yield also unparks another worker (tokio's `notify_parked`), which a lone
    /// pipeline's replies, with nobody to wait for, paid for nothing (~3 syscalls per round
    /// of pipelines of 100 over 3 shards).
    fn yield_to_callers(&self) -> bool {
        true
    }

    fn new_timer(&self) -> Pin<Box<dyn AsyncTimer>> {
        Box::pin(TokioTimer(None))
    }

    // Both `from_std` run on the driver task, inside its runtime's context.
    fn wrap_tcp(&self, stream: TcpStream) -> io::Result<Box<dyn AsyncSocket>> {
        Ok(Box::new(TokioSocket(tokio::net::TcpStream::from_std(
            stream,
        )?)))
    }

    #[cfg(unix)]
    fn wrap_unix(&self, stream: UnixStream) -> io::Result<Box<dyn AsyncSocket>> {
        Ok(Box::new(TokioSocket(tokio::net::UnixStream::from_std(
            stream,
        )?)))
    }
}

/// A [`Sleep`] as an [`AsyncTimer`], made on its first `reset`: on the driver task, so
/// inside the runtime (`new_timer` itself may run outside, before `spawn`'s error).
#[derive(Debug)]
struct TokioTimer(Option<Pin<Box<Sleep>>>);

impl AsyncTimer for TokioTimer {
    fn reset(self: Pin<&mut Self>, at: Instant) {
        let at = tokio::time::Instant::from_std(at);
        match &mut self.get_mut().0 {
            Some(sleep) => sleep.as_mut().reset(at),
            slot @ None => *slot = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.get_mut().0 {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

/// A `tokio::net` stream (TCP or Unix).
#[derive(Debug)]
struct TokioSocket<T>(T);

/// Implements [`AsyncSocket`] for a `tokio::net` stream type: both have the same
/// readiness methods, but no trait in tokio says so.
macro_rules! tokio_socket {
    ($ty:ty) => {
        impl AsyncSocket for TokioSocket<$ty> {
            fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.0.poll_read_ready(cx)
            }

            fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.0.poll_write_ready(cx)
            }

            // tokio clears its readiness when the read reports `WouldBlock`, and here on
            // a short read too: the socket was drained (an edge that comes after the read
            // has a newer tick, which the clearing leaves alone; a peer's close stays
            // recorded), so the next turn does not spend a `recvfrom` to learn it.
            fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let mut got = None;
                let sock = SockRef::from(&self.0);
                let r = self.0.try_io(Interest::READABLE, || {
                    let n = (&*sock).read(buf)?;
                    got = Some(n);
                    if n < buf.len() {
                        Err(io::ErrorKind::WouldBlock.into())
                    } else {
                        Ok(n)
                    }
                });
                match got {
                    Some(n) => Ok(n),
                    None => r,
                }
            }

            fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.try_write(buf)
            }

            fn try_write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                self.0.try_write_vectored(bufs)
            }

            fn take_error(&self) -> io::Result<Option<io::Error>> {
                self.0.take_error()
            }
        }
    };
}

tokio_socket!(tokio::net::TcpStream);
#[cfg(unix)]
tokio_socket!(tokio::net::UnixStream);
