//! Test support for redis-ring.
//!
//! * [`harness`]: starts real `redis-server` processes on free loopback ports and can kill,
//!   restart, shut down, pause and resume them. Every process dies with its handle.
//! * [`sim`]: a deterministic simulator of the ring client (fake shards, simulated network,
//!   faults, invariants), seeded and replayable.
//! * [`scenarios`]: the shared end-to-end scenario suite every driver runs unchanged
//!   ([`scenarios::RingUnderTest`], [`scenario_tests!`]).
//! * [`hostile`]: a TCP server that completes the Redis handshake, then misbehaves on
//!   purpose (garbage, huge lengths, deep nesting, trickles, silence, floods...), and the
//!   hostile-peer scenarios every driver runs ([`hostile_tests!`]).
//! * [`proxy`]: a TCP proxy that forwards a command, withholds its reply and closes the
//!   connection (a command that ran, whose caller never heard back).
//! * [`tls`]: certificates made at test time, and the suite's TLS mode.
//! * [`async_adapter`]: the one adapter of every async driver (`Ring<Rt>` over any runtime)
//!   to both suites; a driver's tests only describe their runtime ([`async_adapter::AsyncRuntime`]).
//! * [`instrumentation`]: the `tracing`/`metrics` checks every driver runs with those features.
//! * [`mini_driver`]: the smallest blocking driver loop of `RingCore`, for the core's
//!   real-Redis tests.
//!
//! Other test crates (the drivers', the CLI's) depend on this crate as a dev-dependency.

pub mod async_adapter;
pub mod fuzz_checks;
pub mod harness;
pub mod hostile;
pub mod instrumentation;
pub mod mini_driver;
pub mod proxy;
pub mod scenarios;
pub mod sim;
pub mod tls;

pub use harness::{RedisServer, SentinelShards, ServerOptions, Shards};
