//! The per-shard queue bound (`Config::queue_limit`): what a stuck shard may make the client
//! hold. At the bound a request parks here (`Place::Parked`, per-shard FIFO) until its
//! shard has room, or fails with `Error::ShardOverloaded`, as `WhenFull` says.

use alloc::collections::VecDeque;

use super::conns::ConnSlot;
use super::request::Place;
use super::shard::ShardSlot;
use super::{ConnId, RequestId, RingCore};
use crate::config::{QueueLimit, WhenFull};
use crate::error::Error;

impl RingCore {
    /// Whether request `id`, about to be queued on `conn` (`shard`'s shared connection), is
    /// held back: the queue is full, or older requests wait for it (arrival order). Then it
    /// was parked or failed.
    pub(super) fn held_back(&mut self, id: RequestId, shard: ShardSlot, conn: ConnId) -> bool {
        let Some(c) = self.conns.get(conn) else {
            return false;
        };
        let (bytes, commands) = (c.io.send_len(), c.io.pending());
        let full = is_full(&self.config.queue_limit, c);
        let queue_ahead = self.parked.get(&shard).is_some_and(|q| !q.is_empty());
        if full || (queue_ahead && !self.unparking) {
            self.when_full(id, shard, bytes, commands);
            return true;
        }
        false
    }

    /// Request `id` meets a full queue on `shard`: it waits (parked, in arrival order) or
    /// fails, as `Config::queue_limit` says.
    fn when_full(&mut self, id: RequestId, shard: ShardSlot, bytes: usize, commands: usize) {
        match self.config.queue_limit.when_full {
            WhenFull::Wait => {
                if let Some(req) = self.reqs.get_mut(id) {
                    req.place = Place::Parked(shard);
                    self.parked.entry(shard).or_default().push_back(id);
                    self.stats.parked += 1;
                }
            }
            _ => {
                let Some(sh) = self.table.get(shard) else {
                    return;
                };
                let err = Error::ShardOverloaded {
                    shard: sh.name.clone(),
                    addr: sh.addr.clone(),
                    command: self.command_name(id),
                    queued_bytes: bytes,
                    queued_commands: commands,
                };
                self.complete(id, Err(err));
            }
        }
    }

    /// Sends parked requests on while their shard's queue has room (after bytes were written,
    /// replies came, a connection went), each routed again over the live shards.
    pub(super) fn unpark(&mut self) {
        if self.parked.is_empty() {
            return;
        }
        let shards: alloc::vec::Vec<ShardSlot> = self.parked.keys().copied().collect();
        self.unparking = true;
        for shard in shards {
            // Bounded: a request routed back onto this very queue is not met again.
            let mut budget = self.parked.get(&shard).map_or(0, VecDeque::len);
            while let Some(&id) = self.parked.get(&shard).and_then(VecDeque::front) {
                if budget == 0 {
                    break;
                }
                budget -= 1;
                let live = self
                    .reqs
                    .get(id)
                    .is_some_and(|r| r.place == Place::Parked(shard));
                if live && self.queue_full(shard) {
                    break;
                }
                if let Some(q) = self.parked.get_mut(&shard) {
                    q.pop_front();
                }
                if let Some(req) = self.reqs.get_mut(id).filter(|_| live) {
                    req.place = Place::Retry(self.now);
                    self.retry(id);
                }
            }
            if self.parked.get(&shard).is_some_and(VecDeque::is_empty) {
                self.parked.remove(&shard);
            }
        }
        self.unparking = false;
    }

    /// Whether `shard`'s shared connection is at its queue limit (no connection: not full).
    fn queue_full(&self, shard: ShardSlot) -> bool {
        let limit = self.config.queue_limit;
        self.table
            .get(shard)
            .and_then(|sh| sh.main)
            .and_then(|c| self.conns.get(c))
            .is_some_and(|c| is_full(&limit, c))
    }
}

/// Whether connection `c` is at `limit` (bytes not yet written, or commands pending).
fn is_full(limit: &QueueLimit, c: &ConnSlot) -> bool {
    c.io.send_len() >= limit.max_bytes.max(1) || c.io.pending() >= limit.max_commands.max(1)
}
