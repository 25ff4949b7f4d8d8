//! Split and merge of the multi-key commands whose keys may live on several shards
//! (`MGET`, `MSET`, `DEL`, `UNLINK`, `EXISTS`, `TOUCH`: [`Class::Split`]).
//!
//! How it works, and why this way:
//! * A split command becomes one *parent* (what the caller sees: one [`RequestId`], one
//!   [`Output::Reply`]) and one *part* per shard. Parts are ordinary requests of the slab:
//!   they share the parent's deadline and follow every per-request rule (queued on the
//!   shard's shared connection, timeouts, retries with backoff). Keys sharing a hash tag
//!   land in the same part because placement hashes the tag.
//! * A part's reply is intercepted in `poll_output` (the one place every reply passes),
//!   merged into its parent, and the parent's reply is emitted when the last part is done.
//!   Parts end by the deadline, so the parent does too.
//! * A retried part is routed again over the shards live *now*; when its keys no longer
//!   share a shard (its shard went down and its keys spread), the part is split again. A
//!   single-shard request of a split command is converted into a parent the same way.
//! * By default ([`Mode::Whole`]) any failed part fails the whole command with
//!   [`Error::Split`] naming each failed shard, its keys and its error. The per-key form
//!   ([`RingCore::submit_per_key`]) gives each key its own id and reply instead.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::request::{Place, Request};
use super::shard::ShardSlot;
use super::{Output, RequestId, RingCore};
use crate::command::{Class, Cmd, Merge, Routing};
use crate::conn::SharedCmd;
use crate::error::{CmdName, Error, PartFailure};
use crate::resp::Value;
use crate::time::{Duration, Instant};

/// How a split command's result is delivered.
#[derive(Debug)]
enum Mode {
    /// One merged reply for the parent id.
    Whole {
        /// `MGET`: the values by key group.
        values: Vec<Value>,
        /// `DEL`...: the counts so far.
        count: i64,
        failures: Vec<(usize, PartFailure)>,
    },
    /// One reply per key group, each with its own id (`None` once cancelled).
    PerKey(Vec<Option<RequestId>>),
}

/// A split command in progress.
#[derive(Debug)]
struct Parent {
    /// The command as submitted (shared when it was queued whole before a retry split it).
    cmd: SharedCmd,
    merge: Merge,
    /// The argument index of each key group's key (the value follows it for `MSET`).
    groups: Vec<usize>,
    /// Parts not finished yet.
    parts: Vec<RequestId>,
    /// Parts made so far (re-splits included).
    made: usize,
    mode: Mode,
}

/// One part of a parent: a request of the slab carrying some of the parent's key groups.
#[derive(Debug)]
struct Part {
    parent: RequestId,
    /// Indices into the parent's `groups`, ascending.
    groups: Vec<u32>,
    /// The shard it was last sent to.
    shard: Option<Arc<str>>,
}

/// The split-command state of a [`RingCore`].
#[derive(Debug, Default)]
pub(crate) struct Splits {
    parents: BTreeMap<RequestId, Parent>,
    parts: BTreeMap<RequestId, Part>,
}

impl Splits {
    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

/// The key groups of a split command and the shard of each, when they span several shards.
pub(super) struct Plan {
    merge: Merge,
    groups: Vec<usize>,
    by_shard: Vec<(ShardSlot, Vec<u32>)>,
}

impl RingCore {
    /// The split of `cmd` (classified as `routing`) over the live shards, if it is a split
    /// command whose keys land on more than one of them (`want_single` also plans a one-shard command, for the per-key
    /// form).
    pub(super) fn plan(&self, cmd: &Cmd, routing: &Routing<'_>, want_single: bool) -> Option<Plan> {
        let Class::Split(merge) = routing.class() else {
            return None;
        };
        if routing.is_malformed() || routing.is_blocking() {
            return None;
        }
        let groups: Vec<usize> = routing.keys().collect();
        let mut by_shard: Vec<(ShardSlot, Vec<u32>)> = Vec::new();
        for (g, &pos) in groups.iter().enumerate() {
            let slot = self.table.shard_for_key(cmd.arg_at(pos)?)?;
            match by_shard.iter_mut().find(|(s, _)| *s == slot) {
                Some((_, v)) => v.push(g as u32),
                None => by_shard.push((slot, alloc::vec![g as u32])),
            }
        }
        if by_shard.is_empty() || (by_shard.len() == 1 && !want_single) {
            return None;
        }
        Some(Plan {
            merge,
            groups,
            by_shard,
        })
    }

