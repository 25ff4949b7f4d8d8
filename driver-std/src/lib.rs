//! # redis-ring-std
//!
//! The blocking redis-ring client: std::net sockets and threads around the sans-io
//! [`redis_ring_core`] state machine. (Being built; see the driver-std issue.)
#![forbid(unsafe_code)]

pub use redis_ring_core as core;
