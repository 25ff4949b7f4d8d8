//! The migration window of [`RingCore`]: changing the shards without a cold start and
//! without losing data ([`RingCore::set_shards_with_window`]).
//!
//! While a window is open the ring knows two placements: the *old* one (the shards placement
//! was computed over when the window opened) and the *new* one. A key whose owner is the
//! same in both is served as always. For a key whose owner changes:
//!
//! * **Reads** (a fixed list of read-only commands: `GET`, `HGETALL`, `TTL`, `EXISTS`...) go
//!   to the new owner; on a miss (nil, an empty collection, `0`, `-2`, `none`) to the old
//!   owner; on a miss there, once more to the new owner. The third read closes a race: a key
//!   moved between the first two reads is on the new owner by the third, because every move
//!   (by the ring or by `redis-ring migrate`) writes the new owner before it deletes the
//!   old copy. With `warm_up`, a miss at the new owner moves the key instead of reading the
//!   old copy (`MIGRATE`, see below) and reads it again at the new owner.
//! * **Every other command** (writes, and any command not on the read list) first *moves*
//!   the key: `MIGRATE` from the old owner to the new one (value and remaining TTL, without
//!   `REPLACE`), then runs at the new owner. `MIGRATE` is atomic on the old owner (it writes
//!   the new owner, then deletes its copy, blocking its own clients meanwhile), so concurrent
//!   movers (other clients, the migration tool) cannot resurrect a deleted key or lose an
//!   update. `NOKEY` (nothing there) is fine; `BUSYKEY` means the new owner already holds a
//!   newer value, so the old copy is deleted (`DEL`). Read-modify-write commands (`INCR`,
//!   `LPUSH`, `APPEND`, `EXPIRE`...) therefore work on the moved value, not on an empty key.
//! * **Split commands** (`MGET`, `MSET`, `DEL`, `UNLINK`, `EXISTS`, `TOUCH`) with a moving
//!   key run per key under the same rules (`GET`, `SET`, `DEL`...) and are merged into the one
//!   reply the caller expects; the first failed key fails the whole command with its error.
//!
//! This is the "writes go to the new owner and delete the key at the old one", made
//! safe for commands that read before they write, and for concurrent movers. It needs the
//! old shards to reach the new ones at their configured addresses (as `redis-ring migrate`
//! does), with the new shards' credentials and database.
//!
//! Not covered: multi-key commands other than split commands (`RENAME`, `SUNIONSTORE`,
//! scripts, transactions, blocking commands) run at the new owner of their keys as usual,
//! without moving anything; pub/sub is unaffected; `submit_per_key` does not apply the
//! window rules. Run the migration tool before relying on such commands for moved keys.
//!
//! Shards that are in the old placement but not in the new one stay connected (heartbeats
//! included) as old owners until the window closes ([`RingCore::close_window`] or its
//! duration), and only then are removed (with their [`Event::ShardRemoved`](super::Event)).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::request::{Place, Request};
use super::shard::ShardSlot;
use super::{Output, RequestId, RingCore};
use crate::command::{Class, Cmd, Merge};
use crate::config::MigrationWindow;
use crate::error::{CmdName, Error};
use crate::placement::{AnyPlacement, Placement, ShardSpec};
use crate::resp::Value;
use crate::time::{Duration, Instant};

/// The open window: the old placement and the shards kept only for it.
#[derive(Debug)]
struct Window {
    /// The old placement's index → slot.
    old_slots: Vec<ShardSlot>,
    old: AnyPlacement,
    /// Shards of the old placement that the new one dropped: removed when the window closes.
    draining: Vec<ShardSlot>,
    until: Instant,
    warm_up: bool,
}

/// Where an operation's result goes.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// The caller: an [`Output::Reply`] with the operation's id.
    User,
    /// Key `.1` of split command `.0`.
    Group(RequestId, usize),
}

/// The step an operation is waiting on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Read at the new owner.
    ReadNew,
    /// Read at the old owner (after a miss at the new one).
    ReadOld,
    /// `MIGRATE` the key from the old owner to the new one.
    Move,
    /// `DEL` at the old owner (the new one already holds a newer value).
    DelOld,
    /// The final read at the new owner, or the command itself for a write.
    Last,
}

/// One key's command under the window rules.
#[derive(Debug)]
struct Op {
    cmd: Cmd,
    key: Vec<u8>,
    old: ShardSlot,
    new: ShardSlot,
    step: Step,
    /// The request of the current step.
    child: RequestId,
    deadline: Instant,
    timeout: Duration,
    to: Target,
}

