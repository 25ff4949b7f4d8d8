//! The connection side of [`RingCore`]: opening shared connections, queueing requests on
//! them, handshake completion, decoding replies, and dropping a connection with everything
//! pending on it.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;

use super::backoff::reconnect_backoff;
use super::conns::ConnSlot;
use super::dedicated::ConnKind;
use super::policy;
use super::request::Place;
use super::shard::ShardSlot;
use super::{Cause, ConnId, Deferred, Output, RequestId, RingCore, Tag};
use crate::config::sentinel::{parse_role, primary_offset, Role};
use crate::config::Endpoint;
use crate::conn::{Conn, Failure, Received, State};
use crate::error::{CmdName, Error, NetError};
use crate::time::Instant;

impl RingCore {
    /// Closes every connection of a shard (the core's decision), failing what is pending.
    pub(super) fn close_shard_conns(&mut self, slot: ShardSlot, cause: &Cause) {
        for i in 0..self.conns.capacity() {
            if let Some(id) = self.conns.id_at(i) {
                if self.conns.get(id).is_some_and(|c| c.shard == slot) {
                    self.drop_conn(id, cause, false);
                }
            }
        }
    }

    /// Queues request `id` on `shard`'s shared connection (or fails it fast).
    pub(super) fn dispatch(&mut self, id: RequestId, shard: ShardSlot) {
        if let Some(req) = self.reqs.get_mut(id) {
            req.last_shard = Some(shard);
        }
        if let Some(e) = self.down_refusal(id, shard) {
            return self.complete(id, Err(e));
        }
        let conn = match self
            .replica_for(id, shard)
            .unwrap_or_else(|| self.conn_for(shard))
        {
            Ok(conn) => conn,
            Err(e) => {
                let name = self.command_name(id);
                self.fail_or_retry(id, e.for_command(name));
                return;
            }
        };
        if self.held_back(id, shard, conn) {
            return;
        }
        let Some(req) = self.reqs.get_mut(id) else {
            return;
        };
        req.place = Place::Conn(conn, shard);
        let Some(c) = self.conns.get_mut(conn) else {
            return;
        };
        if c.io.push_shared(Tag::Req(id), &mut req.cmd) {
            Self::mark_tx(&mut self.tx, conn, c);
        }
    }

    /// The shard's shared connection, opened if needed; fails fast while the shard's last
    /// connection attempts failed and none is in progress.
    pub(super) fn conn_for(&mut self, slot: ShardSlot) -> Result<ConnId, Error> {
        let Some(sh) = self.table.get(slot) else {
            return Err(Error::NoShards {
                command: CmdName::new(b"?"),
            });
        };
        if let Some(conn) = sh.main {
            return Ok(conn);
        }
        // A failing-over shard never fails fast: its commands wait for the next attempt
        // (unless its Sentinels refused the credentials: no failover mends that).
        if sh.connect_failures > 0 && (!sh.sentinel() || sh.sentinels_refused()) {
            return Err(sh.last_error.clone().unwrap_or(Error::Connect {
                shard: sh.name.clone(),
                addr: sh.addr.clone(),
                command: CmdName::new(b"?"),
                cause: NetError::Other,
            }));
        }
        let at = sh.next_connect.max(self.now);
        Ok(self.open_conn(slot, at))
    }

    /// Opens (now or at `at`) the shared connection of a shard.
    pub(super) fn open_conn(&mut self, slot: ShardSlot, at: Instant) -> ConnId {
        self.open_shared(slot, at, false)
    }

    /// Opens (now or at `at`) the shared connection of a shard to its primary, or the one
    /// to a replica (module `replica`).
    pub(super) fn open_shared(&mut self, slot: ShardSlot, at: Instant, replica: bool) -> ConnId {
        let Some(sh) = self.table.get(slot) else {
            return ConnId::new(u32::MAX, u32::MAX);
        };
        let (opts, addr) = (sh.opts.clone(), sh.addr.clone());
        let io = Conn::new(opts, self.config.limits, self.config.max_reply_len);
        let id = self.conns.insert(ConnSlot {
            shard: slot,
            io,
            start_at: Some(at),
            deadline: Instant::MAX,
            kind: ConnKind::Shared,
            drain_deadline: Instant::MAX,
        });
        if let Some(sh) = self.table.get_mut(slot) {
            if replica {
                sh.replica = Some(id);
            } else {
                sh.main = Some(id);
            }
        }
        if at <= self.now {
            self.start_conn(id, addr);
        } else {
            self.wake = self.wake.min(at);
        }
        id
    }

