//! The request slab: every accepted request until its reply leaves the core. Slots and the
//! free list are reused, so a request costs no allocation in steady state.

use alloc::vec::Vec;

use super::api::{ConnId, RequestId};
use super::shard::ShardSlot;
use crate::conn::SharedCmd;
use crate::time::{Duration, Instant};

/// Where a request is waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// Queued or in flight on a connection of a shard.
    Conn(ConnId, ShardSlot),
    /// Waiting for its retry backoff to end.
    Retry(Instant),
    /// Waiting for room in the queue of this shard (`Config::queue_limit`).
    Parked(ShardSlot),
}

/// One accepted request.
#[derive(Debug)]
pub(crate) struct Request {
    /// Shared with the send queue once queued as a large command (not copied into it).
    pub(crate) cmd: SharedCmd,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Instant,
    /// Retries made so far.
    pub(crate) retries: u32,
    pub(crate) place: Place,
    /// When it was submitted (its latency is measured from here, retries included).
    pub(crate) started: Instant,
    /// The shard it last went to (its counters get the request's end).
    pub(crate) last_shard: Option<ShardSlot>,
}

#[derive(Debug)]
struct Slot {
    seq: u64,
    req: Option<Request>,
    /// The ended request's last shard, kept until the slot is reused ([`Requests::ended_on`]).
    ended_on: Option<ShardSlot>,
}

/// Requests by id. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    slots: Vec<Slot>,
    free: Vec<u32>,
    next_seq: u64,
    len: usize,
}

impl Requests {
    /// Stores `req` in a free slot (reused, or a new one). Inlined, and the slot written
    /// field by field: the request then goes straight from its caller into the slot, not
    /// through a temporary `Slot` (a request is a few hundred bytes, copied per command).
    #[inline]
    pub(crate) fn insert(&mut self, req: Request) -> RequestId {
        self.next_seq += 1;
        let seq = self.next_seq;
        self.len += 1;
        let slot = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    seq,
                    req: None,
                    ended_on: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[slot as usize];
        s.seq = seq;
        s.ended_on = None;
        s.req = Some(req);
        RequestId { seq, slot }
    }

    /// A fresh id that names no slot (for replies the ring assembles itself, such as a
    /// split command's merged reply): never equal to any other id, never found by `get`.
    pub(crate) fn reserve_id(&mut self) -> RequestId {
        self.next_seq += 1;
        RequestId {
            seq: self.next_seq,
            slot: u32::MAX,
        }
    }

    pub(crate) fn get(&self, id: RequestId) -> Option<&Request> {
        let s = self.slots.get(id.slot as usize)?;
        if s.seq == id.seq {
            s.req.as_ref()
        } else {
            None
        }
    }

    pub(crate) fn get_mut(&mut self, id: RequestId) -> Option<&mut Request> {
        let s = self.slots.get_mut(id.slot as usize)?;
        if s.seq == id.seq {
            s.req.as_mut()
        } else {
            None
        }
    }

    pub(crate) fn remove(&mut self, id: RequestId) -> Option<Request> {
        self.end(id)?.req.take()
    }

    /// Ends request `id` without handing it back (whether it was there): dropped where it
    /// lies, not moved out whole as [`Requests::remove`] does, for the reply path, which
    /// needs nothing more from it.
    pub(crate) fn discard(&mut self, id: RequestId) -> bool {
        self.end(id).map(|s| s.req = None).is_some()
    }

    /// The bookkeeping [`Requests::remove`] and [`Requests::discard`] share: if request `id`
    /// is live, records where it ended and frees its slot, handing the slot back with the
    /// request still in it for the caller to take or drop.
    fn end(&mut self, id: RequestId) -> Option<&mut Slot> {
        let s = self.slots.get_mut(id.slot as usize)?;
        if s.seq != id.seq {
            return None;
        }
        s.ended_on = s.req.as_ref()?.last_shard;
        self.free.push(id.slot);
        self.len -= 1;
        Some(s)
    }

    /// The shard request `id` last went to, once it has ended (until its slot is reused).
    pub(crate) fn ended_on(&self, id: RequestId) -> Option<ShardSlot> {
        let s = self.slots.get(id.slot as usize)?;
        if s.seq == id.seq && s.req.is_none() {
            s.ended_on
        } else {
            None
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Number of slots (live or free), to iterate by index while mutating.
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The id of the request in slot `i`, if live.
    pub(crate) fn id_at(&self, i: usize) -> Option<RequestId> {
        let s = self.slots.get(i)?;
        s.req.as_ref().map(|_| RequestId {
            seq: s.seq,
            slot: i as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Cmd;

    fn req() -> Request {
        Request {
            cmd: Cmd::new("PING").into(),
            timeout: Duration::ZERO,
            deadline: Instant::ZERO,
            retries: 0,
            place: Place::Retry(Instant::ZERO),
            started: Instant::ZERO,
            last_shard: None,
        }
    }

    #[test]
    fn stale_ids_never_match_a_reused_slot() {
        let mut r = Requests::default();
        let a = r.insert(req());
        assert!(r.remove(a).is_some());
        let b = r.insert(req());
        assert_eq!(a.slot, b.slot);
        assert!(r.get(a).is_none() && r.remove(a).is_none());
        assert!(r.get(b).is_some());
        assert_eq!(r.len(), 1);
        assert_eq!(r.id_at(b.slot as usize), Some(b));
        assert!(b > a);
    }

    #[test]
    fn discard_ends_like_remove() {
        let mut r = Requests::default();
        let a = r.insert(Request {
            last_shard: Some(3),
            ..req()
        });
        assert!(r.discard(a));
        assert!(!r.discard(a) && r.get(a).is_none() && r.len() == 0);
        assert_eq!(r.ended_on(a), Some(3));
        let b = r.insert(req());
        assert_eq!(a.slot, b.slot);
        assert!(!r.discard(a));
        assert_eq!(r.ended_on(b), None);
        assert!(r.get(b).is_some());
    }
}
