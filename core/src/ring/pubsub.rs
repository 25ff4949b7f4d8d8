//! Subscriptions: channels placed like keys over the live shards, each shard's share on a
//! dedicated connection of the subscription, messages surfaced as
//! [`Output::Message`](super::Output::Message).
//!
//! # Call protocol
//!
//! 1. [`RingCore::subscribe`]`(kind, channels, now)` returns a [`SubId`] at once; the core
//!    opens one dedicated connection per shard that owns some of the channels (every live
//!    shard for patterns) and sends `SUBSCRIBE` / `PSUBSCRIBE` / `SSUBSCRIBE` there once the
//!    handshake is done. [`Output::Subscribed`](super::Output::Subscribed) `{ sub }` says
//!    every channel is confirmed: messages published from then on are delivered.
//! 2. Messages come as [`Output::Message`](super::Output::Message) `{ sub, channel, pattern,
//!    payload }`, from RESP3 push frames or RESP2 message arrays alike.
//! 3. [`RingCore::subscribe_to`] / [`RingCore::unsubscribe`] change the set;
//!    [`RingCore::end_subscription`] closes every connection of the subscription.
//!
//! # Placement follows `PUBLISH`
//!
//! `PUBLISH` and `SPUBLISH` are routed like keys over the shards that are up now (hash tags
//! apply), so a channel is subscribed on exactly the shard a publisher reaches now: on every
//! change of the live set (a shard down or up, `set_shards`) each subscription is placed
//! again, channels that moved are unsubscribed from their old shard and subscribed on their
//! new one. A message published during the move may be missed or, rarely, delivered twice
//! (pub/sub is at-most-once anyway). Patterns are subscribed on every live shard.
//!
//! # Reconnects
//!
//! A subscription connection that breaks (shard restarted, network error) is reopened after a
//! jittered backoff (from `probe_interval`, growing to `max_reconnect_backoff`, and at once
//! when the shard's liveness or the placement changes) and its channels subscribed again;
//! `Subscribed` is emitted again once they are all confirmed. Messages published while the
//! connection was down are lost (Redis pub/sub keeps nothing).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::fmt;

use super::backoff::reconnect_backoff;
use super::conns::ConnKind;
use super::shard::ShardSlot;
use super::{Cause, ConnId, Output, RingCore};
use crate::command::Cmd;
use crate::conn::State;
use crate::error::{CmdName, Error};
use crate::resp::Value;
use crate::time::Instant;

/// A subscription created by [`RingCore::subscribe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubId(pub(crate) u64);

impl SubId {
    /// The id as a number, unique for the life of the core.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SubId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subscription {}", self.0)
    }
}

/// What a subscription listens to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubKind {
    /// Channels (`SUBSCRIBE`), each on the shard its name is placed on, as `PUBLISH` routes.
    Channel,
    /// Patterns (`PSUBSCRIBE`), on every live shard: a pattern can match any channel.
    Pattern,
    /// Sharded channels (`SSUBSCRIBE`, Redis 7), placed like channels, as `SPUBLISH` routes.
    Sharded,
}

impl SubKind {
    fn commands(self) -> (&'static str, &'static str) {
        match self {
            SubKind::Channel => ("SUBSCRIBE", "UNSUBSCRIBE"),
            SubKind::Pattern => ("PSUBSCRIBE", "PUNSUBSCRIBE"),
            SubKind::Sharded => ("SSUBSCRIBE", "SUNSUBSCRIBE"),
        }
    }
}

/// One subscription: what it wants, and its connections.
#[derive(Debug)]
pub(crate) struct Sub {
    kind: SubKind,
    channels: BTreeSet<Vec<u8>>,
    conns: Vec<SubConn>,
    /// Whether `Subscribed` was emitted for the current state.
    complete: bool,
}

/// A subscription's connection to one shard.
#[derive(Debug)]
struct SubConn {
    shard: ShardSlot,
    conn: ConnId,
    /// Channels subscribed on this connection (sent).
    assigned: BTreeSet<Vec<u8>>,
    /// Subscribe confirmations still expected.
    unconfirmed: usize,
    /// Consecutive failed connections (reconnect backoff).
    attempts: u32,
}

