//! [`ShardStats`]: one shard as [`Ring::stats`](crate::Ring::stats) reports it.

use redis_ring_core::error::Error;
use redis_ring_core::ring::ShardState;

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
        }
    }
}

/// What the driver has done so far ([`Ring::io_stats`](crate::Ring::io_stats)): for example
/// `commands / writes` is how many commands share each write (automatic pipelining).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoStats {
    /// Commands handed to the core (pipelines count each command).
    pub commands: u64,
    /// `write` calls on shard sockets.
    pub writes: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// `read` calls on shard sockets that returned data.
    pub reads: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Times the driver task was polled (woken by a caller, a socket or the timer).
    pub wakeups: u64,
}
