//! [`ShardStats`]: what [`Ring::stats`](crate::Ring::stats) reports per shard;
//! [`IoStats`]: what the I/O thread did ([`Ring::io_stats`](crate::Ring::io_stats)).
//! Both are defined once in the core and shared with the smol driver; the atomic counters
//! the I/O thread bumps are this driver's own.

use std::sync::atomic::{AtomicU64, Ordering};

pub use redis_ring_core::stats::{IoStats, ShardStats};

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
        IoStats::new(
            get(&self.commands),
            get(&self.writes),
            get(&self.bytes_written),
            get(&self.reads),
            get(&self.bytes_read),
            get(&self.wakeups),
        )
    }
}
