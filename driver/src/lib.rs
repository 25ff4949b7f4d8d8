//! # redis-ring-driver
//!
//! The std layer every redis-ring driver shares, between the sans-io
//! [`redis_ring_core`] and a runtime (quinn's `quinn` over `quinn-proto`): the connection
//! pump, reply dispatch to waiting callers, subscriptions and event streams, the builder,
//! stats, the one `io::Error` → `NetError` mapping, address forms and resolution, and the
//! whole public API ([`Ring`], async; [`blocking::Ring`], blocking). A driver crate is a
//! [`Runtime`] implementation and a few type aliases:
//!
//! | driver | runtime | API |
//! |---|---|---|
//! | `redis-ring-smol` | async-io | [`Ring`] |
//! | `redis-ring-std` | its own I/O thread on `mio` ([`IoThread`]) | [`blocking::Ring`] |
//!
//! ```text
//!  callers (tasks or threads)                 driver task (Runtime::spawn)
//!  ─────────────────────────                  ────────────────────────────
//!  ring.get(k)                                 Pump::poll:
//!    first poll: lock ─► core.submit(cmd)        lock
//!                        drain outputs:          start connects (net: resolve, connect,
//!                          Transmit → mark         Runtime::wrap_tcp / wrap_unix)
//!                          take driver waker ──► read readable transports until WouldBlock
//!                  unlock, wake it                 → core.handle_input(Received)
//!    Pending                                     one write per marked connection → Sent
//!                                                deadline passed → Timeout
//!    woken ◄──── Reply → slot's Waker ◄───────   re-arm the timer only if the deadline
//!    poll: take result                           moved; leave the waker; unlock; wake
//! ```
//!
//! A waiting caller is a `Waker` in its reply slot: an async task's, or for a blocking
//! caller one that unparks its thread ([`blocking::block_on`]); one dispatch path serves
//! both. The core sits behind one mutex held for microseconds, never across an await;
//! callers submit under it themselves, so refusals come back at once and `shard_for_key`,
//! `len`, `stats` are synchronous reads.
//!
//! # Modules
//!
//! | module | concern |
//! |---|---|
//! | `runtime` | [`Runtime`], [`AsyncSocket`], [`AsyncTimer`]: what a runtime provides; [`TakeError`] |
//! | `io_thread` | [`IoThread`]: a runtime of its own (one thread waiting on `mio`), for the blocking driver and smol's driver thread |
//! | `net` | address forms, resolution, non-blocking connect, [`net_error`] |
//! | `sentinel` | Sentinel-managed shards: connecting the primary (announced address, then each Sentinel; `ROLE` checked) or a replica for reads; one `+switch-master` watcher per shard |
//! | `replica` | connecting a replica for reads (a plain shard's listed one, or each a Sentinel lists): kept only if `ROLE` says its link is up |
//! | `transport` | a connection's byte stream: the socket, or rustls over it |
//! | `tls` | TLS settings → rustls client configuration, the handshake, TLS errors |
//! | `state` | the shared state: core, transports, reply slots, sinks, batched wake-ups |
//! | `pump` | the driver task: connects, reads, writes, timer |
//! | `request` | request futures (one, or a gathered group), targets |
//! | `ring`, `pipeline`, `shard`, `scan`, `transaction`, `pubsub`, `events` | the async API |
//! | `builder` | [`RingBuilder`], [`BuildError`], seeds |
//! | `convert`, `stats` | reply conversion errors; [`IoStats`], [`ShardStats`] (+ [`ShardCounters`], [`LatencyHistogram`]) |
//! | [`observe`] | the `tracing` and `metrics` features: spans, metrics, their names |
//! | `blocking` | the blocking API over the same calls |
//!
//! # Features
//!
//! Both off by default; every driver crate forwards them under the same names.
//! * `tracing`: one `DEBUG` span per command (or batch) with OpenTelemetry database
//!   semantic-convention fields, shard events at `INFO` / `WARN` ([`observe`]).
//! * `metrics`: `db.client.operation.duration` and shard, connection and in-flight gauges
//!   through the `metrics` facade ([`observe`]).
#![forbid(unsafe_code)]

pub mod blocking;
mod builder;
mod convert;
mod events;
mod io_thread;
mod net;
pub mod observe;
mod pipeline;
mod pubsub;
mod pump;
mod replica;
mod request;
mod ring;
mod runtime;
mod scan;
mod sentinel;
mod shard;
mod state;
mod stats;
mod tls;
mod transaction;
mod transport;

pub use builder::{Async, Blocking, BuildError, Flavor, RingBuilder, RingOptions};
pub use events::{Events, EVENTS_CAPACITY};
pub use io_thread::IoThread;
pub use net::net_error;
pub use pipeline::Pipeline;
pub use pubsub::{Message, Subscription, SUBSCRIPTION_CAPACITY};
pub use pump::driver_tasks;
pub use ring::Ring;
pub use runtime::{AsyncSocket, AsyncTimer, BoxFuture, CallerPoll, Runtime, TakeError};
pub use scan::{Scan, ScanStream};
pub use shard::Shard;
pub use stats::{ErrorCounts, ErrorKind, IoStats, LatencyHistogram, ShardCounters, ShardStats};
pub use tls::TlsSettings;
pub use transaction::{Tx, TRANSACTION_ATTEMPTS};

pub use redis_ring_core as core;
pub use redis_ring_core::command::{cmds, Cmd, FromValue, FromValueError, ToArg};
pub use redis_ring_core::config::{Config, ConnOptions, Protocol, TlsOptions};
pub use redis_ring_core::error::{NetError, TlsError};
pub use redis_ring_core::placement::Algorithm;
pub use redis_ring_core::resp::Value;
pub use redis_ring_core::ring::Event;
pub use redis_ring_core::Error;
