//! What a driver's `Ring::stats` reports: [`ShardStats`] (one shard, from
//! [`RingCore::shards`](crate::RingCore::shards)) with its [`ShardCounters`] and
//! [`LatencyHistogram`]. Plain data, defined once here; the driver layer re-exports it (its
//! own `IoStats` counts what its socket pump did).

use alloc::string::{String, ToString};

use crate::error::Error;
use crate::ring::ShardState;
use crate::time::{Duration, Instant};

mod counters;
mod histogram;

pub use counters::{ErrorCounts, ErrorKind, ShardCounters};
pub use histogram::LatencyHistogram;

/// One shard's state and counters.
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
    /// Of `in_flight`, those still waiting for the connection (opening, handshake).
    pub queued: usize,
    /// How long the shard has been in its state (up or down): since it joined, or since
    /// its last transition.
    pub since_transition: Duration,
    /// The last error seen on it (connection, handshake or heartbeat).
    pub last_error: Option<Error>,
    /// The last error a command got on it (it names the command).
    pub last_command_error: Option<Error>,
    /// Counters since the shard joined the ring (monotonic).
    pub counters: ShardCounters,
}

impl ShardStats {
    /// `state` as seen at `now` (the core's clock: `since_transition` is measured to it).
    pub fn at(state: ShardState, now: Instant) -> ShardStats {
        let since_transition = now.saturating_duration_since(state.since);
        ShardStats {
            since_transition,
            ..ShardStats::from(state)
        }
    }
}

impl From<ShardState> for ShardStats {
    fn from(s: ShardState) -> ShardStats {
        ShardStats {
            name: s.name.to_string(),
            addr: s.addr.to_string(),
            up: s.up,
            failures: s.failures,
            in_flight: s.pending,
            queued: s.queued,
            since_transition: Duration::ZERO,
            last_error: s.last_error,
            last_command_error: s.last_command_error,
            counters: s.counters,
        }
    }
}
