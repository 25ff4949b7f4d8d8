//! The connection table: every connection the core asked for, by [`ConnId`], with the shard
//! it belongs to and its timers. Slots are reused with a new generation, so a stale id never
//! reaches a newer connection.

use alloc::vec::Vec;

use super::api::ConnId;
use super::shard::ShardSlot;
use super::Tag;
use crate::conn::{Conn, State};
use crate::time::Instant;

/// What a connection is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnKind {
    /// The shard's shared, multiplexed connection.
    Shared,
    /// A pooled connection for blocking commands, one command at a time.
    Blocking,
    /// The connection of transaction `.0`.
    Tx(u64),
    /// A connection of subscription `.0`.
    Sub(u64),
}

/// One connection and the ring's bookkeeping around it.
#[derive(Debug)]
pub(crate) struct ConnSlot {
    pub(crate) shard: ShardSlot,
    pub(crate) io: Conn<Tag>,
    /// `Some(at)`: `Output::Connect` not emitted yet, due at `at` (reconnect backoff).
    pub(crate) start_at: Option<Instant>,
    /// Deadline of the connect + handshake (meaningful until ready).
    pub(crate) deadline: Instant,
    /// The shared connection of its shard, or a dedicated one and what for.
    pub(crate) kind: ConnKind,
    /// A removed shard's connection awaiting the replies it owes: closed by then at the
    /// latest ([`Instant::MAX`] otherwise).
    pub(crate) drain_deadline: Instant,
}

impl ConnSlot {
    /// Whether the driver has the socket connected (bytes may be written).
    pub(crate) fn is_connected(&self) -> bool {
        self.start_at.is_none() && self.io.state() != State::Connecting
    }

    /// The earliest of this connection's timers.
    pub(crate) fn next_timer(&self) -> Instant {
        let t = match self.start_at {
            Some(at) => at,
            None if self.io.state() != State::Ready => self.deadline,
            None => Instant::MAX,
        };
        t.min(self.drain_deadline)
    }
}

#[derive(Debug)]
struct Entry {
    generation: u32,
    slot: Option<ConnSlot>,
}

/// Connections by id.
#[derive(Debug, Default)]
pub(crate) struct ConnTable {
    entries: Vec<Entry>,
    free: Vec<u32>,
}

impl ConnTable {
    pub(crate) fn insert(&mut self, slot: ConnSlot) -> ConnId {
        match self.free.pop() {
            Some(i) => {
                let e = &mut self.entries[i as usize];
                e.generation = e.generation.wrapping_add(1);
                e.slot = Some(slot);
                ConnId::new(i, e.generation)
            }
            None => {
                self.entries.push(Entry {
                    generation: 0,
                    slot: Some(slot),
                });
                ConnId::new((self.entries.len() - 1) as u32, 0)
            }
        }
    }

    pub(crate) fn get(&self, id: ConnId) -> Option<&ConnSlot> {
        let e = self.entries.get(id.index())?;
        if e.generation == id.generation() {
            e.slot.as_ref()
        } else {
            None
        }
    }

    pub(crate) fn get_mut(&mut self, id: ConnId) -> Option<&mut ConnSlot> {
        let e = self.entries.get_mut(id.index())?;
        if e.generation == id.generation() {
            e.slot.as_mut()
        } else {
            None
        }
    }

    pub(crate) fn remove(&mut self, id: ConnId) -> Option<ConnSlot> {
        let e = self.entries.get_mut(id.index())?;
        if e.generation != id.generation() {
            return None;
        }
        let slot = e.slot.take()?;
        self.free.push(id.index() as u32);
        Some(slot)
    }

    /// The id of the connection at index `i`, if one is open there.
    pub(crate) fn id_at(&self, i: usize) -> Option<ConnId> {
        let e = self.entries.get(i)?;
        e.slot.as_ref().map(|_| ConnId::new(i as u32, e.generation))
    }

    /// Number of indices (open or free), to iterate by index while mutating.
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }
}
