//! Heartbeats and probes of [`RingCore`]: when a shard is probed, what a result does to its
//! liveness, the events and placement rebuilds that follow.

use super::backoff::reconnect_backoff;
use super::shard::{Probe, ShardSlot};
use super::{Cause, Event, Output, RingCore, Tag};
use crate::error::{CmdName, Error};
use crate::liveness::Transition;
use crate::time::Instant;

impl RingCore {
    /// A real command saw the shard misbehave: probe it now (once; a probe in flight or a
    /// down shard's own schedule is left alone).
    pub(super) fn suspect(&mut self, slot: ShardSlot) {
        let now = self.now;
        if let Some(sh) = self.table.get_mut(slot) {
            if sh.liveness.is_up() && sh.probe.is_none() {
                sh.next_probe = sh.next_probe.min(now);
                self.wake = self.wake.min(now);
            }
        }
    }

    pub(super) fn start_probe(&mut self, slot: ShardSlot) {
        let conn = match self.table.get(slot).and_then(|s| s.main) {
            Some(conn) => {
                // A connection held back by a reconnect pause is opened now.
                if self.conns.get(conn).is_some_and(|c| c.start_at.is_some()) {
                    let addr = self.table.get(slot).map(|s| s.addr.clone());
                    if let Some(addr) = addr {
                        self.start_conn(conn, addr);
                    }
                }
                conn
            }
            None => self.open_conn(slot, self.now),
        };
        let deadline = self.now + self.config.heartbeat_timeout;
        let replies_mark = self.conns.get(conn).map_or(0, |c| c.io.replies_total);
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        sh.probe_seq = sh.probe_seq.wrapping_add(1);
        let seq = sh.probe_seq;
        sh.probe = Some(Probe {
            seq,
            conn,
            deadline,
            replies_mark,
        });
        sh.next_probe = Instant::MAX;
        self.stats.probes += 1;
        self.wake = self.wake.min(deadline);
        self.check_replica(slot);
        if let Some(c) = self.conns.get_mut(conn) {
            let cmd = self.hb.cmd(&self.table, slot);
            if c.io.push(Tag::Probe(slot, seq), cmd) {
                Self::mark_tx(&mut self.tx, conn, c);
            }
        }
    }

    /// Records a heartbeat result, schedules the next one, applies a transition.
    pub(super) fn probe_done(&mut self, slot: ShardSlot, result: Result<(), Error>) {
        let now = self.now;
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        sh.probe = None;
        let failed = result.is_err();
        let failing_over = sh.sentinel();
        let mut demoted = false;
        let transition = match result {
            Ok(()) => sh.liveness.record_success(),
            // A Sentinel-managed shard whose primary does not answer is failing over, not
            // dead: the Sentinels decide when a primary is replaced, and remapping its keys
            // onto other shards meanwhile would split them. It stays in the placement; its
            // commands fail fast with the connection error until a connect (which asks the
            // Sentinels again) reaches the new primary.
            Err(e) if failing_over => {
                demoted = matches!(&e, Error::Server { command, .. } if command.as_str() == "ROLE");
                sh.last_error = Some(e);
                None
            }
            Err(e) => {
                sh.last_error = Some(e);
                sh.liveness.record_failure()
            }
        };
        self.rejoin_rule(slot, !failed, transition);
        let cfg = &self.config;
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        let delay = if sh.liveness.is_up() && !sh.liveness.is_suspect() {
            cfg.heartbeat_interval
        } else if sh.liveness.is_up() || !failed {
            cfg.probe_interval
        } else {
            reconnect_backoff(
                sh.liveness.failures_while_down(),
                cfg.probe_interval,
                cfg.max_reconnect_backoff,
                &mut self.jitter,
            )
        };
        sh.next_probe = now + delay;
        self.wake = self.wake.min(sh.next_probe);
        let (name, addr, down, reason) = (
            sh.name.clone(),
            sh.addr.clone(),
            !sh.liveness.is_up(),
            sh.last_error.clone(),
        );
        if transition.is_some() {
            self.observed.transition(slot, now);
        }
        match transition {
            Some(Transition::Up) => {
                self.table.rebuild(&self.config.placement);
                self.out
                    .push_back(Output::Event(Event::ShardUp { name, addr }));
            }
            Some(Transition::Down) => {
                self.table.rebuild(&self.config.placement);
                let reason = reason.unwrap_or(Error::ShardDown {
                    shard: name.clone(),
                    addr: addr.clone(),
                    command: CmdName::new(b"PING"),
                });
                self.out
                    .push_back(Output::Event(Event::ShardDown { name, addr, reason }));
            }
            None => {}
        }
        if demoted {
            // Connected to a primary the Sentinels replaced: drain that connection; the next
            // one asks them again (module `failover`).
            if let Some(conn) = self.table.get(slot).and_then(|sh| sh.main) {
                self.drain_demoted(conn);
            }
        }
        if down && failed {
            // A down shard gets a fresh connection for each probe: the old one may be stuck.
            self.close_shard_conns(slot, &Cause::ShardDown);
        }
    }
}
