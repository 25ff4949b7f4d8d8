//! Transactions: `WATCH` / reads / `MULTI` / queued commands / `EXEC` on one dedicated
//! connection of the one shard that owns every key.
//!
//! # Call protocol
//!
//! 1. [`RingCore::begin_transaction`]`(keys, now)`: every key must live on one shard, or it
//!    fails with [`Error::CrossShard`] naming the shards (and suggesting a hash tag) before
//!    anything is sent. It opens a dedicated connection to that shard and returns a [`TxId`].
//! 2. [`RingCore::submit_in`]`(tx, cmd, now)` for each command, in order: `WATCH`, reads,
//!    `MULTI`, the writes (the server answers `QUEUED`), `EXEC` or `DISCARD`. Each gets its
//!    own [`Output::Reply`](super::Output::Reply), like any request; commands may be
//!    pipelined (submitted before the previous reply). A command whose keys live on another
//!    shard is refused with [`Error::CrossShard`]. `EXEC` replies [`Value::Nil`] when a
//!    watched key changed: the caller retries the whole transaction (optimistic locking,
//!    go-redis `Watch` + `TxPipelined`).
//! 3. [`RingCore::end_transaction`]`(tx, now)` once the last reply came: the connection is
//!    closed (anything still pending on it fails with [`Error::Closed`]).
//!
//! Nothing of a transaction is retried: if its connection fails or one of its commands times
//! out, the pending commands fail, the connection is closed, and every later `submit_in`
//! fails with that error (the `WATCH`es and the `MULTI` were lost with the connection). The
//! caller ends the transaction and starts again.
//!
//! [`Value::Nil`]: crate::resp::Value::Nil

use core::fmt;

use super::conns::ConnKind;
use super::request::{Place, Request};
use super::shard::ShardSlot;
use super::{Cause, ConnId, RequestId, RingCore};
use crate::command::{Class, Cmd, PubSubKind};
use crate::error::{CmdName, Error};
use crate::time::Instant;

/// A transaction opened by [`RingCore::begin_transaction`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub(crate) u64);

impl TxId {
    /// The id as a number, unique for the life of the core.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transaction {}", self.0)
    }
}

/// One open transaction.
#[derive(Debug)]
pub(crate) struct Tx {
    pub(crate) shard: ShardSlot,
    /// Whether it was begun with keys (without, its shard is any live one).
    pub(crate) keyed: bool,
    /// Its connection, until it is lost.
    pub(crate) conn: Option<ConnId>,
    /// Why the transaction cannot go on (connection lost, a command timed out).
    pub(crate) broken: Option<Error>,
}

impl RingCore {
    /// Starts a transaction over `keys` (which `WATCH` will name): they must all live on one
    /// shard. Opens a dedicated connection there. Then [`RingCore::submit_in`] each command
    /// (`WATCH`, reads, `MULTI`, writes, `EXEC`), and [`RingCore::end_transaction`].
    ///
    /// Fails at once, with nothing sent, with [`Error::CrossShard`] (keys on several shards,
    /// each named), [`Error::NoShards`] or [`Error::AllShardsDown`]. With no keys, the
    /// transaction goes to any live shard.
    pub fn begin_transaction<K: AsRef<[u8]>>(
        &mut self,
        keys: &[K],
        now: Instant,
    ) -> Result<TxId, Error> {
        self.advance(now);
        let slot = self.shard_of_keys(keys.iter().map(AsRef::as_ref), CmdName::new(b"MULTI"))?;
        let id = self.ded.next_id();
        let conn = self.open_dedicated(slot, ConnKind::Tx(id), self.now);
        self.ded.txs.insert(
            id,
            Tx {
                shard: slot,
                keyed: !keys.is_empty(),
                conn: Some(conn),
                broken: None,
            },
        );
        self.run_timers();
        Ok(TxId(id))
    }

    /// Submits `cmd` in transaction `tx` with the configured `command_timeout`; its reply
    /// comes as [`Output::Reply`](super::Output::Reply).
    ///
    /// Refused at once with [`Error::CrossShard`] when a key of `cmd` lives on another shard
    /// than the transaction's, [`Error::Unsupported`] for subscriptions and
    /// connection-state commands, or the error that broke the transaction (its connection
    /// lost, a command timed out); [`Error::Closed`] for an unknown or ended transaction.
    pub fn submit_in(&mut self, tx: TxId, cmd: Cmd, now: Instant) -> Result<RequestId, Error> {
        self.advance(now);
        let command = CmdName::new(cmd.name());
        let Some(t) = self.ded.txs.get(&tx.0) else {
            return Err(Error::Closed { command });
        };
        if let Some(e) = &t.broken {
            return Err(e.clone().for_command(command));
        }
        let keyed = t.keyed;
        let (slot, Some(conn)) = (t.shard, t.conn) else {
            return Err(Error::Closed { command });
        };
        let routing = self.config.commands.classify(&cmd);
        let class = routing.class();
        if class == Class::Connection || is_subscription_command(class) {
            return Err(Error::Unsupported {
                command,
                reason: "not inside a transaction: it changes the state of the connection",
            });
        }
        let mut shards = alloc::vec![slot];
        for key in routing.keys().args() {
            // A key whose shard is down is placed elsewhere: that is another shard too.
            let s = self.table.shard_for_key(key).unwrap_or(ShardSlot::MAX);
            if !shards.contains(&s) {
                shards.push(s);
            }
        }
        if shards.len() > 1 && !keyed {
            return Err(Error::Unsupported {
                command,
                reason: "the transaction was begun with no keys, so it runs on any one shard, \
                         and this command's keys live on another: pass every key the \
                         transaction touches when beginning it (transaction(keys, ..))",
            });
        }
        if shards.len() > 1 {
            return Err(Error::CrossShard {
                command,
                shards: shards
                    .iter()
                    .map(|&s| match self.table.get(s) {
                        Some(sh) => sh.name.clone(),
                        None => "(no live shard)".into(),
                    })
                    .collect(),
            });
        }
        let timeout = self.config.command_timeout;
        let id = self.reqs.insert(Request {
            cmd: cmd.into(),
            timeout,
            deadline: self.now + timeout,
            retries: 0,
            place: Place::Retry(self.now),
            started: self.now,
            last_shard: None,
        });
        self.stats.submitted += 1;
        self.queue_dedicated(id, conn, slot);
        self.run_timers();
        Ok(id)
    }

    /// Ends transaction `tx`: closes its connection (requests still pending on it fail with
    /// [`Error::Closed`]). Unknown or already ended: nothing happens.
    pub fn end_transaction(&mut self, tx: TxId, now: Instant) {
        self.advance(now);
        if let Some(t) = self.ded.txs.remove(&tx.0) {
            if let Some(conn) = t.conn {
                self.drop_conn(conn, &Cause::Closed, false);
            }
        }
        self.run_timers();
    }

    /// The name of the shard transaction `tx` runs on.
    pub fn transaction_shard(&self, tx: TxId) -> Option<&alloc::sync::Arc<str>> {
        let t = self.ded.txs.get(&tx.0)?;
        Some(&self.table.get(t.shard)?.name)
    }
}

/// Whether `cmd` is a pub/sub command that needs a subscription (not `PUBLISH`).
pub(crate) fn is_subscription_command(class: Class) -> bool {
    matches!(
        class,
        Class::PubSub(
            PubSubKind::Subscribe
                | PubSubKind::Unsubscribe
                | PubSubKind::PSubscribe
                | PubSubKind::PUnsubscribe
                | PubSubKind::SSubscribe
                | PubSubKind::SUnsubscribe
        )
    )
}