    /// Emits `Connect` for a connection created with a delay.
    pub(super) fn start_conn(&mut self, id: ConnId, addr: Arc<str>) {
        let deadline = self.now + self.config.connect_timeout;
        if let Some(c) = self.conns.get_mut(id) {
            c.start_at = None;
            c.deadline = deadline;
            self.stats.connects += 1;
            self.observed.connected(c.shard);
            self.wake = self.wake.min(deadline);
            let spec = self.table.get(c.shard).map(|sh| sh.spec.clone());
            let replica = self
                .table
                .get(c.shard)
                .is_some_and(|sh| sh.replica == Some(id));
            let pick = self.table.get(c.shard).map_or(0, |sh| sh.replica_pick);
            let (endpoint, addr) = match spec.as_deref() {
                None => (Endpoint::Other(String::from(&*addr)), addr),
                // A plain shard's listed replica (module `replica`): the core names it.
                Some(sp) if replica && !sp.replicas.is_empty() => {
                    let r = &sp.replicas[pick % sp.replicas.len()];
                    (r.clone(), Arc::from(alloc::format!("{r}").as_str()))
                }
                Some(sp) => (sp.endpoint.clone(), addr),
            };
            let tls = match (spec.and_then(|sp| sp.tls.clone()), &self.config.tls) {
                // A `rediss://` shard without settings of its own takes the ring's.
                (Some(mut own), Some(ring)) => {
                    if own.settings.is_none() {
                        own.settings.clone_from(&ring.settings);
                    }
                    if own.server_name.is_none() {
                        own.server_name.clone_from(&ring.server_name);
                    }
                    Some(own)
                }
                (own, ring) => own.or_else(|| ring.clone()),
            };
            self.out.push_back(Output::Connect {
                conn: id,
                addr,
                endpoint,
                tls,
                replica,
            });
        }
    }

    pub(super) fn mark_tx(tx: &mut VecDeque<ConnId>, id: ConnId, c: &mut ConnSlot) {
        if !c.io.tx_queued && c.is_connected() && c.io.send_len() > 0 {
            c.io.tx_queued = true;
            tx.push_back(id);
        }
    }

