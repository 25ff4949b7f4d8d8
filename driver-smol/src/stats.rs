//! [`ShardStats`]: one shard as [`Ring::stats`](crate::Ring::stats) reports it;
//! [`IoStats`]: what the driver task has done ([`Ring::io_stats`](crate::Ring::io_stats)).
//! Both are defined once in the core and shared with the std driver.

pub use redis_ring_core::stats::{IoStats, ShardStats};
