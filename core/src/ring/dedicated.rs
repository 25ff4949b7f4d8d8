//! Dedicated connections: a connection kind besides the shared, multiplexed one, opened on
//! demand for one purpose on one shard (a blocking command, a transaction, a subscription),
//! with the same handshake (HELLO/AUTH/SELECT/SETNAME), and closed when its user is done.
//!
//! Why: a shared connection matches replies to requests in FIFO order and is used by every
//! caller at once. A blocking command would stall every request queued behind it; `WATCH` /
//! `MULTI` would leak connection state into other callers' commands; a subscribed connection
//! stops answering ordinary commands. Each of those gets its own connection instead.
//!
//! Rules every dedicated connection follows (the shared one differs on each):
//! * its requests are never retried on another connection (the state they depend on, a
//!   `WATCH`, a `MULTI`, lives on this one); they fail with the connection;
//! * a request that times out on it closes it (its state is unknown, or it is still blocked);
//! * its connect failures do not count as the shard's connect failures (the shared
//!   connection and the heartbeats judge the shard), though they trigger a probe as any
//!   network error does.
//!
//! Blocking commands live here; transactions in `transaction`, subscriptions in `pubsub`.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::conns::ConnSlot;
use super::pubsub::Sub;
use super::request::{Place, Request};
use super::shard::ShardSlot;
use super::transaction::Tx;
use super::{Cause, ConnId, RequestId, RingCore, Tag};
use crate::command::{Class, Cmd};
use crate::conn::{Conn, State};
use crate::error::{CmdName, Error};
use crate::resp::Value;
use crate::time::{Duration, Instant};

/// Idle blocking connections kept per shard for reuse; more are closed once idle.
const MAX_IDLE_BLOCKING: usize = 2;

// `ConnKind` lives with the connection table (`conns.rs`); re-exported for older imports.
pub(crate) use super::conns::ConnKind;

/// The dedicated-connection state of a [`RingCore`].
#[derive(Debug, Default)]
pub(crate) struct Dedicated {
    /// Last handle number given (transactions and subscriptions share the sequence).
    pub(crate) next_id: u64,
    pub(crate) txs: BTreeMap<u64, Tx>,
    /// Ordered map: iteration order (and so every output) is deterministic.
    pub(crate) subs: BTreeMap<u64, Sub>,
    /// The placement epoch subscriptions were last placed for.
    pub(crate) epoch: u64,
    /// Push frames received on subscription connections, handled after the read.
    pub(crate) pushes: Vec<Value>,
}

impl Dedicated {
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Forgets every transaction and subscription (their connections are already closed).
    pub(crate) fn close(&mut self) {
        self.txs.clear();
        self.subs.clear();
        self.pushes.clear();
    }
}

impl RingCore {
    /// Opens (now, or at `at`) a dedicated connection of `kind` to shard `slot`.
    pub(super) fn open_dedicated(
        &mut self,
        slot: ShardSlot,
        kind: ConnKind,
        at: Instant,
    ) -> ConnId {
        let Some(sh) = self.table.get(slot) else {
            return ConnId::new(u32::MAX, u32::MAX);
        };
        let addr = sh.addr.clone();
        let mut io = Conn::new(
            sh.opts.clone(),
            self.config.limits,
            self.config.max_reply_len,
        );
        io.pubsub = matches!(kind, ConnKind::Sub(_));
        let id = self.conns.insert(ConnSlot {
            shard: slot,
            io,
            start_at: Some(at),
            deadline: Instant::MAX,
            kind,
            drain_deadline: Instant::MAX,
        });
        if at <= self.now {
            self.start_conn(id, addr);
        } else {
            self.wake = self.wake.min(at);
        }
        id
    }

