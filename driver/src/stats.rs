//! [`ShardStats`]: one shard as `Ring::stats` reports it (plain data from the core);
//! [`IoStats`]: what the driver task has done (`Ring::io_stats`), counted by the pump.

pub use redis_ring_core::stats::{
    ErrorCounts, ErrorKind, LatencyHistogram, ShardCounters, ShardStats,
};

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
    /// Times the driver task ran (woken by a caller, a socket or the timer).
    pub wakeups: u64,
}
