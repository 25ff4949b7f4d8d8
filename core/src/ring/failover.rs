//! Sentinel-managed shards ([`Endpoint::Sentinel`](crate::config::Endpoint::Sentinel)) while
//! their primary is replaced: *failing over*, never *down*.
//!
//! How this meets liveness and the failure policy:
//! * Liveness: a failed heartbeat of such a shard is remembered (`last_error`) but never
//!   counted, so the shard never goes down (module `health`). The Sentinels decide when a
//!   primary is replaced; remapping its keys onto other shards meanwhile would split them.
//! * Failure policy: neither applies. Under `Rehash` its keys stay with it (it never leaves
//!   the placement); under `FailFast` it is never refused as down; `Rejoin::Flush` never
//!   flushes it (it never goes down).
//! * Commands wait instead: while connects fail (the Sentinels still name the old primary,
//!   or it is not reachable), a command is not failed fast with the connect error as on a
//!   plain shard. It queues on the next connection attempt, made after a short pause
//!   ([`FAILOVER_PAUSE`] at most); one that was never written when an attempt fails waits
//!   for the next, without using a retry. Each command is bounded by its own timeout
//!   (`Error::Timeout`). A command written before the primary went follows the ordinary
//!   rules (re-sent if it may be, else `Error::MayHaveRun`). Not when the Sentinels refused
//!   the credentials for them (`NetError::SentinelAuth`): that is a configuration error,
//!   not a failover, so commands fail fast with it as on a plain shard.
//! * A demoted primary (a `READONLY` reply, or `ROLE` saying replica): its shared
//!   connection is *drained*, not closed. It takes no new command (the next one opens a
//!   connection, which asks the Sentinels again), the replies it still owes arrive and it
//!   closes when it owes none (or after the command timeout). The `READONLY` command itself
//!   did not run, so it is retried (`READONLY` is a retryable error), on the new primary.

use super::request::Place;
use super::shard::ShardSlot;
use super::{Cause, ConnId, Event, Output, RequestId, RingCore};
use crate::error::{CmdName, Error};
use crate::time::{Duration, Instant};

/// The longest pause between two connection attempts of a failing-over shard: each one
/// asks the Sentinels, so the new primary is found within this of its promotion.
pub(super) const FAILOVER_PAUSE: Duration = Duration::from_millis(100);

impl RingCore {
    /// `conn`, a Sentinel shard's shared connection, talks to a primary that was demoted:
    /// it takes no new command and closes once it owes no reply.
    pub(super) fn drain_demoted(&mut self, conn: ConnId) {
        let timeout = self.config.command_timeout;
        let Some(c) = self.conns.get_mut(conn) else {
            return;
        };
        let slot = c.shard;
        let first = c.drain_deadline == Instant::MAX;
        if first {
            c.drain_deadline = self.now + timeout;
            self.wake = self.wake.min(c.drain_deadline);
        }
        let idle = c.io.pending() == 0;
        if first {
            self.stats.demoted += 1;
            self.observed.add(slot, |c| &mut c.demoted);
            let reason = self.table.get(slot).map(|sh| Error::Server {
                shard: sh.name.clone(),
                addr: sh.addr.clone(),
                command: CmdName::new(b"ROLE"),
                message: "the primary was demoted (a READONLY reply, or ROLE says replica)".into(),
            });
            if let Some(reason) = reason {
                self.failing_over_now(slot, reason);
            }
        }
        if let Some(sh) = self.table.get_mut(slot) {
            if sh.main == Some(conn) {
                sh.main = None;
            }
        }
        if idle {
            // Nothing pending: the cause names no request.
            self.drop_conn(conn, &Cause::Removed, false);
        }
    }

    /// Request `id`, never written to `slot` (failing over), is queued again for the shard's
    /// next connection attempt.
    pub(super) fn wait_failover(&mut self, id: RequestId, slot: ShardSlot) {
        let at = self.table.get(slot).map_or(self.now, |sh| sh.next_connect);
        let at = at.max(self.now);
        let Some(req) = self.reqs.get_mut(id) else {
            return;
        };
        req.place = Place::Retry(at);
        self.retries.push((at, id));
        self.wake = self.wake.min(at);
        self.stats.failover_waits += 1;
        self.observed.add(slot, |c| &mut c.failover_waits);
    }

    /// Sentinel shard `slot` lost its primary for `reason`: [`Event::FailingOver`], once per
    /// failover.
    pub(super) fn failing_over_now(&mut self, slot: ShardSlot, reason: Error) {
        let Some(sh) = self.table.get_mut(slot).filter(|sh| sh.sentinel()) else {
            return;
        };
        if sh.failing_over || sh.retired {
            return;
        }
        sh.failing_over = true;
        let (name, addr) = (sh.name.clone(), sh.addr.clone());
        self.out
            .push_back(Output::Event(Event::FailingOver { name, addr, reason }));
    }

    /// Sentinel shard `slot`'s primary connection is ready: [`Event::Switched`] if it was
    /// failing over.
    pub(super) fn served_again(&mut self, slot: ShardSlot) {
        let Some(sh) = self.table.get_mut(slot).filter(|sh| sh.failing_over) else {
            return;
        };
        sh.failing_over = false;
        let (name, addr) = (sh.name.clone(), sh.addr.clone());
        self.out
            .push_back(Output::Event(Event::Switched { name, addr }));
    }

    /// Whether `slot` is Sentinel-managed (failing over, never down).
    pub(super) fn failing_over(&self, slot: ShardSlot) -> bool {
        self.table
            .get(slot)
            .is_some_and(super::shard::Shard::sentinel)
    }
}