    /// The one live shard that owns every key of `keys` (any live shard when there are
    /// none); [`Error::CrossShard`] naming each shard involved otherwise.
    pub(super) fn shard_of_keys<'k>(
        &mut self,
        keys: impl IntoIterator<Item = &'k [u8]>,
        command: CmdName,
    ) -> Result<ShardSlot, Error> {
        if self.table.order.is_empty() {
            return Err(Error::NoShards { command });
        }
        if self.table.live_len() == 0 {
            return Err(self.table.all_down(command));
        }
        let mut shards: Vec<ShardSlot> = Vec::new();
        for key in keys {
            if let Some(s) = self.table.shard_for_key(key) {
                if !shards.contains(&s) {
                    shards.push(s);
                }
            }
        }
        match shards[..] {
            [] => Ok(self.table.any()),
            [one] => Ok(one),
            _ => Err(Error::CrossShard {
                command,
                shards: shards
                    .iter()
                    .filter_map(|&s| self.table.get(s).map(|sh| sh.name.clone()))
                    .collect(),
            }),
        }
    }

    /// Queues request `id` (already in the slab) on dedicated connection `conn`.
    pub(super) fn queue_dedicated(&mut self, id: RequestId, conn: ConnId, slot: ShardSlot) {
        let Some(req) = self.reqs.get_mut(id) else {
            return;
        };
        req.place = Place::Conn(conn, slot);
        req.last_shard = Some(slot);
        self.req_wake = self.req_wake.min(req.deadline);
        self.wake = self.wake.min(req.deadline);
        if let Some(c) = self.conns.get_mut(conn) {
            if c.io.push_shared(Tag::Req(id), &mut req.cmd) {
                Self::mark_tx(&mut self.tx, conn, c);
            }
        }
    }

    /// A blocking command: on an idle blocking connection of its shard, or a new one.
    /// `explicit`: `timeout` was given by the caller and caps the whole call (block time
    /// included, also a block time of 0); otherwise it is the configured command timeout,
    /// added to the command's own block time (none for a block time of 0).
    pub(super) fn submit_blocking(
        &mut self,
        cmd: Cmd,
        timeout: Duration,
        explicit: bool,
    ) -> Result<RequestId, Error> {
        let command = CmdName::new(cmd.name());
        let routing = self.config.commands.classify(&cmd);
        match routing.class() {
            Class::SingleKey | Class::SameShard | Class::Split(_) | Class::Keyless => {}
            // WAIT counts this connection's writes: on a fresh connection it means nothing.
            _ => {
                return Err(Error::Unsupported {
                    command,
                    reason:
                        "this blocking command depends on the state of the connection it runs on",
                })
            }
        }
        let keys: Vec<Vec<u8>> = routing.keys().args().map(<[u8]>::to_vec).collect();
        let slot = self.shard_of_keys(keys.iter().map(|k| &k[..]), command)?;
        // The server answers by its own block time; the default deadline comes after it.
        let total = if explicit {
            timeout
        } else {
            block_time(&cmd).map_or(Duration::MAX, |b| b.saturating_add(timeout))
        };
        let id = self.reqs.insert(Request {
            cmd: cmd.into(),
            timeout: total,
            deadline: self.now + total,
            retries: 0,
            place: Place::Retry(self.now),
            started: self.now,
            last_shard: None,
        });
        self.stats.submitted += 1;
        let idle = (0..self.conns.capacity())
            .filter_map(|i| self.conns.id_at(i))
            .find(|&c| {
                self.conns.get(c).is_some_and(|c| {
                    c.kind == ConnKind::Blocking && c.shard == slot && c.io.pending() == 0
                })
            });
        let conn = match idle {
            Some(conn) => conn,
            None => self.open_dedicated(slot, ConnKind::Blocking, self.now),
        };
        self.queue_dedicated(id, conn, slot);
        self.run_timers();
        Ok(id)
    }

    /// A dedicated connection finished its handshake.
    pub(super) fn dedicated_ready(&mut self, id: ConnId, kind: ConnKind) {
        if let ConnKind::Sub(sub) = kind {
            self.sub_conn_ready(sub, id);
        }
    }

    /// Bytes were handled on a dedicated connection.
    pub(super) fn dedicated_received(&mut self, id: ConnId, kind: ConnKind) {
        match kind {
            ConnKind::Sub(sub) => self.sub_pushes(sub, id),
            ConnKind::Blocking => {
                // Keep a few idle blocking connections per shard; close the rest.
                let Some(c) = self.conns.get(id) else { return };
                if c.io.pending() > 0 {
                    return;
                }
                let slot = c.shard;
                let idle = (0..self.conns.capacity())
                    .filter_map(|i| self.conns.id_at(i))
                    .filter(|&o| {
                        self.conns.get(o).is_some_and(|o| {
                            o.kind == ConnKind::Blocking && o.shard == slot && o.io.pending() == 0
                        })
                    })
                    .count();
                if idle > MAX_IDLE_BLOCKING {
                    self.drop_conn(id, &Cause::Closed, false);
                }
            }
            _ => {}
        }
    }

    /// A dedicated connection is gone (its pending requests have already failed).
    pub(super) fn dedicated_dropped(
        &mut self,
        id: ConnId,
        kind: ConnKind,
        slot: ShardSlot,
        err: &Error,
        natural: bool,
    ) {
        match kind {
            ConnKind::Tx(tx) => {
                if let Some(t) = self.ded.txs.get_mut(&tx) {
                    t.conn = None;
                    t.broken.get_or_insert_with(|| err.clone());
                }
            }
            ConnKind::Sub(sub) => self.sub_conn_dropped(sub, id, slot, natural),
            ConnKind::Blocking | ConnKind::Shared => {}
        }
    }

    /// A request on `conn` timed out: a dedicated connection is closed with it.
    pub(super) fn dedicated_timed_out(&mut self, conn: ConnId, err: &Error) {
        let Some(kind) = self.conns.get(conn).map(|c| c.kind) else {
            return;
        };
        if kind == ConnKind::Shared {
            return;
        }
        if let ConnKind::Tx(tx) = kind {
            if let Some(t) = self.ded.txs.get_mut(&tx) {
                t.broken.get_or_insert_with(|| err.clone());
            }
        }
        self.drop_conn(conn, &Cause::Closed, false);
    }

    /// A request placed on `conn` was cancelled: a blocking connection still waits for its
    /// reply, so it is closed (a transaction's connection stays: its user ends it).
    pub(super) fn dedicated_cancelled(&mut self, conn: ConnId) {
        if self
            .conns
            .get(conn)
            .is_some_and(|c| c.kind == ConnKind::Blocking && c.io.state() == State::Ready)
        {
            self.drop_conn(conn, &Cause::Closed, false);
        }
    }
}