/// A split command run key by key.
#[derive(Debug)]
struct Group {
    merge: Merge,
    results: Vec<Option<Value>>,
    members: Vec<RequestId>,
    left: usize,
    error: Option<Error>,
}

/// The migration state of a [`RingCore`].
#[derive(Debug, Default)]
pub(crate) struct Migration {
    window: Option<Window>,
    ops: BTreeMap<RequestId, Op>,
    /// Request of a step → its operation.
    children: BTreeMap<RequestId, RequestId>,
    groups: BTreeMap<RequestId, Group>,
}

impl Migration {
    /// Nothing to intercept.
    pub(crate) fn is_idle(&self) -> bool {
        self.children.is_empty()
    }
}

/// The commands read under the read rule (anything else moves the key first).
const READS: &[&[u8]] = &[
    b"GET",
    b"GETRANGE",
    b"SUBSTR",
    b"STRLEN",
    b"EXISTS",
    b"TYPE",
    b"TTL",
    b"PTTL",
    b"EXPIRETIME",
    b"PEXPIRETIME",
    b"GETBIT",
    b"BITCOUNT",
    b"BITPOS",
    b"HGET",
    b"HMGET",
    b"HGETALL",
    b"HKEYS",
    b"HVALS",
    b"HLEN",
    b"HEXISTS",
    b"HSTRLEN",
    b"HRANDFIELD",
    b"LRANGE",
    b"LLEN",
    b"LINDEX",
    b"LPOS",
    b"SMEMBERS",
    b"SISMEMBER",
    b"SMISMEMBER",
    b"SCARD",
    b"SRANDMEMBER",
    b"ZRANGE",
    b"ZRANGEBYSCORE",
    b"ZREVRANGE",
    b"ZREVRANGEBYSCORE",
    b"ZRANGEBYLEX",
    b"ZREVRANGEBYLEX",
    b"ZSCORE",
    b"ZMSCORE",
    b"ZCARD",
    b"ZCOUNT",
    b"ZRANK",
    b"ZREVRANK",
    b"ZLEXCOUNT",
    b"ZRANDMEMBER",
    b"XRANGE",
    b"XREVRANGE",
    b"XLEN",
    b"PFCOUNT",
    b"GEOPOS",
    b"GEODIST",
    b"GEOHASH",
    b"DUMP",
    b"TOUCH",
];

