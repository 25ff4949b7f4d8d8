//! Replica reads ([`ReadFrom`]) of Sentinel-managed shards and of plain shards that list
//! their replicas (`ShardSpec::replicas`): which connection a read-only command goes to. A
//! shard has at most one replica connection (`Shard::replica`), opened on the first read
//! (`Output::Connect { replica: true }`): for a Sentinel shard the driver picks the
//! replica the Sentinels list; for a plain shard the core names one of its listed replicas
//! (`Shard::replica_pick`, moved on to the next whenever the one in use fails or is
//! skipped). Either way the driver checks `ROLE` before the handshake (a replica with its
//! link up), in one place for both.
//! Its failures never count against the shard's health: a replica that cannot be reached
//! is looked for again after a reconnect pause, and meanwhile `PreferReplica` reads go to
//! the primary while `Replica` reads wait on the next attempts (each failed one uses a retry;
//! then they fail with the replica's connect error).
//!
//! Lag: with every heartbeat of the shard the primary's replication offset is asked for
//! (`ROLE`: a Sentinel shard's heartbeat is `ROLE` already; a plain shard keeps its own
//! heartbeat and gets a `ROLE` beside it, `Tag::Offset`) and the replica connection gets a
//! `ROLE` too. A replica whose link to the
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
        let sh = self.table.get(slot).filter(|sh| sh.has_replicas())?;
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
        let offset_on = (!sh.sentinel()).then_some(sh.main).flatten();
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
        // A plain shard's heartbeat is not `ROLE`: the primary's offset is asked beside it.
        if let Some(main) = offset_on {
            if let Some(c) = self.conns.get_mut(main) {
                if c.io.push(Tag::Offset(slot), &self.hb.role) {
                    Self::mark_tx(&mut self.tx, main, c);
                }
            }
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
        sh.replica_pick = sh.replica_pick.wrapping_add(1);
        sh.replica_failures = sh.replica_failures.saturating_add(1);
        let pause = reconnect_backoff(
            sh.replica_failures - 1,
            self.config.probe_interval,
            self.config.max_reconnect_backoff,
            &mut self.jitter,
        );
        sh.replica_next = self.now + pause;
        self.stats.replicas_skipped += 1;
        self.observed.add(slot, |c| &mut c.replicas_skipped);
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
