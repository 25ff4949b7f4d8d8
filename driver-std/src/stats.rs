//! [`ShardStats`]: what [`Ring::stats`](crate::Ring::stats) reports per shard;
//! [`IoStats`]: what the I/O thread did ([`Ring::io_stats`](crate::Ring::io_stats)).

use std::sync::atomic::{AtomicU64, Ordering};

use redis_ring_core::ring::ShardState;
use redis_ring_core::Error;

/// One shard's state.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ShardStats {
    /// The shard's name.
    pub name: String,
    /// The shard's address (`host:port`).
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

/// What the I/O thread has done since the ring started: shows how well concurrent calls
/// share writes (`commands / writes` is the average number of commands per write).
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
    /// Times the I/O thread woke from waiting.
    pub wakeups: u64,
}

/// The counters behind [`IoStats`], bumped by the I/O thread (relaxed: they are statistics).
#[derive(Debug, Default)]
pub(crate) struct IoCounters {
    pub(crate) commands: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) reads: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) wakeups: AtomicU64,
}

impl IoCounters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> IoStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        IoStats {
            commands: get(&self.commands),
            writes: get(&self.writes),
            bytes_written: get(&self.bytes_written),
            reads: get(&self.reads),
            bytes_read: get(&self.bytes_read),
            wakeups: get(&self.wakeups),
        }
    }
}