fn is_read(cmd: &Cmd) -> bool {
    let name = cmd.name();
    READS.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// A reply that may mean "no such key" (a false miss only costs two more round trips).
fn is_miss(v: &Value) -> bool {
    match v {
        Value::Nil | Value::Int(0 | -2) => true,
        Value::Array(a) | Value::Set(a) => a.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Simple(s) => s == b"none",
        _ => false,
    }
}

/// `BUSYKEY`: `MIGRATE`'s target already holds the key.
fn is_busy(e: &Error) -> bool {
    matches!(e, Error::Server { message, .. } if message.contains("BUSYKEY"))
}

impl RingCore {
    /// Like [`RingCore::set_shards`], opening a migration window from the current placement
    /// to the new one (see the module `migration` docs, and `ARCHITECTURE.md`): keys whose
    /// owner changes are read at the new owner then the old one, and moved to the new owner
    /// before any other command. Shards that leave the placement stay connected as old
    /// owners until the window closes. Opening a window closes any open one first.
    pub fn set_shards_with_window<I, N, A>(
        &mut self,
        shards: I,
        window: MigrationWindow,
        now: Instant,
    ) where
        I: IntoIterator<Item = (N, A)>,
        N: AsRef<str>,
        A: AsRef<str>,
    {
        let wanted: Vec<(Arc<str>, Arc<str>)> = shards
            .into_iter()
            .map(|(n, a)| (n.as_ref().into(), a.as_ref().into()))
            .collect();
        self.open_window(window, now);
        self.set_shards(wanted.iter().map(|(n, a)| (&**n, &**a)), now);
    }

    /// Opens a window from the current placement (the next `set_shards` changes it).
    pub(super) fn open_window(&mut self, window: MigrationWindow, now: Instant) {
        self.advance(now);
        self.close_window(now);
        let old_slots: Vec<ShardSlot> = self.table.placed().to_vec();
        let specs: Vec<ShardSpec<'_>> = old_slots
            .iter()
            .filter_map(|&s| self.table.get(s))
            .map(|sh| ShardSpec::new(sh.name.as_bytes()))
            .collect();
        let old = self.config.placement.build(&specs);
        let until = window.duration.map_or(Instant::MAX, |d| self.now + d);
        self.migration.window = Some(Window {
            old_slots,
            old,
            draining: Vec::new(),
            until,
            warm_up: window.warm_up,
        });
        self.wake = self.wake.min(until);
    }

    /// Closes the migration window (if one is open): every key is served by its new owner
    /// only, and shards that left the placement are removed gracefully (as by
    /// [`RingCore::set_shards`]: what they never received goes to the new owner, replies
    /// they owe are awaited). Commands already in a window step finish under its
    /// rules.
    pub fn close_window(&mut self, now: Instant) {
        self.advance(now);
        let Some(w) = self.migration.window.take() else {
            return;
        };
        let mut reroute = Vec::new();
        for slot in w.draining {
            self.remove_shard(slot, &mut reroute);
        }
        for id in reroute {
            self.retry(id);
        }
        self.run_timers();
    }

    /// Whether a migration window is open.
    pub fn window_open(&self) -> bool {
        self.migration.window.is_some()
    }

    /// While a window is open, the old owner of `key` as `(name, addr)`.
    pub fn old_shard_for_key(&self, key: &[u8]) -> Option<(&Arc<str>, &Arc<str>)> {
        let w = self.migration.window.as_ref()?;
        let slot = *w.old_slots.get(w.old.shard_for(key)?)?;
        let sh = self.table.get(slot)?;
        Some((&sh.name, &sh.addr))
    }

    /// `set_shards` is about to remove `slot`: while a window is open it stays as an old
    /// owner instead. Returns whether it was kept.
    pub(super) fn keep_for_window(&mut self, slot: ShardSlot) -> bool {
        let Some(w) = self.migration.window.as_mut() else {
            return false;
        };
        if !w.old_slots.contains(&slot) {
            return false;
        }
        w.draining.push(slot);
        self.table.order.retain(|&s| s != slot);
        true
    }

    /// `RingCore::close` forgets the window (its shards are gone); operations in flight end
    /// with their requests' errors.
    pub(super) fn forget_window(&mut self) {
        self.migration.window = None;
    }

    /// Timer: closes a window whose duration passed.
    pub(super) fn window_timer(&mut self) {
        let Some(until) = self.migration.window.as_ref().map(|w| w.until) else {
            return;
        };
        if self.now >= until {
            if let Some(w) = self.migration.window.take() {
                let mut reroute = Vec::new();
                for slot in w.draining {
                    self.remove_shard(slot, &mut reroute);
                }
                for id in reroute {
                    self.retry(id);
                }
            }
        } else {
            self.wake = self.wake.min(until);
        }
    }

    fn old_owner(&self, key: &[u8]) -> Option<ShardSlot> {
        let w = self.migration.window.as_ref()?;
        let slot = *w.old_slots.get(w.old.shard_for(key)?)?;
        self.table.get(slot).map(|_| slot)
    }

    /// Submits `cmd` under the window rules when one is open and one of its keys changes
    /// owner; `None`: the ordinary path applies.
    pub(super) fn window_submit(&mut self, cmd: &Cmd, timeout: Duration) -> Option<RequestId> {
        self.migration.window.as_ref()?;
        let (class, groups) = {
            let routing = self.config.commands.classify(cmd);
            if routing.is_malformed() || routing.is_blocking() {
                return None;
            }
            (routing.class(), routing.keys().collect::<Vec<usize>>())
        };
        let deadline = self.now + timeout;
        match class {
            Class::SingleKey => {
                let key = cmd.arg_at(*groups.first()?)?;
                let new = self.table.shard_for_key(key)?;
                let old = self.old_owner(key)?;
                if old == new {
                    return None;
                }
                let id = self.reqs.reserve_id();
                let read = is_read(cmd);
                let (key, cmd) = (key.to_vec(), cmd.clone());
                self.start_op(
                    id,
                    cmd,
                    key,
                    (old, new),
                    read,
                    deadline,
                    timeout,
                    Target::User,
                );
                Some(id)
            }
            Class::Split(merge) => {
                let mut moved = false;
                let mut owners = Vec::with_capacity(groups.len());
                for &pos in &groups {
                    let key = cmd.arg_at(pos)?;
                    let new = self.table.shard_for_key(key)?;
                    let old = self.old_owner(key).unwrap_or(new);
                    moved |= old != new;
                    owners.push((old, new));
                }
                if !moved {
                    return None;
                }
                let (single, read): (&str, bool) = match cmd.name().to_ascii_uppercase().as_slice()
                {
                    b"MGET" => ("GET", true),
                    b"MSET" => ("SET", false),
                    b"EXISTS" => ("EXISTS", true),
                    b"TOUCH" => ("TOUCH", true),
                    b"UNLINK" => ("UNLINK", false),
                    _ => ("DEL", false),
                };
                let id = self.reqs.reserve_id();
                let members: Vec<RequestId> =
                    groups.iter().map(|_| self.reqs.reserve_id()).collect();
                self.migration.groups.insert(
                    id,
                    Group {
                        merge,
                        results: alloc::vec![None; groups.len()],
                        members: members.clone(),
                        left: groups.len(),
                        error: None,
                    },
                );
                let per = merge.args_per_key();
                for (i, (&pos, &(old, new))) in groups.iter().zip(&owners).enumerate() {
                    let mut c = Cmd::new(single);
                    for a in (pos..pos + per).filter_map(|a| cmd.arg_at(a)) {
                        c = c.arg(a);
                    }
                    let key = cmd.arg_at(pos).unwrap_or_default().to_vec();
                    let to = Target::Group(id, i);
                    self.start_op(members[i], c, key, (old, new), read, deadline, timeout, to);
                }
                Some(id)
            }
            _ => None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start_op(
        &mut self,
        id: RequestId,
        cmd: Cmd,
        key: Vec<u8>,
        (old, new): (ShardSlot, ShardSlot),
        read: bool,
        deadline: Instant,
        timeout: Duration,
        to: Target,
    ) {
        let step = if old == new {
            Step::Last
        } else if read {
            Step::ReadNew
        } else {
            Step::Move
        };
        let op = Op {
            cmd,
            key,
            old,
            new,
            step,
            child: id,
            deadline,
            timeout,
            to,
        };
        self.migration.ops.insert(id, op);
        self.run_step(id, step);
    }

    /// Sends the request of `step` for operation `id`.
    fn run_step(&mut self, id: RequestId, step: Step) {
        let Some(op) = self.migration.ops.get(&id) else {
            return;
        };
        let (slot, cmd) = match step {
            Step::ReadNew | Step::Last => (op.new, op.cmd.clone()),
            Step::ReadOld => (op.old, op.cmd.clone()),
            Step::DelOld => (op.old, Cmd::new("DEL").arg(op.key.as_slice())),
            Step::Move => match self.migrate_cmd(op.new, &op.key) {
                Ok(cmd) => (op.old, cmd),
                Err(e) => return self.finish_op(id, Err(e)),
            },
        };
        let (deadline, timeout) = (op.deadline, op.timeout);
        let child = self.reqs.insert(Request {
            cmd: cmd.into(),
            timeout,
            deadline,
            retries: 0,
            place: Place::Retry(self.now),
            started: self.now,
            last_shard: None,
        });
        if let Some(op) = self.migration.ops.get_mut(&id) {
            op.step = step;
            op.child = child;
        }
        self.migration.children.insert(child, id);
        self.stats.submitted += 1;
        self.req_wake = self.req_wake.min(deadline);
        self.wake = self.wake.min(deadline);
        self.dispatch(child, slot);
    }

    /// `MIGRATE host port key db timeout [AUTH2 user pass | AUTH pass]` towards `target`.
    fn migrate_cmd(&self, target: ShardSlot, key: &[u8]) -> Result<Cmd, Error> {
        let command = CmdName::new(b"MIGRATE");
        let Some(sh) = self.table.get(target) else {
            return Err(Error::NoShards { command });
        };
        let bad = Error::InvalidCommand {
            command,
            reason: "the new owner has no TCP host:port address for MIGRATE",
        };
        let Some((host, port)) = sh.addr.rsplit_once(':') else {
            return Err(bad);
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad);
        }
        let ms = self.config.command_timeout.as_millis().max(1) as u64;
        let mut cmd = Cmd::new("MIGRATE")
            .arg(host)
            .arg(port)
            .arg(key)
            .arg(sh.opts.db)
            .arg(ms);
        match (&sh.opts.username, &sh.opts.password) {
            (Some(user), Some(pass)) => {
                cmd = cmd.arg("AUTH2").arg(user.as_str()).arg(pass.as_str());
            }
            (None, Some(pass)) => cmd = cmd.arg("AUTH").arg(pass.as_str()),
            _ => {}
        }
        Ok(cmd)
    }

    /// A step's request was answered: next step or the end. `false` when `id` is not a
    /// step's request.
    pub(super) fn on_window_reply(
        &mut self,
        child: RequestId,
        result: &mut Result<Value, Error>,
    ) -> bool {
        let Some(id) = self.migration.children.remove(&child) else {
            return false;
        };
        let result = core::mem::replace(result, Ok(Value::Nil));
        let Some(op) = self.migration.ops.get(&id) else {
            return true; // cancelled
        };
        if op.child != child {
            return true;
        }
        let step = op.step;
        let warm = self.migration.window.as_ref().is_some_and(|w| w.warm_up);
        match (step, result) {
            (Step::ReadNew, Ok(v)) if is_miss(&v) => {
                self.run_step(id, if warm { Step::Move } else { Step::ReadOld });
            }
            (Step::ReadOld, Ok(v)) if is_miss(&v) => self.run_step(id, Step::Last),
            (Step::Move, Err(e)) if is_busy(&e) => self.run_step(id, Step::DelOld),
            (Step::Move | Step::DelOld, Ok(_)) => self.run_step(id, Step::Last),
            (_, result) => self.finish_op(id, result),
        }
        true
    }

    /// A step's request must be retried: to the same shard (the step decides the shard).
    /// `false` when `id` is not a step's request.
    pub(super) fn retry_window(&mut self, child: RequestId) -> bool {
        let Some(&id) = self.migration.children.get(&child) else {
            return false;
        };
        let slot = self.migration.ops.get(&id).map(|op| match op.step {
            Step::ReadNew | Step::Last => op.new,
            _ => op.old,
        });
        let retrying = self
            .reqs
            .get(child)
            .is_some_and(|r| matches!(r.place, Place::Retry(_)));
        match slot {
            Some(slot) if retrying => self.dispatch(child, slot),
            Some(_) => {}
            None => {
                self.reqs.discard(child);
                self.migration.children.remove(&child);
            }
        }
        true
    }

    fn finish_op(&mut self, id: RequestId, result: Result<Value, Error>) {
        let Some(op) = self.migration.ops.remove(&id) else {
            return;
        };
        match op.to {
            Target::User => self.out.push_back(Output::Reply { id, result }),
            Target::Group(g, i) => self.group_result(g, i, result),
        }
    }

    fn group_result(&mut self, g: RequestId, i: usize, result: Result<Value, Error>) {
        let Some(group) = self.migration.groups.get_mut(&g) else {
            return;
        };
        match result {
            Ok(v) => {
                if let Some(slot) = group.results.get_mut(i) {
                    *slot = Some(v);
                }
            }
            Err(e) => {
                group.error.get_or_insert(e);
            }
        }
        group.left -= 1;
        if group.left > 0 {
            return;
        }
        let Some(group) = self.migration.groups.remove(&g) else {
            return;
        };
        let result = match group.error {
            Some(e) => Err(e),
            None => Ok(match group.merge {
                Merge::Values => Value::Array(
                    group
                        .results
                        .into_iter()
                        .map(|v| v.unwrap_or(Value::Nil))
                        .collect(),
                ),
                Merge::AllOk => Value::Okay,
                Merge::SumCounts => Value::Int(
                    group
                        .results
                        .iter()
                        .filter_map(|v| v.as_ref().and_then(Value::as_int))
                        .sum(),
                ),
            }),
        };
        self.out.push_back(Output::Reply { id: g, result });
    }

    /// Cancels operation or split command `id`; `false` when it is neither.
    pub(super) fn cancel_window(&mut self, id: RequestId) -> bool {
        let members = match self.migration.groups.remove(&id) {
            Some(group) => group.members,
            None if self.migration.ops.contains_key(&id) => alloc::vec![id],
            None => return false,
        };
        for m in members {
            if let Some(op) = self.migration.ops.remove(&m) {
                self.migration.children.remove(&op.child);
                self.reqs.discard(op.child);
            }
        }
        true
    }

    /// Commands in flight under the window rules (each key of a split command counts).
    pub fn window_ops(&self) -> usize {
        self.migration.ops.len()
    }
}