    /// Starts split command `cmd` as `plan` says (from [`RingCore::plan`]); returns the
    /// parent's id.
    pub(super) fn start_split(&mut self, cmd: Cmd, plan: Plan, timeout: Duration) -> RequestId {
        let id = self.reqs.reserve_id();
        let mode = Mode::Whole {
            values: alloc::vec![Value::Nil; if plan.merge == Merge::Values { plan.groups.len() } else { 0 }],
            count: 0,
            failures: Vec::new(),
        };
        self.start_parent(id, cmd, plan, mode, self.now + timeout, timeout);
        id
    }

    /// Submits a split command (`MGET`, `MSET`; see [`Class::Split`]) in its per-key form: one
    /// [`RequestId`] per key (per key/value pair for `MSET`), in key order, each answered by
    /// its own [`Output::Reply`] (the key's value for `MGET`, `OK` for `MSET`) or by the
    /// error of the shard that holds it. For callers who accept partial answers: a dead shard
    /// fails only its own keys.
    ///
    /// Refused with [`Error::InvalidCommand`] for commands that are not split commands, and
    /// for the counting ones (`DEL`, `EXISTS`...: a count cannot be attributed to one key);
    /// like [`RingCore::submit`] otherwise ([`Error::NoShards`], [`Error::AllShardsDown`]).
    pub fn submit_per_key(&mut self, cmd: Cmd, now: Instant) -> Result<Vec<RequestId>, Error> {
        let timeout = self.config.command_timeout;
        self.submit_per_key_with_timeout(cmd, timeout, now)
    }

    /// [`RingCore::submit_per_key`] with its own timeout.
    pub fn submit_per_key_with_timeout(
        &mut self,
        cmd: Cmd,
        timeout: Duration,
        now: Instant,
    ) -> Result<Vec<RequestId>, Error> {
        self.advance(now);
        let command = CmdName::new(cmd.name());
        let routing = self.config.commands.classify(&cmd);
        match routing.class() {
            Class::Split(Merge::Values | Merge::AllOk) if !routing.is_malformed() => {}
            Class::Split(_) => {
                return Err(Error::InvalidCommand {
                    command,
                    reason: "a count cannot be attributed to one key: submit it whole",
                })
            }
            _ => {
                return Err(Error::InvalidCommand {
                    command,
                    reason: "only MGET and MSET have a per-key form",
                })
            }
        }
        if self.table.order.is_empty() {
            return Err(Error::NoShards { command });
        }
        if self.table.live_len() == 0 {
            return Err(self.table.all_down(command));
        }
        let routing = self.config.commands.classify(&cmd);
        let Some(plan) = self.plan(&cmd, &routing, true) else {
            return Err(Error::InvalidCommand {
                command,
                reason: "no key to split",
            });
        };
        let ids: Vec<RequestId> = plan.groups.iter().map(|_| self.reqs.reserve_id()).collect();
        let parent = self.reqs.reserve_id();
        let mode = Mode::PerKey(ids.iter().copied().map(Some).collect());
        self.start_parent(parent, cmd, plan, mode, self.now + timeout, timeout);
        self.run_timers();
        Ok(ids)
    }

    fn start_parent(
        &mut self,
        id: RequestId,
        cmd: Cmd,
        plan: Plan,
        mode: Mode,
        deadline: Instant,
        timeout: Duration,
    ) {
        self.splits.parents.insert(
            id,
            Parent {
                cmd: cmd.into(),
                merge: plan.merge,
                groups: plan.groups,
                parts: Vec::new(),
                made: 0,
                mode,
            },
        );
        for (slot, groups) in plan.by_shard {
            self.start_part(id, slot, groups, deadline, timeout, 0);
        }
    }

    /// Sends the key groups `groups` of parent `parent` to `slot` as one new part.
    fn start_part(
        &mut self,
        parent: RequestId,
        slot: ShardSlot,
        groups: Vec<u32>,
        deadline: Instant,
        timeout: Duration,
        retries: u32,
    ) {
        let Some(p) = self.splits.parents.get_mut(&parent) else {
            return;
        };
        let per = p.merge.args_per_key();
        let cmd = p.cmd.select(
            groups
                .iter()
                .flat_map(|&g| (0..per).map(move |i| (g as usize, i)))
                .map(|(g, i)| p.groups[g] + i),
        );
        let id = self.reqs.insert(Request {
            cmd: cmd.into(),
            timeout,
            deadline,
            retries,
            place: Place::Retry(self.now),
            started: self.now,
            last_shard: None,
        });
        p.parts.push(id);
        p.made += 1;
        let shard = self.table.get(slot).map(|sh| sh.name.clone());
        self.splits.parts.insert(
            id,
            Part {
                parent,
                groups,
                shard,
            },
        );
        self.stats.submitted += 1;
        self.req_wake = self.req_wake.min(deadline);
        self.wake = self.wake.min(deadline);
        self.dispatch(id, slot);
    }

