//! The shard table: every configured shard (name, address, connection options, health,
//! probe schedule, reconnect state), the live subset in configured order, and the placement
//! built over it.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::api::ConnId;
use super::route::{route_of, Route};
use crate::command::{Cmd, CommandTable, Routing};
use alloc::string::ToString;

use crate::config::{ConnOptions, ShardSpec as ShardConfig};
use crate::error::{CmdName, Error, ShardFailure};
use crate::liveness::Liveness;
use crate::placement::{Algorithm, AnyPlacement, HashTag, Placement, ShardSpec};
use crate::time::Instant;

/// Index of a shard in [`ShardTable`]'s slots (stable while the shard exists).
pub(crate) type ShardSlot = u32;

/// An outstanding heartbeat.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Probe {
    /// Matches the reply's tag; replies to older probes are ignored.
    pub(crate) seq: u32,
    /// The connection the `PING` was queued on.
    pub(crate) conn: ConnId,
    /// When it counts as failed (unless the connection made progress meanwhile).
    pub(crate) deadline: Instant,
    /// The connection's replies count when the deadline was (re)set.
    pub(crate) replies_mark: u64,
}

/// One configured shard.
#[derive(Debug)]
pub(crate) struct Shard {
    pub(crate) name: Arc<str>,
    /// The endpoint as text (`host:port`, `unix:/path`): named in errors and events, never
    /// a password.
    pub(crate) addr: Arc<str>,
    /// Everything configured for the shard (endpoint, TLS, weight, overrides).
    pub(crate) spec: Arc<ShardConfig>,
    pub(crate) opts: Arc<ConnOptions>,
    pub(crate) liveness: Liveness,
    /// The shared (multiplexed) connection, in whatever state.
    pub(crate) main: Option<ConnId>,
    /// The connection to a replica that reads go to (module `replica`).
    pub(crate) replica: Option<ConnId>,
    /// Consecutive failed replica connection attempts; the next one not before
    /// `replica_next`; the last failure.
    pub(crate) replica_failures: u32,
    pub(crate) replica_next: Instant,
    pub(crate) replica_error: Option<Error>,
    /// A plain shard's listed replica tried next (an index into `ShardSpec::replicas`,
    /// modulo their number): moved on whenever the one in use fails or is skipped.
    pub(crate) replica_pick: usize,
    /// A Sentinel shard lost its primary and has not been served by one since
    /// (`Event::FailingOver` sent, `Event::Switched` due; module `failover`).
    pub(crate) failing_over: bool,
    /// A lag check is outstanding on the replica connection.
    pub(crate) lag_check: bool,
    /// The primary's replication offset at its last `ROLE` heartbeat.
    pub(crate) primary_offset: Option<i64>,
    /// Consecutive failed connection attempts (connect or handshake); while non-zero and no
    /// connection is in progress, requests fail fast with `last_error`.
    pub(crate) connect_failures: u32,
    /// A new shared connection is not opened before this (after a protocol error).
    pub(crate) next_connect: Instant,
    pub(crate) last_error: Option<Error>,
    pub(crate) probe: Option<Probe>,
    pub(crate) probe_seq: u32,
    /// When the next heartbeat starts ([`Instant::MAX`] while one is outstanding).
    pub(crate) next_probe: Instant,
    /// [`Rejoin::Flush`](crate::config::Rejoin::Flush): the shard went down and its
    /// heartbeat is `FLUSHDB` until one succeeds (module `policy`).
    pub(crate) needs_flush: bool,
    /// Removed by `set_shards` but its shared connection still owes replies to requests
    /// written before (graceful removal): out of `order` and placement, never probed; the
    /// slot is freed when that connection goes.
    pub(crate) retired: bool,
}

impl Shard {
    pub(crate) fn new(
        spec: Arc<ShardConfig>,
        opts: ConnOptions,
        liveness: Liveness,
        now: Instant,
    ) -> Shard {
        Shard {
            name: spec.name.clone(),
            addr: spec.endpoint.to_string().into(),
            spec,
            opts: Arc::new(opts),
            liveness,
            main: None,
            replica: None,
            replica_failures: 0,
            replica_next: now,
            replica_error: None,
            replica_pick: 0,
            failing_over: false,
            lag_check: false,
            primary_offset: None,
            connect_failures: 0,
            next_connect: now,
            last_error: None,
            probe: None,
            probe_seq: 0,
            next_probe: now,
            needs_flush: false,
            retired: false,
        }
    }

