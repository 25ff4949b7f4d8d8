//! What a driver's `Ring::stats` and `Ring::io_stats` report: [`ShardStats`] (one shard, from
//! [`RingCore::shards`](crate::RingCore::shards)) and [`IoStats`] (what the driver's socket
//! loop has done). Plain data, defined once here so both drivers report the same thing; the
//! drivers re-export them under the same names.

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

/// What the driver has done since the ring started: shows how well concurrent calls share
/// writes (`commands / writes` is the average number of commands per write: automatic
/// pipelining).
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
    /// Times the driver's I/O loop woke up (a caller, a socket or the timer).
    pub wakeups: u64,
}

impl IoStats {
    /// Builds a snapshot from its counters (for drivers, which cannot use a struct literal
    /// on this `#[non_exhaustive]` type).
    pub fn new(
        commands: u64,
        writes: u64,
        bytes_written: u64,
        reads: u64,
        bytes_read: u64,
        wakeups: u64,
    ) -> IoStats {
        IoStats {
            commands,
            writes,
            bytes_written,
            reads,
            bytes_read,
            wakeups,
        }
    }
}