    /// Takes the reply of a part; `false` when `id` is not a part (the reply is the caller's).
    pub(super) fn on_part_reply(
        &mut self,
        id: RequestId,
        result: &mut Result<Value, Error>,
    ) -> bool {
        let Some(part) = self.splits.parts.remove(&id) else {
            return false;
        };
        let Some(parent) = self.splits.parents.get_mut(&part.parent) else {
            return true; // cancelled
        };
        parent.parts.retain(|&p| p != id);
        let result = core::mem::replace(result, Ok(Value::Nil));
        let command = CmdName::new(parent.cmd.name());
        let keys = || -> Vec<Vec<u8>> {
            part.groups
                .iter()
                .filter_map(|&g| parent.cmd.arg_at(parent.groups[g as usize]))
                .map(<[u8]>::to_vec)
                .collect()
        };
        let unexpected = |shard: &Option<Arc<str>>| Error::UnexpectedReply {
            shard: shard.clone().unwrap_or_else(|| "?".into()),
            addr: "?".into(),
            command,
        };
        match &mut parent.mode {
            Mode::Whole {
                values,
                count,
                failures,
            } => {
                let error = match (parent.merge, result) {
                    (_, Err(e)) => Some(e),
                    (Merge::Values, Ok(Value::Array(vs))) if vs.len() == part.groups.len() => {
                        for (&g, v) in part.groups.iter().zip(vs) {
                            values[g as usize] = v;
                        }
                        None
                    }
                    (Merge::AllOk, Ok(Value::Okay)) => None,
                    (Merge::AllOk, Ok(Value::Simple(s))) if s == b"OK" => None,
                    (Merge::SumCounts, Ok(Value::Int(n))) => {
                        *count = count.saturating_add(n);
                        None
                    }
                    _ => Some(unexpected(&part.shard)),
                };
                if let Some(e) = error {
                    let shard = e.shard().map(Arc::from).or(part.shard.clone());
                    failures.push((
                        part.groups.first().map_or(0, |&g| g as usize),
                        PartFailure {
                            shard,
                            keys: keys(),
                            error: alloc::boxed::Box::new(e),
                        },
                    ));
                }
            }
            Mode::PerKey(ids) => {
                let mut values = match (parent.merge, result) {
                    (Merge::Values, Ok(Value::Array(vs))) if vs.len() == part.groups.len() => {
                        Ok(vs)
                    }
                    (Merge::AllOk, Ok(Value::Okay)) => Ok(Vec::new()),
                    (Merge::AllOk, Ok(Value::Simple(s))) if s == b"OK" => Ok(Vec::new()),
                    (_, Err(e)) => Err(e),
                    _ => Err(unexpected(&part.shard)),
                }
                .map(Vec::into_iter);
                for &g in &part.groups {
                    let one = match &mut values {
                        Ok(vs) => Ok(vs.next().unwrap_or(Value::Okay)),
                        Err(e) => Err(e.clone()),
                    };
                    if let Some(key_id) = ids[g as usize].take() {
                        self.out.push_back(Output::Reply {
                            id: key_id,
                            result: one,
                        });
                    }
                }
            }
        }
        if parent.parts.is_empty() {
            self.finish_parent(part.parent);
        }
        true
    }

    fn finish_parent(&mut self, id: RequestId) {
        let Some(parent) = self.splits.parents.remove(&id) else {
            return;
        };
        let Mode::Whole {
            values,
            count,
            mut failures,
        } = parent.mode
        else {
            return; // per-key replies are already out
        };
        let result = if failures.is_empty() {
            Ok(match parent.merge {
                Merge::Values => Value::Array(values),
                Merge::AllOk => Value::Okay,
                _ => Value::Int(count),
            })
        } else {
            failures.sort_by_key(|(first, _)| *first);
            Err(Error::Split {
                command: CmdName::new(parent.cmd.name()),
                parts: parent.made,
                failures: failures.into_iter().map(|(_, f)| f).collect(),
            })
        };
        self.out.push_back(Output::Reply { id, result });
    }

