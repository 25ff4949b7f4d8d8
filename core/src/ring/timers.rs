//! Time in [`RingCore`]: request deadlines, retry backoffs, connection and heartbeat
//! deadlines, and how a request ends (reply, retry or failure).

use alloc::vec::Vec;

use super::backoff::retry_backoff;
use super::request::Place;
use super::shard::{Probe, ShardSlot};
use super::{Cause, Output, RequestId, RingCore};
use crate::error::{CmdName, Error};
use crate::resp::Value;
use crate::time::Instant;

impl RingCore {
    /// Fails request `id` with `err`, or schedules a retry when `err` is retryable, retries
    /// remain and the backoff ends before the deadline.
    pub(super) fn fail_or_retry(&mut self, id: RequestId, err: Error) {
        let Some(req) = self.reqs.get_mut(id) else {
            return;
        };
        if err.is_retryable() && req.retries < self.config.max_retries {
            let delay = retry_backoff(
                req.retries,
                self.config.min_retry_backoff,
                self.config.max_retry_backoff,
                &mut self.jitter,
            );
            let at = self.now + delay;
            if at < req.deadline {
                req.retries += 1;
                req.place = Place::Retry(at);
                self.retries.push((at, id));
                self.wake = self.wake.min(at);
                self.stats.retries += 1;
                self.observed.retried(req.last_shard);
                return;
            }
        }
        self.complete(id, Err(err));
    }

    pub(super) fn complete(&mut self, id: RequestId, result: Result<Value, Error>) {
        if let Some(req) = self.reqs.remove(id) {
            self.observed
                .ended(req.last_shard, req.started, self.now, &result);
            self.stats.replied += 1;
            self.out.push_back(Output::Reply { id, result });
        }
    }

    /// Runs every timer that is due (the driver's `Timeout`, or any input at a late `now`).
    pub(super) fn run_timers(&mut self) {
        // Subscriptions follow placement, which the last input may have changed.
        self.sync_subscriptions();
        self.window_timer();
        // A pass can make new work due now (a timed-out request triggers a probe); a few
        // passes settle it. Bounded so that a bug cannot spin forever.
        for _ in 0..4 {
            if self.now < self.wake {
                return;
            }
            self.run_timers_once();
        }
    }

    pub(super) fn run_timers_once(&mut self) {
        let now = self.now;
        self.wake = Instant::MAX;
        // Request deadlines: one scan when the earliest may have passed.
        if now >= self.req_wake {
            let mut next = Instant::MAX;
            for i in 0..self.reqs.slot_count() {
                let Some(id) = self.reqs.id_at(i) else {
                    continue;
                };
                let Some(req) = self.reqs.get(id) else {
                    continue;
                };
                if req.deadline <= now {
                    self.time_out(id);
                } else {
                    next = next.min(req.deadline);
                }
            }
            self.req_wake = next;
        }
        self.wake = self.wake.min(self.req_wake);
        // Retries whose backoff ended.
        if !self.retries.is_empty() {
            let mut due = Vec::new();
            let mut next = Instant::MAX;
            self.retries.retain(|&(at, id)| {
                if at <= now {
                    due.push(id);
                    false
                } else {
                    next = next.min(at);
                    true
                }
            });
            self.wake = self.wake.min(next);
            for id in due {
                self.retry(id);
            }
        }
        // Connections: delayed starts and connect/handshake deadlines.
        for i in 0..self.conns.capacity() {
            let Some(id) = self.conns.id_at(i) else {
                continue;
            };
            let Some(c) = self.conns.get(id) else {
                continue;
            };
            let t = c.next_timer();
            if t > now {
                self.wake = self.wake.min(t);
            } else if c.drain_deadline <= now {
                // A removed shard's connection whose replies did not all come in time.
                self.drop_conn(id, &Cause::Removed, false);
            } else if c.start_at.is_some() {
                if let Some(addr) = self.table.get(c.shard).map(|s| s.addr.clone()) {
                    self.start_conn(id, addr);
                }
            } else {
                self.drop_conn(id, &Cause::ConnectTimeout, false);
            }
        }
        // Shards: heartbeat deadlines and schedules.
        for i in 0..self.table.slot_count() {
            let slot = i as ShardSlot;
            let Some(sh) = self.table.get(slot).filter(|sh| !sh.retired) else {
                continue;
            };
            match sh.probe {
                Some(p) if p.deadline <= now => {
                    // Replies still flowing on the probe's connection: the server is busy
                    // working through a backlog ahead of the PING, not hung. Keep waiting.
                    let rx = self.conns.get(p.conn).map(|c| c.io.replies_total);
                    if let Some(rx) = rx.filter(|&rx| rx > p.replies_mark) {
                        let deadline = now + self.config.heartbeat_timeout;
                        if let Some(sh) = self.table.get_mut(slot) {
                            sh.probe = Some(Probe {
                                deadline,
                                replies_mark: rx,
                                ..p
                            });
                        }
                        self.wake = self.wake.min(deadline);
                        continue;
                    }
                    let err = Error::Timeout {
                        shard: Some(sh.name.clone()),
                        addr: Some(sh.addr.clone()),
                        command: self.hb.name(&self.table, slot),
                        after: self.config.heartbeat_timeout,
                    };
                    self.probe_done(slot, Err(err));
                }
                None if sh.next_probe <= now => self.start_probe(slot),
                _ => {}
            }
            if let Some(sh) = self.table.get(slot) {
                self.wake = self.wake.min(sh.next_timer());
            }
        }
    }

    /// Request `id` reached its deadline.
    pub(super) fn time_out(&mut self, id: RequestId) {
        let Some(req) = self.reqs.get(id) else { return };
        let (command, after) = (CmdName::new(req.cmd.name()), req.timeout);
        let (shard, conn) = match req.place {
            Place::Conn(conn, slot) => (Some(slot), Some(conn)),
            Place::Retry(_) => (None, None),
            Place::Parked(slot) => (Some(slot), None),
        };
        let (name, addr) = match shard.and_then(|s| self.table.get(s)) {
            Some(sh) => (Some(sh.name.clone()), Some(sh.addr.clone())),
            None => (None, None),
        };
        self.stats.timeouts += 1;
        let err = Error::Timeout {
            shard: name,
            addr,
            command,
            after,
        };
        // Answered first: closing the connection below must not fail it as `Closed`.
        self.complete(id, Err(err.clone()));
        if let Some(conn) = conn {
            // A dedicated connection with an unanswered command is unusable (blocked, or a
            // transaction in an unknown state): it goes.
            self.dedicated_timed_out(conn, &err);
        }
        if let Some(slot) = shard {
            self.suspect(slot);
        }
    }

    /// Request `id`'s backoff ended: route it again over the shards live now.
    pub(super) fn retry(&mut self, id: RequestId) {
        if self.retry_part(id) || self.retry_pinned(id) || self.retry_window(id) {
            return;
        }
        let Some(req) = self.reqs.get(id) else { return };
        if !matches!(req.place, Place::Retry(_)) {
            return;
        }
        match self.table.route(&req.cmd, &self.config.commands) {
            Ok(shard) => self.dispatch(id, shard),
            // A split command whose keys spread when its shard went down: split it now.
            Err(Error::CrossShard { .. }) if self.convert_to_split(id) => {}
            Err(e) => self.complete(id, Err(e)),
        }
    }
}