impl RingCore {
    /// Subscribes to `channels` (or patterns, by `kind`). Returns at once; see the
    /// [`Output::Subscribed`] and [`Output::Message`] for what follows. Fails with [`Error::NoShards`] or
    /// [`Error::AllShardsDown`] when nothing can be subscribed now.
    pub fn subscribe<I, C>(
        &mut self,
        kind: SubKind,
        channels: I,
        now: Instant,
    ) -> Result<SubId, Error>
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.advance(now);
        let command = CmdName::new(kind.commands().0.as_bytes());
        if self.table.order.is_empty() {
            return Err(Error::NoShards { command });
        }
        if self.table.live_len() == 0 {
            return Err(self.table.all_down(command));
        }
        let id = self.ded.next_id();
        self.ded.subs.insert(
            id,
            Sub {
                kind,
                channels: channels.into_iter().map(|c| c.as_ref().to_vec()).collect(),
                conns: Vec::new(),
                complete: false,
            },
        );
        self.resync_sub(id);
        self.run_timers();
        Ok(SubId(id))
    }

    /// Adds `channels` to subscription `sub` (`Subscribed` follows once confirmed). Returns
    /// `false` for an unknown or ended subscription.
    pub fn subscribe_to<I, C>(&mut self, sub: SubId, channels: I, now: Instant) -> bool
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.change_sub(sub, now, |set| {
            set.extend(channels.into_iter().map(|c| c.as_ref().to_vec()));
        })
    }

    /// Removes `channels` from subscription `sub`. Returns `false` for an unknown or ended
    /// subscription.
    pub fn unsubscribe<I, C>(&mut self, sub: SubId, channels: I, now: Instant) -> bool
    where
        I: IntoIterator<Item = C>,
        C: AsRef<[u8]>,
    {
        self.change_sub(sub, now, |set| {
            for c in channels {
                set.remove(c.as_ref());
            }
        })
    }

    fn change_sub(
        &mut self,
        sub: SubId,
        now: Instant,
        f: impl FnOnce(&mut BTreeSet<Vec<u8>>),
    ) -> bool {
        self.advance(now);
        let Some(s) = self.ded.subs.get_mut(&sub.0) else {
            return false;
        };
        f(&mut s.channels);
        s.complete = false;
        self.resync_sub(sub.0);
        self.run_timers();
        true
    }

    /// Ends subscription `sub`: closes its connections; no more outputs for it.
    pub fn end_subscription(&mut self, sub: SubId, now: Instant) {
        self.advance(now);
        if let Some(s) = self.ded.subs.remove(&sub.0) {
            for c in s.conns {
                self.drop_conn(c.conn, &Cause::Closed, false);
            }
        }
        self.run_timers();
    }

    /// The channels (or patterns) of subscription `sub`.
    pub fn subscription_channels(&self, sub: SubId) -> impl Iterator<Item = &[u8]> + '_ {
        self.ded
            .subs
            .get(&sub.0)
            .into_iter()
            .flat_map(|s| s.channels.iter().map(|c| &c[..]))
    }

    /// Places every subscription again when the live set changed since the last time.
    pub(super) fn sync_subscriptions(&mut self) {
        if self.ded.epoch == self.table.epoch {
            return;
        }
        self.ded.epoch = self.table.epoch;
        let ids: Vec<u64> = self.ded.subs.keys().copied().collect();
        for id in ids {
            // Connections waiting out a reconnect backoff try now: the shard changed state.
            let delayed: Vec<ConnId> = self.ded.subs[&id]
                .conns
                .iter()
                .map(|c| c.conn)
                .filter(|&c| self.conns.get(c).is_some_and(|c| c.start_at.is_some()))
                .collect();
            for conn in delayed {
                if let Some(addr) = self
                    .conns
                    .get(conn)
                    .and_then(|c| self.table.get(c.shard))
                    .map(|s| s.addr.clone())
                {
                    self.start_conn(conn, addr);
                }
            }
            self.resync_sub(id);
        }
    }

    /// Brings subscription `id`'s connections in line with where its channels are placed now.
    fn resync_sub(&mut self, id: u64) {
        let Some(sub) = self.ded.subs.get(&id) else {
            return;
        };
        let mut desired: Vec<(ShardSlot, BTreeSet<Vec<u8>>)> = Vec::new();
        if sub.kind == SubKind::Pattern {
            if !sub.channels.is_empty() {
                for &s in self.table.live() {
                    desired.push((s, sub.channels.clone()));
                }
            }
        } else {
            for ch in &sub.channels {
                let Some(s) = self.table.shard_for_key(ch) else {
                    continue;
                };
                match desired.iter_mut().find(|(d, _)| *d == s) {
                    Some((_, set)) => {
                        set.insert(ch.clone());
                    }
                    None => desired.push((s, BTreeSet::from([ch.clone()]))),
                }
            }
        }
        // Connections to shards that no longer own any channel go.
        let stale: Vec<ConnId> = sub
            .conns
            .iter()
            .filter(|c| !desired.iter().any(|(s, _)| *s == c.shard))
            .map(|c| c.conn)
            .collect();
        let kind = sub.kind;
        for conn in stale {
            self.drop_conn(conn, &Cause::Closed, false);
        }
        let (sub_cmd, unsub_cmd) = kind.commands();
        for (slot, want) in desired {
            let Some(sub) = self.ded.subs.get_mut(&id) else {
                return;
            };
            let Some(sc) = sub.conns.iter_mut().find(|c| c.shard == slot) else {
                let conn = self.open_dedicated(slot, ConnKind::Sub(id), self.now);
                if let Some(sub) = self.ded.subs.get_mut(&id) {
                    sub.complete = false;
                    sub.conns.push(SubConn {
                        shard: slot,
                        conn,
                        assigned: BTreeSet::new(),
                        unconfirmed: 0,
                        attempts: 0,
                    });
                }
                continue;
            };
            let Some(c) = self.conns.get_mut(sc.conn) else {
                continue;
            };
            if c.io.state() != State::Ready {
                continue; // done when it is ready
            }
            let gone: Vec<&Vec<u8>> = sc.assigned.difference(&want).collect();
            if !gone.is_empty() {
                let mut cmd = Cmd::new(unsub_cmd);
                for ch in gone {
                    cmd.push_bytes(ch);
                }
                c.io.push_untracked(&cmd);
            }
            let new: Vec<&Vec<u8>> = want.difference(&sc.assigned).collect();
            if !new.is_empty() {
                let mut cmd = Cmd::new(sub_cmd);
                for ch in &new {
                    cmd.push_bytes(ch);
                }
                sc.unconfirmed += new.len();
                sub.complete = false;
                c.io.push_untracked(&cmd);
            }
            sc.assigned = want;
            Self::mark_tx(&mut self.tx, sc.conn, c);
        }
        self.check_complete(id);
    }

    /// Emits `Subscribed` when every channel of `id` is confirmed (once per completion).
    fn check_complete(&mut self, id: u64) {
        let Some(sub) = self.ded.subs.get_mut(&id) else {
            return;
        };
        let conns = &self.conns;
        let complete = sub.conns.iter().all(|c| {
            c.unconfirmed == 0
                && conns
                    .get(c.conn)
                    .is_some_and(|c| c.io.state() == State::Ready)
        });
        if complete && !sub.complete {
            self.out.push_back(Output::Subscribed { sub: SubId(id) });
        }
        sub.complete = complete;
    }

    /// A subscription connection finished its handshake: subscribe its share.
    pub(super) fn sub_conn_ready(&mut self, id: u64, conn: ConnId) {
        if let Some(sc) = self
            .ded
            .subs
            .get_mut(&id)
            .and_then(|s| s.conns.iter_mut().find(|c| c.conn == conn))
        {
            sc.attempts = 0;
        }
        self.resync_sub(id);
    }

    /// A subscription connection is gone: reopened after a backoff when the cause was the
    /// network or the server (placement decides again at the next resync), forgotten when the
    /// core closed it.
    pub(super) fn sub_conn_dropped(
        &mut self,
        id: u64,
        conn: ConnId,
        slot: ShardSlot,
        natural: bool,
    ) {
        let Some(sub) = self.ded.subs.get_mut(&id) else {
            return;
        };
        let Some(i) = sub.conns.iter().position(|c| c.conn == conn) else {
            return;
        };
        sub.complete = false;
        if !natural {
            sub.conns.swap_remove(i);
            return;
        }
        let attempts = sub.conns[i].attempts;
        let delay = reconnect_backoff(
            attempts,
            self.config.probe_interval,
            self.config.max_reconnect_backoff,
            &mut self.jitter,
        );
        let new = self.open_dedicated(slot, ConnKind::Sub(id), self.now + delay);
        if let Some(sc) = self.ded.subs.get_mut(&id).and_then(|s| s.conns.get_mut(i)) {
            sc.conn = new;
            sc.assigned.clear();
            sc.unconfirmed = 0;
            sc.attempts = attempts.saturating_add(1);
        }
    }

    /// Handles the push frames just read on subscription `id`'s connection `conn`.
    pub(super) fn sub_pushes(&mut self, id: u64, conn: ConnId) {
        let mut pushes = core::mem::take(&mut self.ded.pushes);
        for v in pushes.drain(..) {
            let (Value::Push(items) | Value::Array(items)) = v else {
                continue;
            };
            let mut items = items.into_iter().map(|v| match v {
                Value::Bulk(b) | Value::Simple(b) => Some(b),
                Value::Verbatim { text, .. } => Some(text),
                _ => None,
            });
            let Some(Some(mut kind)) = items.next() else {
                continue;
            };
            kind.make_ascii_lowercase();
            match &kind[..] {
                b"message" | b"smessage" => {
                    if let (Some(Some(channel)), Some(Some(payload))) = (items.next(), items.next())
                    {
                        self.out.push_back(Output::Message {
                            sub: SubId(id),
                            channel,
                            pattern: None,
                            payload,
                        });
                    }
                }
                b"pmessage" => {
                    if let (Some(Some(pattern)), Some(Some(channel)), Some(Some(payload))) =
                        (items.next(), items.next(), items.next())
                    {
                        self.out.push_back(Output::Message {
                            sub: SubId(id),
                            channel,
                            pattern: Some(pattern),
                            payload,
                        });
                    }
                }
                b"subscribe" | b"psubscribe" | b"ssubscribe" => {
                    if let Some(sc) = self
                        .ded
                        .subs
                        .get_mut(&id)
                        .and_then(|s| s.conns.iter_mut().find(|c| c.conn == conn))
                    {
                        sc.unconfirmed = sc.unconfirmed.saturating_sub(1);
                    }
                }
                _ => {} // unsubscribe confirmations, pongs, errors: nothing to do
            }
        }
        self.ded.pushes = pushes;
        self.check_complete(id);
    }
}
