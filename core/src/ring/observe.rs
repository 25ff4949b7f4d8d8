//! Per-shard observation: [`ShardCounters`], the instant of the last up/down transition and
//! the last error a command got, kept beside the shard table (by the same slot) so that the
//! reply path can count while it borrows the table. Counting is a few integer additions and
//! one histogram bucket per ended request: no allocation (an error is cloned only on the
//! error path).

use alloc::vec::Vec;

use super::shard::ShardSlot;
use crate::error::Error;
use crate::resp::Value;
use crate::stats::ShardCounters;
use crate::time::Instant;

/// One shard's observations.
#[derive(Debug, Default)]
pub(crate) struct ShardObs {
    pub(crate) counters: ShardCounters,
    /// When the shard joined, or last went up or down.
    pub(crate) since: Instant,
    pub(crate) last_command_error: Option<Error>,
}

/// Observations by shard slot.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    shards: Vec<ShardObs>,
}

impl Observed {
    /// A shard took `slot` at `now`: fresh counters.
    pub(crate) fn joined(&mut self, slot: ShardSlot, now: Instant) {
        let i = slot as usize;
        if self.shards.len() <= i {
            self.shards.resize_with(i + 1, ShardObs::default);
        }
        self.shards[i] = ShardObs {
            since: now,
            ..ShardObs::default()
        };
    }

    pub(crate) fn get(&self, slot: ShardSlot) -> Option<&ShardObs> {
        self.shards.get(slot as usize)
    }

    fn counters(&mut self, slot: ShardSlot) -> Option<&mut ShardCounters> {
        self.shards.get_mut(slot as usize).map(|o| &mut o.counters)
    }

    /// A request submitted at `started` ended at `now` on `slot` (its last shard) with
    /// `result`.
    pub(crate) fn ended(
        &mut self,
        slot: Option<ShardSlot>,
        started: Instant,
        now: Instant,
        result: &Result<Value, Error>,
    ) {
        let Some(o) = slot.and_then(|s| self.shards.get_mut(s as usize)) else {
            return;
        };
        let error = result.as_ref().err();
        o.counters
            .ended(now.saturating_duration_since(started), error);
        if let Some(e) = error {
            o.last_command_error = Some(e.clone());
        }
    }

    /// Counts one more of a per-shard failover counter of `slot` (`demoted`,
    /// `failover_waits`, `replicas_skipped`: `which` picks it).
    pub(crate) fn add(&mut self, slot: ShardSlot, which: fn(&mut ShardCounters) -> &mut u64) {
        if let Some(c) = self.counters(slot) {
            *which(c) += 1;
        }
    }

    /// A request that failed on `slot` is retried.
    pub(crate) fn retried(&mut self, slot: Option<ShardSlot>) {
        if let Some(c) = slot.and_then(|s| self.counters(s)) {
            c.retries += 1;
        }
    }

    pub(crate) fn connected(&mut self, slot: ShardSlot) {
        if let Some(c) = self.counters(slot) {
            c.connects += 1;
        }
    }

    pub(crate) fn bytes_in(&mut self, slot: ShardSlot, n: usize) {
        if let Some(c) = self.counters(slot) {
            c.bytes_in += n as u64;
        }
    }

    pub(crate) fn bytes_out(&mut self, slot: ShardSlot, n: usize) {
        if let Some(c) = self.counters(slot) {
            c.bytes_out += n as u64;
        }
    }

    /// The shard went up or down at `now`.
    pub(crate) fn transition(&mut self, slot: ShardSlot, now: Instant) {
        if let Some(o) = self.shards.get_mut(slot as usize) {
            o.counters.transitions += 1;
            o.since = now;
        }
    }
}