    /// Whether the shard is Sentinel-managed: its primary is failing over, never down
    /// (module `health`), and its heartbeat is `ROLE`.
    pub(crate) fn sentinel(&self) -> bool {
        matches!(self.spec.endpoint, crate::config::Endpoint::Sentinel { .. })
    }

    /// Whether the shard's last connect failed because its Sentinels refused the
    /// credentials for them (module `failover`: not failing over, misconfigured).
    pub(crate) fn sentinels_refused(&self) -> bool {
        matches!(
            self.last_error,
            Some(Error::Connect {
                cause: crate::error::NetError::SentinelAuth,
                ..
            })
        )
    }

    /// Whether reads may go to replicas of this shard: a Sentinel shard (the Sentinels list
    /// them) or a plain shard that lists some (`ShardSpec::replicas`).
    pub(crate) fn has_replicas(&self) -> bool {
        self.sentinel() || !self.spec.replicas.is_empty()
    }

    /// The earliest of this shard's timers.
    pub(crate) fn next_timer(&self) -> Instant {
        match &self.probe {
            Some(p) => p.deadline,
            None => self.next_probe,
        }
    }
}

/// Every shard, the live ones, and the placement over them.
#[derive(Debug, Default)]
pub(crate) struct ShardTable {
    slots: Vec<Option<Shard>>,
    /// Bumped each time a shard takes the slot (never reset, not even by `clear`): tells a
    /// [`ShardRef`](super::ShardRef) to the shard that had the slot from its successor.
    gens: Vec<u32>,
    /// Configured order (placement order).
    pub(crate) order: Vec<ShardSlot>,
    /// The shards that are up, in configured order.
    live: Vec<ShardSlot>,
    /// The shards placement is computed over (placement index → slot): `live`, or every
    /// configured shard when `place_all`.
    placed: Vec<ShardSlot>,
    /// [`FailurePolicy::FailFast`](crate::config::FailurePolicy::FailFast): placement over
    /// every configured shard, whatever its health.
    pub(crate) place_all: bool,
    placement: AnyPlacement,
    /// Round robin over live shards for keyless commands.
    rr: usize,
    /// Bumped by every [`ShardTable::rebuild`]: placement may have changed.
    pub(crate) epoch: u64,
    /// Which part of a key placement hashes (`Config::hash_tag`).
    pub(crate) hash_tag: HashTag,
}

impl ShardTable {
    pub(crate) fn with_hash_tag(hash_tag: HashTag) -> ShardTable {
        ShardTable {
            hash_tag,
            ..ShardTable::default()
        }
    }

    pub(crate) fn get(&self, slot: ShardSlot) -> Option<&Shard> {
        self.slots.get(slot as usize)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, slot: ShardSlot) -> Option<&mut Shard> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn find(&self, name: &str) -> Option<ShardSlot> {
        self.order
            .iter()
            .copied()
            .find(|&s| self.get(s).is_some_and(|sh| &*sh.name == name))
    }

    /// Stores a new shard (not yet in `order`).
    pub(crate) fn insert(&mut self, shard: Shard) -> ShardSlot {
        let i = if let Some(i) = self.slots.iter().position(Option::is_none) {
            self.slots[i] = Some(shard);
            i
        } else {
            self.slots.push(Some(shard));
            self.slots.len() - 1
        };
        if self.gens.len() <= i {
            self.gens.resize(i + 1, 0);
        }
        self.gens[i] = self.gens[i].wrapping_add(1);
        i as ShardSlot
    }

    /// The generation of `slot`: which of the shards that had the slot is there now.
    pub(crate) fn generation(&self, slot: ShardSlot) -> u32 {
        self.gens.get(slot as usize).copied().unwrap_or(0)
    }

    /// Drops a shard (the caller fixes `order` and rebuilds).
    pub(crate) fn remove(&mut self, slot: ShardSlot) -> Option<Shard> {
        self.slots.get_mut(slot as usize)?.take()
    }

