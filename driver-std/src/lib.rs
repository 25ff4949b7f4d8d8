//! # redis-ring-std
//!
//! The blocking redis-ring client: keys spread over several independent Redis servers
//! ("shards") by consistent hashing, go-redis `Ring` compatible, for threaded programs and
//! anyone who wants no async runtime. All protocol, routing, health and retry logic lives in
//! the sans-io [`redis_ring_core`]; this crate only moves bytes and time.
//!
//! ```no_run
//! use redis_ring_std::{Cmd, Ring};
//!
//! let ring = Ring::builder()
//!     .shard("shard1", "127.0.0.1:7000")
//!     .shard("shard2", "redis://:s3cret@127.0.0.1:7001/0")
//!     .build()?;
//! ring.cmd(Cmd::new("SET").arg("user:1").arg("ada"))?;
//! let name: Option<String> = ring.get("user:1")?; // typed helpers from core's one table
//! println!("user:1 = {name:?}, on {:?}", ring.shard_for_key("user:1"));
//!
//! let mut p = ring.pipeline(); // split per shard, one write each, results in order
//! p.incr("visits").get("user:1");
//! let results = p.run();
//!
//! let sizes = ring.for_each_shard(|shard| shard.query::<i64>(Cmd::new("DBSIZE")));
//! let mut sub = ring.subscribe(&["news"])?; // each channel on the shard PUBLISH routes to
//! ring.publish("news", "hello")?;
//! let msg = sub.next_timeout(std::time::Duration::from_secs(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Architecture
//!
//! ```text
//!  caller threads                         redis-ring-io thread (the reactor)
//!  ──────────────                         ──────────────────────────────────
//!  ring.cmd(c) ─┐                         loop {
//!  ring.cmd(c) ─┼─► Mutex<Vec<Job>> ──────►  take ALL queued jobs → core.submit(..) each
//!  pipeline    ─┘   (+ poller.notify()       drain core.poll_output():
//!      │             only if it sleeps)        Connect  → non-blocking connect, register
//!      │                                       Transmit → mark conn dirty
//!      │                                       Reply    → fill the caller's Batch, wake it
//!      │                                       Event    → events() channels
//!      │                                     write each dirty conn's send_buf: ONE write
//!      ▼                                     poller.wait(until core's next deadline)
//!  Batch (Mutex + Condvar) ◄──────────────   read ready sockets → core.handle_input(..)
//!                                          }
//! ```
//!
//! * **One reactor thread** owns the [`RingCore`](redis_ring_core::RingCore) and every socket
//!   (non-blocking `std::net::TcpStream`s registered with [`polling`], level-triggered where
//!   the OS allows). Nothing else touches the core, so it needs no lock, and its timers
//!   (heartbeats, probes, retries, deadlines) are the poller's timeout.
//! * **Callers** push a job onto a mutex-protected queue (the lock is held for a `Vec::push`)
//!   and block on their own `Batch` (module `waiter`) — a mutex and a condition variable —
//!   until the reactor fills it. No lock is held across a round trip.
//! * **Automatic pipelining**: the reactor takes the whole queue each turn and submits it
//!   before writing, so every command queued while it was busy leaves in the next write, one
//!   `write` per shard however many callers there are. A caller only pays for a wake-up
//!   (`eventfd` write) when the reactor is asleep, and only the first such caller does.
//! * **Dedicated connections** (blocking commands, transactions, subscriptions) are the
//!   core's: the reactor moves their bytes like any other; a [`Subscription`] reads the
//!   messages the reactor forwards into a bounded channel.
//! * **Sockets never block the reactor**: connects are non-blocking (`socket2`), host names
//!   are resolved on short-lived threads, writes that do not fit wait for writability. A
//!   dead, refusing or frozen shard therefore delays nobody else.
//! * **Shutdown**: [`Ring::close`] or dropping the last clone queues a shutdown; the reactor
//!   calls `RingCore::close` (every pending command fails with `Error::Closed`), drops its
//!   sockets and resolver threads, and is joined. A panic in the reactor (a user hook that
//!   panics) fails every waiter the same way: queued submissions fail what they hold when
//!   dropped, and the reactor's `Drop` fails what the core had. No caller can hang.
//!
//! Why this design and not one I/O thread per shard (blocking reads, callers writing under
//! a lock on the core): the core is one state machine for all shards, so per-shard threads
//! would all contend on one lock around it, writes from callers would need their own
//! batching protocol, and a paused shard's full socket buffer must never block a thread that
//! holds that lock. The reactor keeps all of that in one place, with no lock on the core.
//! Measured (`examples/handoff.rs`, raw `PING`s): a sequential caller pays one more thread
//! hand-off than a reader-thread design (a few µs on a ~40 µs loopback round trip), and 50
//! concurrent callers get about 4× the throughput (125k/s against 30k/s) because the reactor
//! batches. The figures are in the repository's `ARCHITECTURE.md` (driver-std section).
//!
//! # Modules
//!
//! | module | concern |
//! |---|---|
//! | `builder` | [`RingBuilder`] options, shard addresses (`redis://` URLs) → core `Config` |
//! | `ring` | [`Ring`]: the public calls, each a job + a wait |
//! | `helpers` | typed helpers (`get`, `set`, `incr`, ...) expanded from core's one table |
//! | `pipeline` | [`Pipeline`] |
//! | `shard` | [`Shard`] and [`Ring::for_each_shard`]: commands pinned to a shard (fan-out) |
//! | `transaction` | [`Ring::transaction`] / [`Tx`]: the core's transaction protocol, retried while watched keys change |
//! | `pubsub` | [`Subscription`]: the core's `Output::Message`s as a blocking iterator with timeouts |
//! | `queue` | the job queue shared with the reactor, and its wake-up rule |
//! | `waiter` | `Batch`: where results are left and callers wait |
//! | `reactor` | the I/O thread: drives `RingCore`, sockets and time |
//! | `net` | non-blocking connect, poller registration (the one `unsafe` block), error mapping |
//! | `clock` | `std::time::Instant` → the core's `Instant` |
#![deny(unsafe_code)]

mod builder;
mod clock;
mod helpers;
mod multi;
mod net;
mod pipeline;
mod pubsub;
mod queue;
mod reactor;
mod ring;
mod shard;
mod stats;
mod transaction;
mod waiter;

pub use builder::{BuildError, RingBuilder, RingOptions};
pub use multi::Scan;
pub use pipeline::Pipeline;
pub use pubsub::{Message, Subscription, SUBSCRIPTION_CAPACITY};
pub use ring::{Ring, EVENTS_CAPACITY};
pub use shard::Shard;
pub use stats::{IoStats, ShardStats};
pub use transaction::{Tx, TRANSACTION_ATTEMPTS};

pub use redis_ring_core as core;
pub use redis_ring_core::command::{cmds, Cmd, FromValue, FromValueError, ToArg};
pub use redis_ring_core::config::{Config, ConnOptions, Protocol};
pub use redis_ring_core::error::NetError;
pub use redis_ring_core::placement::Algorithm;
pub use redis_ring_core::resp::Value;
pub use redis_ring_core::ring::{Event, SubKind};
pub use redis_ring_core::Error;
