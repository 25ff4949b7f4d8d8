//! What a driver's `Ring::stats` reports: [`ShardStats`] (one shard, from
//! [`RingCore::shards`](crate::RingCore::shards)). Plain data, defined once here; the
//! driver layer re-exports it (its own `IoStats` counts what its socket pump did).

use alloc::string::{String, ToString};

use crate::error::Error;
use crate::ring::ShardState;

/// One shard's state.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ShardStats {
    /// The shard's name.
    pub name: String,
    /// The shard's address (`host:port`, never a password).
    pub addr: String,
    /// Whether it is up (in the placement).
    pub up: bool,
    /// Consecutive failed heartbeats.
    pub failures: u32,
    /// Commands queued or in flight on its connection.
    pub in_flight: usize,
    /// The last error seen on it (connection, handshake or heartbeat).
    pub last_error: Option<Error>,
    /// Bytes of commands not yet written to its socket (bounded by `Config::queue_limit`).
    pub queued_bytes: usize,
    /// Requests waiting for room in its queue (`WhenFull::Wait`; an upper bound).
    pub parked: usize,
}

impl From<ShardState> for ShardStats {
    fn from(s: ShardState) -> ShardStats {
        ShardStats {
            name: s.name.to_string(),
            addr: s.addr.to_string(),
            up: s.up,
            failures: s.failures,
            in_flight: s.pending,
            last_error: s.last_error,
            queued_bytes: s.queued_bytes,
            parked: s.parked,
        }
    }
}