    /// Removes every shard.
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.order.clear();
        self.live.clear();
        self.placed.clear();
        self.placement = AnyPlacement::default();
    }

    /// Recomputes the live set and the placement (after any liveness or membership change).
    pub(crate) fn rebuild(&mut self, algorithm: &Algorithm) {
        self.epoch = self.epoch.wrapping_add(1);
        self.live.clear();
        for &s in &self.order {
            if self.get(s).is_some_and(|sh| sh.liveness.is_up()) {
                self.live.push(s);
            }
        }
        self.placed.clear();
        let placed = if self.place_all {
            &self.order
        } else {
            &self.live
        };
        self.placed.extend_from_slice(placed);
        let specs: Vec<ShardSpec<'_>> = self
            .placed
            .iter()
            .filter_map(|&s| self.get(s))
            .map(|sh| ShardSpec::weighted(sh.name.as_bytes(), sh.spec.weight))
            .collect();
        self.placement = algorithm.build_tagged(&specs, self.hash_tag);
    }

    pub(crate) fn live_len(&self) -> usize {
        self.live.len()
    }

    /// The shard owning `key`: a live one, or under `place_all` any configured one.
    pub(crate) fn shard_for_key(&self, key: &[u8]) -> Option<ShardSlot> {
        self.placement.shard_for(key).map(|i| self.placed[i])
    }

    /// Where `cmd` goes now, or why it cannot go anywhere.
    pub(crate) fn route(&mut self, cmd: &Cmd, commands: &CommandTable) -> Result<ShardSlot, Error> {
        self.route_classified(cmd, &commands.classify(cmd))
    }

    /// [`ShardTable::route`] of a command already classified (`routing` is `cmd`'s).
    pub(crate) fn route_classified(
        &mut self,
        cmd: &Cmd,
        routing: &Routing<'_>,
    ) -> Result<ShardSlot, Error> {
        // Only errors name the command: not built on the hot path.
        let command = || CmdName::new(cmd.name());
        let route = route_of(routing);
        if let Route::Refuse(reason) = route {
            return Err(Error::Unsupported {
                command: command(),
                reason,
            });
        }
        if self.order.is_empty() {
            return Err(Error::NoShards { command: command() });
        }
        let keyed = matches!(route, Route::Key(_) | Route::SameShard(_));
        if self.live.is_empty() && !(self.place_all && keyed) {
            return Err(self.all_down(command()));
        }
        let by_key = |key| self.shard_for_key(key).unwrap_or(self.placed[0]);
        match route {
            Route::Key(key) => Ok(by_key(key)),
            Route::SameShard(keys) => {
                let mut keys = keys.args();
                match keys.next() {
                    Some(first) => {
                        let slot = by_key(first);
                        self.same_shard(slot, keys, command)?;
                        Ok(slot)
                    }
                    None if self.live.is_empty() => Err(self.all_down(command())),
                    None => Ok(self.any()),
                }
            }
            _ => Ok(self.any()),
        }
    }

    /// The shards placement is computed over, in placement-index order.
    pub(crate) fn placed(&self) -> &[ShardSlot] {
        &self.placed
    }

    /// The shards that are up, in configured order.
    pub(crate) fn live(&self) -> &[ShardSlot] {
        &self.live
    }

    /// Round robin over the live shards (there is at least one).
    pub(crate) fn any(&mut self) -> ShardSlot {
        self.rr = self.rr.wrapping_add(1);
        self.live[self.rr % self.live.len()]
    }

    /// Checks that every other key of a multi-key command lands on `first`; otherwise names
    /// every shard involved.
    fn same_shard<'k>(
        &self,
        first: ShardSlot,
        keys: impl Iterator<Item = &'k [u8]>,
        command: impl FnOnce() -> CmdName,
    ) -> Result<(), Error> {
        let mut shards: Vec<ShardSlot> = Vec::new();
        for key in keys {
            let s = self.shard_for_key(key).unwrap_or(first);
            if s != first && !shards.contains(&s) {
                if shards.is_empty() {
                    shards.push(first);
                }
                shards.push(s);
            }
        }
        if shards.is_empty() {
            return Ok(());
        }
        Err(Error::CrossShard {
            command: command(),
            shards: shards
                .iter()
                .filter_map(|&s| self.get(s).map(|sh| sh.name.clone()))
                .collect(),
        })
    }

    /// [`Error::AllShardsDown`] naming every shard and its last error.
    pub(crate) fn all_down(&self, command: CmdName) -> Error {
        Error::AllShardsDown {
            command,
            shards: self
                .order
                .iter()
                .filter_map(|&s| self.get(s))
                .map(|sh| ShardFailure {
                    name: sh.name.clone(),
                    addr: sh.addr.clone(),
                    last_error: sh.last_error.clone().map(Box::new),
                })
                .collect(),
        }
    }
}