    /// A part's retry backoff ended: route it again over the shards live now, splitting it
    /// again if its keys spread. `false` when `id` is not a part.
    pub(super) fn retry_part(&mut self, id: RequestId) -> bool {
        if !self.splits.parts.contains_key(&id) {
            return false;
        }
        let Some(req) = self.reqs.get(id) else {
            return true;
        };
        if !matches!(req.place, Place::Retry(_)) {
            return true;
        }
        match self.table.route(&req.cmd, &self.config.commands) {
            Ok(slot) => {
                let name = self.table.get(slot).map(|sh| sh.name.clone());
                if let Some(p) = self.splits.parts.get_mut(&id) {
                    p.shard = name;
                }
                self.dispatch(id, slot);
            }
            Err(Error::CrossShard { .. }) => self.resplit_part(id),
            Err(e) => self.complete(id, Err(e)),
        }
        true
    }

    /// Replaces part `id` (waiting for its retry) by one part per shard its keys map to now.
    fn resplit_part(&mut self, id: RequestId) {
        let (Some(req), Some(part)) = (self.reqs.remove(id), self.splits.parts.remove(&id)) else {
            return;
        };
        let Some(parent) = self.splits.parents.get_mut(&part.parent) else {
            return;
        };
        parent.parts.retain(|&p| p != id);
        let mut by_shard: Vec<(ShardSlot, Vec<u32>)> = Vec::new();
        for &g in &part.groups {
            let key = parent.cmd.arg_at(parent.groups[g as usize]).unwrap_or(b"");
            let slot = self
                .table
                .shard_for_key(key)
                .or_else(|| self.table.order.first().copied())
                .unwrap_or(0);
            match by_shard.iter_mut().find(|(s, _)| *s == slot) {
                Some((_, v)) => v.push(g),
                None => by_shard.push((slot, alloc::vec![g])),
            }
        }
        for (slot, groups) in by_shard {
            self.start_part(
                part.parent,
                slot,
                groups,
                req.deadline,
                req.timeout,
                req.retries,
            );
        }
    }

    /// A whole request of a split command whose keys spread over several shards at a retry
    /// (its shard went down): it becomes a parent under the same id, split over the shards
    /// live now. `false` when it is not a split command.
    pub(super) fn convert_to_split(&mut self, id: RequestId) -> bool {
        let Some(req) = self.reqs.get(id) else {
            return false;
        };
        let routing = self.config.commands.classify(&req.cmd);
        let Some(plan) = self.plan(&req.cmd, &routing, true) else {
            return false;
        };
        let Some(req) = self.reqs.remove(id) else {
            return false;
        };
        let mode = Mode::Whole {
            values: alloc::vec![Value::Nil; if plan.merge == Merge::Values { plan.groups.len() } else { 0 }],
            count: 0,
            failures: Vec::new(),
        };
        // The whole request counted as submitted; its reply now comes from the parent.
        self.stats.submitted = self.stats.submitted.saturating_sub(1);
        self.splits.parents.insert(
            id,
            Parent {
                cmd: req.cmd,
                merge: plan.merge,
                groups: plan.groups,
                parts: Vec::new(),
                made: 0,
                mode,
            },
        );
        for (slot, groups) in plan.by_shard {
            self.start_part(id, slot, groups, req.deadline, req.timeout, req.retries);
        }
        true
    }

    /// Cancels a split command (its parent id) or one key of a per-key split; `false` when
    /// `id` is neither.
    pub(super) fn cancel_split(&mut self, id: RequestId) -> bool {
        if let Some(parent) = self.splits.parents.remove(&id) {
            for part in parent.parts {
                self.splits.parts.remove(&part);
                self.reqs.discard(part);
            }
            return true;
        }
        let mut emptied = None;
        let mut found = false;
        for (&pid, parent) in self.splits.parents.iter_mut() {
            if let Mode::PerKey(ids) = &mut parent.mode {
                if let Some(slot) = ids.iter_mut().find(|k| **k == Some(id)) {
                    *slot = None;
                    found = true;
                    if ids.iter().all(Option::is_none) {
                        emptied = Some(pid);
                    }
                    break;
                }
            }
        }
        if let Some(pid) = emptied {
            self.cancel_split(pid);
        }
        found
    }
}
