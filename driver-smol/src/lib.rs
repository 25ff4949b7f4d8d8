//! # redis-ring-smol
//!
//! The async redis-ring client: smol / async-io sockets and timers around the sans-io
//! [`redis_ring_core`] state machine. (Being built; see the driver-smol issue.)
#![forbid(unsafe_code)]

pub use redis_ring_core as core;
