//! Replica reads of Sentinel-managed shards ([`ReadFrom`]): which connection a read-only
//! command goes to. A shard has at most one replica connection (`Shard::replica`), opened
//! on the first read; the driver picks the replica (`Output::Connect { replica: true }`).
//! Its failures never count against the shard's health: a replica that cannot be reached
//! is looked for again after a reconnect pause, and meanwhile `PreferReplica` reads go to
//! the primary while `Replica` reads wait on the next attempts (each failed one uses a retry;
//! then they fail with the replica's connect error).
//!
//! Lag: with every heartbeat of the shard (`ROLE` on the primary, which reports its
//! replication offset) the replica connection gets a `ROLE` too. A replica whose link to the
//! primary is not up, or that is more than `Config::max_replica_lag` bytes behind the
//! primary's last offset, stops taking reads at once: its connection drains (the reads it
//! holds get their replies) and another replica is looked for after a reconnect pause.

use super::backoff::reconnect_backoff;
use super::{Cause, ConnId, RequestId, RingCore, ShardSlot, Tag};
use crate::command::lookup;
use crate::config::sentinel::replica_lag;
use crate::config::ReadFrom;
use crate::conn::State;
use crate::error::CmdName;
use crate::error::Error;
use crate::resp::Value;

impl RingCore {
    /// Where request `id` goes on `slot` when a replica should take it: `None` for the
    /// primary (a write, a plain shard, `ReadFrom::Primary`, or no replica at hand under
    /// `PreferReplica`).
    pub(super) fn replica_for(
        &mut self,
        id: RequestId,
        slot: ShardSlot,
    ) -> Option<Result<ConnId, Error>> {
        let mode = self.config.read_from;
        if mode == ReadFrom::Primary {
            return None;
        }
        let sh = self.table.get(slot).filter(|sh| sh.sentinel())?;
        let req = self.reqs.get(id)?;
        if !lookup(&req.cmd).is_some_and(|c| c.is_read_only()) {
            return None;
        }
        let trusted = sh.replica_failures == 0;
        if let Some(conn) = sh.replica {
            let ready = self
                .conns
                .get(conn)
                .is_some_and(|c| c.io.state() == State::Ready);
            if trusted || ready || mode == ReadFrom::Replica {
                return Some(Ok(conn));
            }
            return None;
        }
        if trusted || mode == ReadFrom::Replica {
            let at = sh.replica_next.max(self.now);
            return Some(Ok(self.open_shared(slot, at, true)));
        }
        // A replica failed before: look again in the background when due, reads meanwhile
        // to the primary.
        if self.now >= sh.replica_next {
            self.open_shared(slot, self.now, true);
        }
        None
    }

    /// Sends the lag check on `slot`'s replica connection (with the shard's heartbeat), if
    /// one is up and none is outstanding.
    pub(super) fn check_replica(&mut self, slot: ShardSlot) {
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        let Some(conn) = sh.replica.filter(|_| !sh.lag_check) else {
            return;
        };
        let Some(c) = self.conns.get_mut(conn) else {
            return;
        };
        if c.io.state() != State::Ready {
            return;
        }
        sh.lag_check = true;
        if c.io.push(Tag::Lag(slot), &self.hb.role) {
            Self::mark_tx(&mut self.tx, conn, c);
        }
    }

    /// Judges the lag check's `reply` on replica connection `conn`.
    pub(super) fn replica_checked(&mut self, conn: ConnId, reply: &Value) {
        let max = self.config.max_replica_lag;
        let Some(slot) = self.conns.get(conn).map(|c| c.shard) else {
            return;
        };
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        if sh.replica != Some(conn) {
            return;
        }
        sh.lag_check = false;
        let message = match replica_lag(reply, sh.primary_offset) {
            Some(lag) if lag <= max => return,
            Some(lag) => alloc::format!(
                "replica {lag} bytes behind its primary (more than max_replica_lag {max})"
            ),
            None => "replica not following its primary (ROLE: link down or not a replica)".into(),
        };
        sh.replica_error = Some(Error::Server {
            shard: sh.name.clone(),
            addr: sh.addr.clone(),
            command: CmdName::new(b"ROLE"),
            message,
        });
        sh.replica = None;
        sh.replica_failures = sh.replica_failures.saturating_add(1);
        let pause = reconnect_backoff(
            sh.replica_failures - 1,
            self.config.probe_interval,
            self.config.max_reconnect_backoff,
            &mut self.jitter,
        );
        sh.replica_next = self.now + pause;
        self.stats.replicas_skipped += 1;
        // Drained like a demoted primary: what it holds is answered, nothing new goes there.
        let timeout = self.config.command_timeout;
        if let Some(c) = self.conns.get_mut(conn) {
            c.drain_deadline = self.now + timeout;
            self.wake = self.wake.min(c.drain_deadline);
            if c.io.pending() == 0 {
                self.drop_conn(conn, &Cause::Removed, false);
            }
        }
    }
}
