//! # redis-ring-core
//!
//! The sans-io heart of redis-ring: everything a ring client of several independent Redis
//! servers needs, except sockets and clocks.
//!
//! * [`resp`]: the RESP2/RESP3 codec (streaming decoder, command encoder).
//! * [`placement`]: which shard owns a key (go-redis v9 compatible rendezvous by default).
//! * [`command`]: commands, argument conversions and the key-spec table.
//! * [`ring`]: [`RingCore`], the whole client as a sans-io state machine ([`config`],
//!   [`error`]).
//! * [`time`]: the core's own `Instant`; the core never reads a clock, callers pass `now`.
//!
//! The crate is `#![no_std]` + `alloc` and contains no `unsafe` code.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod command;
pub mod config;
mod conn;
pub mod error;
mod liveness;
pub mod placement;
pub mod resp;
pub mod ring;
pub mod stats;
pub mod time;

pub use config::Config;
pub use error::Error;
pub use ring::{ConnId, Event, Input, Output, RequestId, RingCore};