/// How long the server may block on `cmd` by its own arguments; `None` for "forever" (a
/// block time of 0) and for a block time that does not parse (the server will refuse it).
pub(crate) fn block_time(cmd: &Cmd) -> Option<Duration> {
    let name = cmd.name();
    let last = cmd.len().checked_sub(1).and_then(|i| cmd.arg_at(i));
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    let d = if [
        "BLPOP",
        "BRPOP",
        "BZPOPMIN",
        "BZPOPMAX",
        "BRPOPLPUSH",
        "BLMOVE",
    ]
    .iter()
    .any(|n| is(n))
    {
        parse_seconds(last?)?
    } else if is("BLMPOP") || is("BZMPOP") {
        parse_seconds(cmd.arg_at(0)?)?
    } else if is("XREAD") || is("XREADGROUP") {
        let at = cmd.args().position(|a| a.eq_ignore_ascii_case(b"BLOCK"))?;
        Duration::from_millis(parse_u64(cmd.arg_at(at + 1)?)?)
    } else if is("WAIT") || is("WAITAOF") {
        Duration::from_millis(parse_u64(last?)?)
    } else {
        return None;
    };
    (!d.is_zero()).then_some(d)
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    core::str::from_utf8(s).ok()?.parse().ok()
}

/// `"1"`, `"0.5"`, `"2.25"`: seconds as Redis takes them for list and zset blocking commands.
fn parse_seconds(s: &[u8]) -> Option<Duration> {
    let s = core::str::from_utf8(s).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut nanos: u32 = 0;
    let mut scale = 100_000_000;
    for c in frac.bytes() {
        let d = u32::from(c.checked_sub(b'0').filter(|d| *d < 10)?);
        nanos += d * scale;
        scale /= 10;
    }
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_times() {
        let ms = Duration::from_millis;
        let c = |s: &[&str]| {
            let mut cmd = Cmd::new(s[0]);
            for a in &s[1..] {
                cmd.push_arg(*a);
            }
            block_time(&cmd)
        };
        assert_eq!(c(&["BLPOP", "a", "b", "1.5"]), Some(ms(1500)));
        assert_eq!(c(&["blpop", "a", "0"]), None);
        assert_eq!(
            c(&["BLMOVE", "a", "b", "LEFT", "RIGHT", "0.25"]),
            Some(ms(250))
        );
        assert_eq!(c(&["BZMPOP", "2", "1", "z", "MIN"]), Some(ms(2000)));
        assert_eq!(
            c(&["XREAD", "COUNT", "1", "BLOCK", "300", "STREAMS", "s", "$"]),
            Some(ms(300))
        );
        assert_eq!(c(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]), None);
        assert_eq!(c(&["BLPOP", "a", "x"]), None);
        assert_eq!(parse_seconds(b".5"), Some(ms(500)));
        assert_eq!(parse_seconds(b"1.2.3"), None);
    }
}