    pub(super) fn on_connected(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id) else {
            return;
        };
        if c.start_at.is_some() || c.io.state() != State::Connecting {
            return;
        }
        let ready = c.io.on_connected();
        Self::mark_tx(&mut self.tx, id, c);
        if ready {
            self.on_ready(id);
        }
    }

    /// The handshake is done: send what was waiting, and reset the shard's connect failures.
    pub(super) fn on_ready(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(id) else {
            return;
        };
        while let Some(tag) = c.io.waiting.pop_front() {
            match tag {
                Tag::Req(rid) => {
                    if let Some(req) = self.reqs.get_mut(rid) {
                        if req.place == Place::Conn(id, c.shard) {
                            c.io.push_shared(tag, &mut req.cmd);
                        }
                    }
                }
                Tag::Probe(slot, _) => {
                    c.io.push(tag, self.hb.cmd(&self.table, slot));
                }
                Tag::Lag(_) | Tag::Offset(_) => {
                    c.io.push(tag, &self.hb.role);
                }
            }
        }
        Self::mark_tx(&mut self.tx, id, c);
        let (slot, kind) = (c.shard, c.kind);
        if kind != ConnKind::Shared {
            self.dedicated_ready(id, kind);
            return;
        }
        if let Some(sh) = self.table.get_mut(slot) {
            if sh.replica == Some(id) {
                sh.replica_failures = 0;
            } else {
                sh.connect_failures = 0;
                self.served_again(slot);
            }
        }
    }

    pub(super) fn on_received(&mut self, id: ConnId, data: &[u8]) {
        let Some(c) = self.conns.get_mut(id) else {
            return;
        };
        let (slot, kind) = (c.shard, c.kind);
        let Some(sh) = self.table.get(slot) else {
            return;
        };
        // A request on a dedicated connection belongs to that connection (its WATCH, its
        // MULTI): it is never retried elsewhere.
        let shared = kind == ConnKind::Shared;
        self.observed.bytes_in(slot, data.len());
        let now = self.now;
        let (reqs, out, deferred, stats, pushes, observed) = (
            &mut self.reqs,
            &mut self.out,
            &mut self.deferred,
            &mut self.stats,
            &mut self.ded.pushes,
            &mut self.observed,
        );
        let check = self.config.heartbeat_check.as_ref();
        let sentinel = sh.sentinel();
        let (table, hb) = (&self.table, &self.hb);
        let max_reply_len = self.config.max_reply_len;
        let result = c.io.on_received(data, |received| match received {
            Received::Reply(Tag::Req(rid), frame) => {
                let Some(req) = reqs.get(rid).filter(|r| r.place == Place::Conn(id, slot)) else {
                    stats.late_replies += 1;
                    return;
                };
                let result = match frame.error_message() {
                    None => Ok(frame.to_value()),
                    Some(message) => {
                        let err = Error::Server {
                            shard: sh.name.clone(),
                            addr: sh.addr.clone(),
                            command: CmdName::new(req.cmd.name()),
                            message: String::from_utf8_lossy(message).into_owned(),
                        };
                        if shared && sentinel && message.starts_with(b"READONLY ") {
                            // Talking to a demoted primary: re-resolve (module `failover`).
                            deferred.push(Deferred::Demoted(id));
                        }
                        if shared && err.is_retryable() {
                            deferred.push(Deferred::Retry(rid, err));
                            return;
                        }
                        Err(err)
                    }
                };
                let started = req.started;
                reqs.discard(rid);
                observed.ended(Some(slot), started, now, &result);
                stats.replied += 1;
                out.push_back(Output::Reply { id: rid, result });
            }
            Received::TooLarge(Tag::Req(rid), announced) => {
                let Some(req) = reqs.get(rid).filter(|r| r.place == Place::Conn(id, slot)) else {
                    stats.late_replies += 1;
                    return;
                };
                let result = Err(Error::ReplyTooLarge {
                    shard: sh.name.clone(),
                    addr: sh.addr.clone(),
                    command: CmdName::new(req.cmd.name()),
                    limit: max_reply_len,
                    announced,
                });
                reqs.discard(rid);
                stats.replied += 1;
                stats.replies_too_large += 1;
                out.push_back(Output::Reply { id: rid, result });
            }
            Received::TooLarge(Tag::Probe(pslot, seq), announced) => {
                let verdict = Err(Error::ReplyTooLarge {
                    shard: sh.name.clone(),
                    addr: sh.addr.clone(),
                    command: CmdName::new(b"PING"),
                    limit: max_reply_len,
                    announced,
                });
                deferred.push(Deferred::Probe(pslot, seq, verdict));
            }
            Received::TooLarge(Tag::Lag(_) | Tag::Offset(_), _) => {}
            Received::Reply(Tag::Offset(pslot), frame) => {
                if let Some(offset) = primary_offset(&frame.to_value()) {
                    deferred.push(Deferred::Offset(pslot, offset));
                }
            }
            Received::Reply(Tag::Lag(_), frame) => {
                deferred.push(Deferred::Lag(id, frame.to_value()));
            }
            Received::Reply(Tag::Probe(pslot, seq), frame) if sentinel => {
                if let Some(offset) = primary_offset(&frame.to_value()) {
                    deferred.push(Deferred::Offset(pslot, offset));
                }
                // A Sentinel shard's heartbeat is `ROLE`: a primary that was demoted (the
                // Sentinels failed over without it going away) is found within one heartbeat.
                let verdict = match frame.error_message() {
                    Some(message) => Err(String::from_utf8_lossy(message).into_owned()),
                    None if parse_role(&frame.to_value()) == Role::Other => Err(String::from(
                        "not the primary any more: asking the Sentinels again",
                    )),
                    None => Ok(()),
                };
                let verdict = verdict.map_err(|message| Error::Server {
                    shard: sh.name.clone(),
                    addr: sh.addr.clone(),
                    command: CmdName::new(b"ROLE"),
                    message,
                });
                deferred.push(Deferred::Probe(pslot, seq, verdict));
            }
            Received::Reply(Tag::Probe(pslot, seq), frame) => {
                let verdict = match frame.error_message() {
                    Some(message) => Err(String::from_utf8_lossy(message).into_owned()),
                    None => match check.filter(|_| policy::checks_heartbeat(table, pslot)) {
                        Some(check) if !check.check(&frame.to_value()) => {
                            Err(String::from("the heartbeat check rejected the reply"))
                        }
                        _ => Ok(()),
                    },
                };
                let verdict = verdict.map_err(|message| Error::Server {
                    shard: sh.name.clone(),
                    addr: sh.addr.clone(),
                    command: hb.name(table, pslot),
                    message,
                });
                deferred.push(Deferred::Probe(pslot, seq, verdict));
            }
            Received::Push(frame) if matches!(kind, ConnKind::Sub(_)) => {
                pushes.push(frame.to_value());
            }
            Received::Push(_) => stats.pushes_dropped += 1,
        });
        match result {
            Ok(true) => self.on_ready(id),
            Ok(false) => {
                // A handshake fallback may have queued bytes.
                if let Some(c) = self.conns.get_mut(id) {
                    Self::mark_tx(&mut self.tx, id, c);
                }
            }
            Err(failure) => {
                self.stats.protocol_errors +=
                    u64::from(!matches!(failure, Failure::Handshake { .. }));
                self.drop_conn(id, &Cause::Conn(failure), false);
            }
        }
        if !shared {
            self.dedicated_received(id, kind);
        }
        // A removed shard's connection, or a drained one (module `failover`), goes once it
        // owes nothing more.
        let retired = self.table.get(slot).is_some_and(|sh| sh.retired);
        let draining = self
            .conns
            .get(id)
            .is_some_and(|c| c.drain_deadline != Instant::MAX);
        if (retired || draining) && self.conns.get(id).is_some_and(|c| c.io.pending() == 0) {
            self.drop_conn(id, &Cause::Removed, false);
        }
        self.run_deferred();
    }

    pub(super) fn run_deferred(&mut self) {
        let mut deferred = core::mem::take(&mut self.deferred);
        for d in deferred.drain(..) {
            match d {
                Deferred::Retry(id, err) => self.fail_or_retry(id, err),
                Deferred::Demoted(conn) => self.drain_demoted(conn),
                Deferred::Offset(slot, offset) => {
                    if let Some(sh) = self.table.get_mut(slot) {
                        sh.primary_offset = Some(offset);
                    }
                }
                Deferred::Lag(conn, reply) => self.replica_checked(conn, &reply),
                Deferred::Probe(slot, seq, result) => {
                    if self
                        .table
                        .get(slot)
                        .and_then(|s| s.probe)
                        .is_some_and(|p| p.seq == seq)
                    {
                        self.probe_done(slot, result);
                    }
                }
            }
        }
        self.deferred = deferred;
    }

    /// Drops a connection: fails what is pending on it, updates its shard's state.
    /// `reported`: the driver told us (no `Close` to emit).
    pub(super) fn drop_conn(&mut self, id: ConnId, cause: &Cause, reported: bool) {
        let Some(mut c) = self.conns.remove(id) else {
            return;
        };
        if !reported && c.start_at.is_none() {
            self.out.push_back(Output::Close { conn: id });
        }
        let (slot, kind) = (c.shard, c.kind);
        let shared = kind == ConnKind::Shared;
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        let was_main = sh.main == Some(id);
        if was_main {
            sh.main = None;
        }
        let replica = sh.replica == Some(id);
        if replica {
            sh.replica = None;
            sh.lag_check = false;
        }
        let connecting = c.io.state() != State::Ready;
        let (shard, addr) = (sh.name.clone(), sh.addr.clone());
        // Drained first so that the shard's last error names a command that was pending
        // (the first one), not `?`.
        let mut tags = core::mem::take(&mut self.scratch);
        c.io.drain_pending(|t, written| tags.push((t, written)));
        let command = tags
            .iter()
            .find_map(|(t, _)| match t {
                Tag::Req(rid) => self.reqs.get(*rid).map(|r| CmdName::new(r.cmd.name())),
                Tag::Probe(..) => Some(CmdName::new(b"PING")),
                Tag::Lag(_) | Tag::Offset(_) => Some(CmdName::new(b"ROLE")),
            })
            .unwrap_or(CmdName::new(b"?"));
        let Some(sh) = self.table.get_mut(slot) else {
            self.scratch = tags;
            return;
        };
        let err = match cause {
            Cause::Net(e) if connecting => Error::Connect {
                shard,
                addr,
                command,
                cause: *e,
            },
            Cause::Net(e) => Error::Disconnected {
                shard,
                addr,
                command,
                cause: *e,
            },
            Cause::ConnectTimeout => Error::Connect {
                shard,
                addr,
                command,
                cause: NetError::TimedOut,
            },
            Cause::Conn(Failure::Handshake { step, message }) => Error::Handshake {
                shard,
                addr,
                step: *step,
                message: message.clone(),
            },
            Cause::Conn(Failure::Decode(error)) => Error::Protocol {
                shard,
                addr,
                command,
                error: *error,
            },
            Cause::Conn(Failure::Unexpected) => Error::UnexpectedReply {
                shard,
                addr,
                command,
            },
            Cause::ShardDown => Error::ShardDown {
                shard,
                addr,
                command,
            },
            Cause::Removed => Error::ShardRemoved {
                shard,
                addr,
                command,
            },
            Cause::Closed => Error::Closed { command },
        };
        let natural = matches!(
            cause,
            Cause::Net(_) | Cause::ConnectTimeout | Cause::Conn(_)
        );
        if natural && replica {
            // A replica's failure says nothing of the shard's health (module `replica`).
            sh.replica_error = Some(err.clone());
            sh.replica_pick = sh.replica_pick.wrapping_add(1);
            if connecting {
                sh.replica_failures = sh.replica_failures.saturating_add(1);
                let pause = reconnect_backoff(
                    sh.replica_failures - 1,
                    self.config.probe_interval,
                    self.config.max_reconnect_backoff,
                    &mut self.jitter,
                );
                sh.replica_next = self.now + pause;
            }
        } else if natural {
            sh.last_error = Some(err.clone());
            if connecting && shared {
                sh.connect_failures = sh.connect_failures.saturating_add(1);
                if sh.sentinel() {
                    // Failing over: the next attempt (asking the Sentinels again) soon.
                    let pause = reconnect_backoff(
                        sh.connect_failures - 1,
                        self.config.probe_interval,
                        self.config.max_reconnect_backoff,
                        &mut self.jitter,
                    )
                    .min(super::failover::FAILOVER_PAUSE);
                    sh.next_connect = self.now + pause;
                }
            } else if shared && matches!(cause, Cause::Conn(_)) {
                // A poisoned connection is reopened after a (jittered) pause.
                let pause = reconnect_backoff(
                    0,
                    self.config.probe_interval,
                    self.config.max_reconnect_backoff,
                    &mut self.jitter,
                );
                sh.next_connect = self.now + pause;
            }
        }
        let probe_here = sh.probe.is_some_and(|p| p.conn == id);
        // A Sentinel shard's primary connection lost: failing over (module `failover`).
        // Not for an error no retry mends (refused credentials, a handshake or protocol
        // error): that is no failover.
        if natural && was_main && err.is_retryable() {
            self.failing_over_now(slot, err.clone());
        }
        // Fail (or retry) every request that was pending on this connection.
        for (tag, written) in tags.drain(..) {
            if let Tag::Req(rid) = tag {
                let Some(req) = self.reqs.get(rid) else {
                    continue;
                };
                if req.place != Place::Conn(id, slot) {
                    continue;
                }
                let command = CmdName::new(req.cmd.name());
                let e = err.clone().for_command(command);
                if shared && written && e.is_retryable() && !req.cmd.may_resend() {
                    // Written whole, so it may have run: never re-sent behind the caller.
                    self.stats.may_have_run += 1;
                    let (shard, addr) = self
                        .table
                        .get(slot)
                        .map(|sh| (sh.name.clone(), sh.addr.clone()))
                        .unwrap_or_default();
                    let e = Error::MayHaveRun {
                        shard,
                        addr,
                        command,
                        cause: alloc::boxed::Box::new(e),
                    };
                    self.complete(rid, Err(e));
                } else if shared
                    && !replica
                    && !written
                    && e.is_retryable()
                    && self.failing_over(slot)
                {
                    // Not sent to a failing-over shard: waits for the next attempt, without
                    // using a retry (bounded by its own timeout).
                    self.wait_failover(rid, slot);
                } else if shared {
                    self.fail_or_retry(rid, e);
                } else {
                    self.complete(rid, Err(e));
                }
            }
        }
        self.scratch = tags;
        if !shared {
            self.dedicated_dropped(id, kind, slot, &err, natural);
        }
        if self.table.get(slot).is_some_and(|sh| sh.retired) {
            // A removed shard: no health to track; its slot goes with its last connection.
            let (capacity, conns) = (self.conns.capacity(), &self.conns);
            let last = !(0..capacity)
                .filter_map(|i| conns.id_at(i))
                .any(|c| conns.get(c).is_some_and(|c| c.shard == slot));
            if last {
                self.table.remove(slot);
            }
            return;
        }
        if !natural || replica {
            return;
        }
        let is_handshake = matches!(cause, Cause::Conn(Failure::Handshake { .. }));
        if probe_here || is_handshake {
            // The heartbeat on this connection failed (a refused handshake always counts).
            self.probe_done(slot, Err(err.for_command(CmdName::new(b"PING"))));
        } else if matches!(cause, Cause::Net(_) | Cause::ConnectTimeout) {
            self.suspect(slot);
        }
    }
}
