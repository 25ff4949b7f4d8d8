//! The failure policy of [`RingCore`] (see [`FailurePolicy`] and [`Rejoin`]): refusing at
//! once a command for a down shard under `FailFast`, and the `FLUSHDB` heartbeat of a shard
//! rejoining under `Rejoin::Flush`. Placement over every configured shard is the shard
//! table's `place_all`.

use super::shard::{ShardSlot, ShardTable};
use super::{RequestId, RingCore};
use crate::command::Cmd;
use crate::config::{FailurePolicy, Rejoin};
use crate::error::{CmdName, Error};
use crate::liveness::Transition;

impl RingCore {
    /// Under `FailFast`, the error that ends request `id` at once because `slot` is down.
    pub(super) fn down_refusal(&self, id: RequestId, slot: ShardSlot) -> Option<Error> {
        if !self.table.place_all {
            return None;
        }
        let sh = self.table.get(slot)?;
        if sh.liveness.is_up() {
            return None;
        }
        Some(Error::ShardDown {
            shard: sh.name.clone(),
            addr: sh.addr.clone(),
            command: self.command_name(id),
        })
    }

    /// Applies the rejoin rule after a heartbeat of `slot` (`ok`: it succeeded), before the
    /// transition it caused takes effect.
    pub(super) fn rejoin_rule(&mut self, slot: ShardSlot, ok: bool, t: Option<Transition>) {
        let flush = self.config.rejoin == Rejoin::Flush
            && self.config.failure_policy == FailurePolicy::Rehash;
        let Some(sh) = self.table.get_mut(slot) else {
            return;
        };
        if ok {
            // While `needs_flush`, every heartbeat is the flush: this one succeeded.
            sh.needs_flush = false;
        } else if flush && t == Some(Transition::Down) {
            sh.needs_flush = true;
        }
    }
}

/// The heartbeat commands, built once.
#[derive(Debug)]
pub(super) struct Heartbeats {
    /// `Config::heartbeat`.
    pub(super) ping: Cmd,
    /// `FLUSHDB SYNC`: the heartbeat of a shard rejoining under `Rejoin::Flush`.
    pub(super) flush: Cmd,
    /// `ROLE`: the heartbeat of a Sentinel-managed shard (it also finds a demoted primary,
    /// judged in `conns_io`).
    pub(super) role: Cmd,
}

impl Heartbeats {
    pub(super) fn new(ping: Cmd) -> Heartbeats {
        Heartbeats {
            ping,
            flush: Cmd::new("FLUSHDB").arg("SYNC"),
            role: Cmd::new("ROLE"),
        }
    }

    /// The heartbeat command of `slot`: `FLUSHDB SYNC` while it must be flushed, `ROLE` for
    /// a Sentinel shard, else `ping`.
    pub(super) fn cmd(&self, table: &ShardTable, slot: ShardSlot) -> &Cmd {
        match table.get(slot) {
            Some(sh) if sh.needs_flush => &self.flush,
            Some(sh) if sh.sentinel() => &self.role,
            _ => &self.ping,
        }
    }

    /// The name heartbeat errors carry.
    pub(super) fn name(&self, table: &ShardTable, slot: ShardSlot) -> CmdName {
        CmdName::new(self.cmd(table, slot).name())
    }
}

/// Whether the user's heartbeat check judges the reply of `slot`'s heartbeat (not while it
/// is the rejoin flush, whose reply is `OK`, nor a Sentinel shard's `ROLE`).
pub(super) fn checks_heartbeat(table: &ShardTable, slot: ShardSlot) -> bool {
    !table
        .get(slot)
        .is_some_and(|sh| sh.needs_flush || sh.sentinel())
}
