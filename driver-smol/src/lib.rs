//! # redis-ring-smol
//!
//! The async redis-ring client: keys spread over several independent Redis servers
//! ("shards") by consistent hashing, go-redis `Ring` compatible, for smol / async-io
//! programs. All protocol, routing, health and retry logic lives in the sans-io
//! [`redis_ring_core`]; this crate only moves bytes, time and wake-ups.
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
//! # Architecture
//!
//! ```text
//!  caller tasks (any executor, any thread)          driver task (smol global executor)
//!  ───────────────────────────────────────          ──────────────────────────────────
//!  ring.get(k).await                                poll():
//!    first poll: lock ─► core.submit(cmd)             lock
//!                        encoded into the shard's     apply queued socket work
//!                        send buffer                  poll connects; read readable sockets
//!                        drain outputs:                 → core.handle_input(Received)
//!                          Transmit → IoQueue,        write each marked connection's whole
//!                          take driver waker ────────►  send buffer in ONE write → Sent
//!                  unlock, wake it                    core deadline passed → Timeout
//!    Pending                                          ...until nothing changes; arm the
//!                                                     Timer if the deadline moved; leave
//!    woken ◄──── Reply → slot filled, waker ◄──────   the waker; unlock, wake callers
//!    poll: lock, take result, unlock                Pending
//! ```
//!
//! * **One mutex around the core, one driver task** (quinn's way of driving quinn-proto):
//!   a caller submits under the lock and drains the core's outputs itself, so a command the
//!   core refuses (all shards down, cross-shard keys...) fails on the spot, and
//!   `shard_for_key`, `len` and `stats` are plain synchronous reads. Replies are put in the
//!   caller's slot by whoever drains them; wakers are woken after the lock is released.
//! * **Automatic pipelining**: a submit only encodes into the shard's send buffer and wakes
//!   the driver if it sleeps (taking its waker, so a burst of callers wakes it once). By
//!   the time the driver runs, every command queued meanwhile is in the buffer and leaves in
//!   one `write` per shard: many concurrent callers, few syscalls. Reads are one `read` per
//!   readiness event.
//! * **Time**: the core names its next deadline; the driver keeps one
//!   [`async_io::Timer`], re-armed only when that deadline moves. Heartbeats, probes,
//!   reconnect backoff, retries and command timeouts are all the core's.
//! * **Nothing blocks on a shard**: connects are futures polled by the driver, writes that
//!   do not fit wait for writability, host names resolve on smol's blocking pool. A dead or
//!   frozen shard delays nobody else.
//! * **Shutdown**: [`Ring::close`] or dropping the last clone sets a flag and wakes the
//!   driver, which closes the core (pending commands fail with `Error::Closed`), drops its
//!   sockets and ends; `close` waits for that. [`driver_tasks`] counts live driver tasks.
//!
//! * **Where the driver runs**: by default a task on smol's global executor; with
//!   [`RingBuilder::driver_thread`] a thread of its own. When your tasks also run on the
//!   global executor's single thread, everything shares one thread: the cheapest in CPU, but
//!   a busy executor delays replies. Awaiting from your own thread (`smol::block_on` in
//!   `main`, a `LocalExecutor`) or `driver_thread(true)` puts callers and driver on two
//!   threads: about 1.5× the CPU per command, more throughput and a much lower p99 on a busy
//!   machine (numbers in the repository's `ARCHITECTURE.md`, driver-smol section).
//!
//! Why one mutex and not a channel into a task that owns the core: measured (same
//! section): the hand-off brought no throughput or CPU gain, and would make refusals and
//! `shard_for_key` asynchronous. The lock is held for microseconds and never across an
//! await.
//!
//! # The API at a glance
//!
//! | call | what |
//! |---|---|
//! | [`Ring::builder`] → [`RingBuilder`] | shards (`host:port`, `redis://user:pass@host:port/db`, Unix paths), every core option |
//! | `ring.get/set/incr/hset/...` | typed helpers, one definition in the core ([`cmds`] for the plain constructors) |
//! | [`Ring::cmd`], [`Ring::query`], [`Ring::cmd_timeout`] | any command, routed by its keys |
//! | [`Ring::pipeline`] | several commands at once, each its own result |
//! | [`Ring::mget`], [`Ring::mset`], [`Ring::del`], [`Ring::exists`] | split per shard by the core, merged |
//! | [`Ring::transaction`] | `WATCH` / reads / `MULTI` … `EXEC` on one shard, optimistic retry |
//! | [`Ring::subscribe`], [`Ring::psubscribe`], [`Ring::ssubscribe`] → [`Subscription`] | pub/sub, a `Stream` of [`Message`]s |
//! | [`Ring::for_each_shard`], [`Ring::shard`] | per-server commands (`DBSIZE`, `FLUSHDB`, `INFO`...) |
//! | [`Ring::shard_for_key`], [`Ring::len`], [`Ring::stats`], [`Ring::io_stats`] | placement and health, synchronous |
//! | [`Ring::set_shards`], [`Ring::events`] | membership changes; `ShardUp` / `ShardDown` / ... |
//! | [`Ring::close`] (or drop the last clone) | shuts down; [`driver_tasks`] counts live drivers |
//!
//! # Modules
//!
//! | module | concern |
//! |---|---|
//! | `builder` | [`RingBuilder`] options → core `Config`; random jitter seed |
//! | `ring` | [`Ring`]: the public calls; the typed helpers from the core's table |
//! | `request` | where a request goes (ring, shard, transaction), its future, batches |
//! | `pipeline` | [`Pipeline`] |
//! | `transaction` | [`Ring::transaction`], [`Tx`] |
//! | `shard` | [`Shard`], [`Ring::for_each_shard`] |
//! | `pubsub` | [`Subscription`], [`Message`] |
//! | `shared` | the state behind the mutex: core, reply slots, socket work queue, wake-ups |
//! | `driver` | the driver task: sockets, timer, feeding the core |
//! | `net` | TCP / Unix sockets, error mapping |
//! | `stats` | [`ShardStats`], [`IoStats`] |
#![forbid(unsafe_code)]

mod builder;
mod driver;
mod multi;
mod net;
mod pipeline;
mod pubsub;
mod request;
mod ring;
mod shard;
mod shared;
mod stats;
mod transaction;

pub use builder::{BuildError, RingBuilder, RingOptions};
pub use driver::driver_tasks;
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
pub use redis_ring_core::ring::Event;
pub use redis_ring_core::Error;
