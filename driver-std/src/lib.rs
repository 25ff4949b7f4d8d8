//! # redis-ring-std
//!
//! The blocking redis-ring client: keys spread over several independent Redis servers
//! ("shards") by consistent hashing, go-redis `Ring` compatible, for threaded programs and
//! anyone who wants no async runtime. All protocol, routing, health and retry logic lives in
//! the sans-io core ([`core`]), everything else a driver needs (connection pump, reply
//! dispatch, builder, the API, the [`IoThread`] runtime) in [`redis_ring_driver`]; this crate
//! is the names.
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
//! # How it runs
//!
//! * **One I/O thread per ring** (`redis-ring-io`, [`IoThread`]) runs the shared driver
//!   task: it waits on a `mio::Poll` (sockets registered once, edge-triggered, for reading
//!   and writing) until a socket is ready, the core's next deadline, or a caller's wake-up,
//!   then reads, writes (one `write` per shard per turn: automatic pipelining) and fires
//!   timers.
//! * **Callers** submit under the ring's lock on their own thread (a refusal comes back at
//!   once), write their shard's buffer themselves when nothing is in flight there (otherwise
//!   the I/O thread writes it when the replies on their way arrive), and park until their reply slot is filled
//!   (the slot holds a waker that unparks them). A caller whose round trip is the only one
//!   in flight (one at a time, or one pipeline) waits on the I/O thread's poller itself and
//!   reads its replies on its own thread while the I/O thread steps aside: no hand-off
//!   between threads per round trip (not while a connection is being opened: handshakes
//!   stay the I/O thread's; nor while a socket has more to read than a turn's budget, as
//!   in a push flood: the I/O thread reads it, and keeps watching every other socket). No
//!   lock is held across a round trip.
//! * **Nothing blocks the I/O thread**: connects are non-blocking, host names resolve on
//!   short-lived threads, writes that do not fit wait for writability; a dead or frozen
//!   shard delays nobody else.
//! * **Shutdown**: [`Ring::close`](redis_ring_driver::blocking::Ring::close) or dropping the
//!   last clone stops the thread after failing whatever is pending with `Error::Closed`. A
//!   panic on the I/O thread (a user hook that panics) fails every waiting caller the same
//!   way; a hook that calls the ring gets an error instead of a deadlock.
//!
//! Features `tracing` and `metrics` (off by default): spans per command and metrics in the
//! OpenTelemetry database conventions (see `redis_ring_driver::observe`); `stats()` reports
//! per-shard counters ([`ShardStats`]) always.
#![deny(unsafe_code)]

pub use redis_ring_driver::blocking::{Events, Pipeline, Scan, Shard, Subscription, Tx};
pub use redis_ring_driver::IoThread;
pub use redis_ring_driver::{
    cmds, core, driver_tasks, Algorithm, BuildError, Cmd, Config, ConnOptions, Error, ErrorCounts,
    ErrorKind, Event, FromValue, FromValueError, IoStats, LatencyHistogram, Message, NetError,
    Protocol, ShardCounters, ShardStats, TlsError, TlsSettings, ToArg, Value, EVENTS_CAPACITY,
    SUBSCRIPTION_CAPACITY, TRANSACTION_ATTEMPTS,
};

/// The blocking ring client (see [`redis_ring_driver::blocking::Ring`] for every call).
pub type Ring = redis_ring_driver::blocking::Ring<IoThread>;
/// Builds a [`Ring`] (see [`redis_ring_driver::RingBuilder`] for every option).
pub type RingBuilder = redis_ring_driver::RingBuilder<IoThread, redis_ring_driver::Blocking>;
/// go-redis's name for the ring's options: the same type as [`RingBuilder`].
pub type RingOptions = RingBuilder;
