//! The invariants checked in every simulator run, fed with what the driver loop sees. Each
//! broken invariant is a [`Violation`] naming its [`Rule`], so a test of the simulator can
//! assert *which* rule caught a planted bug.
//!
//! * Each accepted request gets exactly one reply (none when cancelled), by its deadline;
//!   a timeout comes no earlier than its deadline either.
//! * Every reply belongs to its request: `TAGGED` replies echo the request's key and tag and
//!   name an allowed shard; every other reply is judged against the [`Model`] of the fake
//!   shards' data (what was acknowledged, what is in flight, what a crash lost), so a value
//!   of another key, a split `MGET` merged in the wrong order, a read on a shard placement
//!   never named, or a stale value fails the run; errors are of the kinds a fault can cause.
//! * A command runs only on the shard placement names over the live set (at submit time or
//!   at one of its retries): the set of allowed shards of a pending request grows with every
//!   live-set change.
//! * A command carrying a unique tag (`TAGGED`, `SET`) runs at most once on all shards
//!   together: a command that may have run is never re-sent.
//! * A crashed shard is down within `fail_threshold × heartbeat + connect timeout`; a
//!   restarted shard is up within one heartbeat plus the round trips of its probe
//!   (connect, handshake, `PING`); a healthy shard is never marked down; requests on a
//!   healthy shard are never delayed beyond a few round trips.

use std::collections::{HashMap, HashSet};

use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::RequestId;
use redis_ring_core::time::{Duration, Instant};

/// The invariant a [`Violation`] broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A reply for a request that is not pending (a duplicate, or never submitted), or an
    /// id returned twice by submit.
    UnknownReply,
    /// A reply for a request the caller cancelled.
    ReplyAfterCancel,
    /// A reply after the request's deadline.
    Late,
    /// A timeout error before the request's deadline.
    EarlyTimeout,
    /// A `TAGGED` reply that echoes another request's key or tag.
    ReplyIdentity,
    /// A command ran on a shard placement never named for its key.
    WrongShard,
    /// A value the data model rules out (another key's value, a stale or lost value, a
    /// count no possible state gives).
    WrongValue,
    /// A reply of the wrong shape for its command.
    WrongShape,
    /// An error no injected fault explains.
    UnexpectedError,
    /// A request on a healthy shard failed.
    HealthyFailed,
    /// A request on a healthy shard took longer than a few round trips.
    HealthySlow,
    /// A healthy shard was marked down.
    HealthyMarkedDown,
    /// A request never got a reply.
    NoReply,
    /// A fake shard received bytes that are not a command.
    ClientBytes,
    /// A command with a unique tag ran twice.
    RanTwice,
    /// A crashed shard was not marked down within its bound.
    DownTooLate,
    /// A recovered shard was not marked up within its bound.
    UpTooLate,
    /// The ring broke its contract with the driver (an unknown address, a connection
    /// opened twice, an empty transmit, an output that never ends, a refused submit).
    DriverContract,
    /// The ring panicked.
    Panic,
}

/// A broken invariant: which rule, and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub rule: Rule,
    /// What broke.
    pub message: String,
}

impl Violation {
    /// A violation of `rule`.
    pub fn new(rule: Rule, message: impl Into<String>) -> Violation {
        Violation {
            rule,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{:?}] {}", self.rule, self.message)
    }
}

/// Shorthand for `Err(Violation::new(rule, message))`.
pub fn fail<T>(rule: Rule, message: impl Into<String>) -> Result<T, Violation> {
    Err(Violation::new(rule, message))
}

/// What a request was, to judge its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `TAGGED key tag`: the reply must be `<shard>|key|tag` from an allowed shard.
    Tagged {
        /// The key.
        key: Vec<u8>,
        /// The request's own tag.
        tag: u64,
    },
    /// `SET key tag` (tags are unique): `OK`.
    Set(u64),
    /// `GET key`: a value the model allows for the key.
    Get,
    /// `INCR`: a positive integer, at most the number of `INCR`s of the key so far.
    Incr,
    /// `DEL` of its keys: at most the number of keys that may exist.
    Del,
    /// `EXISTS` of its keys: between the keys that must and that may exist.
    Exists,
    /// `MGET` of its keys: per key, in order, a value the model allows.
    Mget,
    /// `PING`: `PONG`.
    Ping,
}

impl Kind {
    /// The value this request may write to each of its keys (`Some(None)`: deletes).
    fn writes(&self) -> Option<Option<u64>> {
        match self {
            Kind::Set(tag) => Some(Some(*tag)),
            Kind::Del => Some(None),
            _ => None,
        }
    }

    fn reads(&self) -> bool {
        matches!(self, Kind::Get | Kind::Mget | Kind::Exists | Kind::Del)
    }
}

/// One key of a request and the shards placement named for it.
#[derive(Clone, Debug)]
pub struct KeyPart {
    /// The key.
    pub key: Vec<u8>,
    /// Shards that placement named for the key since the request was submitted.
    pub allowed: Vec<String>,
}

/// One accepted request.
#[derive(Debug)]
pub struct Pending {
    /// What it was.
    pub kind: Kind,
    /// Its keys, in command order (none for `PING`).
    pub keys: Vec<KeyPart>,
    /// When it was submitted.
    pub submitted: Instant,
    /// Its deadline.
    pub deadline: Instant,
    /// Whether the caller cancelled it (no reply may come).
    pub cancelled: bool,
    /// Whether its shard was healthy at submit (then it must not be delayed).
    pub healthy: bool,
    /// For reads: per key, every value the key could have had while the request was
    /// pending on one of its allowed shards.
    candidates: Vec<HashSet<Option<u64>>>,
}

impl Pending {
    /// A request of `kind` over `keys` (each with the shard placement names for it now).
    pub fn new(
        kind: Kind,
        keys: Vec<KeyPart>,
        submitted: Instant,
        deadline: Instant,
        healthy: bool,
    ) -> Pending {
        Pending {
            kind,
            keys,
            submitted,
            deadline,
            cancelled: false,
            healthy,
            candidates: Vec::new(),
        }
    }

    /// Whether any of its keys may run on `shard`.
    fn touches(&self, shard: &str) -> bool {
        self.keys
            .iter()
            .any(|k| k.allowed.iter().any(|a| a == shard))
    }

    /// Whether it is a split `MGET` over keys of different shards.
    pub fn is_split_mget(&self) -> bool {
        self.kind == Kind::Mget
            && self
                .keys
                .windows(2)
                .any(|w| w[0].allowed.first() != w[1].allowed.first())
    }

    /// Whether it is a `TAGGED` request with this tag still waiting for its reply.
    pub fn is_waiting_tagged(&self, tag: u64, now: Instant) -> bool {
        matches!(self.kind, Kind::Tagged { tag: t, .. } if t == tag)
            && !self.cancelled
            && now < self.deadline
    }
}

/// A key on a shard.
type ShardKey = (String, Vec<u8>);

/// A write not acknowledged: its request, key, the shards it may run on, and its value.
type OpenWrite = (RequestId, Vec<u8>, Vec<String>, Option<u64>);

/// A model of every fake shard's data: per shard and key, the set of values the key may
/// hold now (`None`: absent). A write adds its value when submitted (it may run at any time
/// from then on, or, once failed, still later on a hung shard); an acknowledged write
/// narrows the set to its own value, the writes still open, and the writes acknowledged
/// since it was submitted (which may have run after it); a crash narrows it to "absent"
/// plus the open writes (which may still be sent after the restart).
#[derive(Debug, Default)]
pub struct Model {
    data: HashMap<ShardKey, HashSet<Option<u64>>>,
    /// Writes not acknowledged: (request, key, shards, value). Failed or cancelled writes
    /// stay here: the shard may still run them.
    open: Vec<OpenWrite>,
    /// Acknowledged writes per shard and key: when, and their value.
    acked: HashMap<ShardKey, Vec<(Instant, Option<u64>)>>,
    /// `INCR`s submitted per key.
    incrs: HashMap<Vec<u8>, i64>,
}

impl Model {
    fn get(&self, shard: &str, key: &[u8]) -> HashSet<Option<u64>> {
        self.data
            .get(&(shard.to_string(), key.to_vec()))
            .cloned()
            .unwrap_or_else(|| HashSet::from([None]))
    }

    fn open_values(&self, shard: &str, key: &[u8]) -> HashSet<Option<u64>> {
        self.open
            .iter()
            .filter(|(_, k, s, _)| k == key && s.iter().any(|x| x == shard))
            .map(|(.., v)| *v)
            .collect()
    }
}

/// The checker's tally.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Requests accepted.
    pub accepted: u64,
    /// Requests refused at submit (all shards down).
    pub refused: u64,
    /// Replies that were `Ok`.
    pub ok: u64,
    /// Replies that were errors.
    pub errors: u64,
    /// Errors that were timeouts.
    pub timeouts: u64,
    /// Requests cancelled.
    pub cancelled: u64,
    /// Read replies whose values the model checked.
    pub values_checked: u64,
    /// Tagged commands the ring ran again on a new connection after the first broke.
    pub resent_after_disconnect: u64,
    /// Longest time from a crash to its `ShardDown`.
    pub max_crash_detection: Duration,
    /// Longest time from a restart (after a crash) to its `ShardUp`, undisturbed.
    pub max_restart_recovery: Duration,
    /// Longest time to `ShardUp` after a resume (hang), a heal (partition), or a restart
    /// whose recovery was disturbed by a reset or garbage.
    pub max_resume_recovery: Duration,
    /// Longest latency of a request on a healthy shard.
    pub max_healthy_latency: Duration,
}

/// Checks replies as they come; `Err` is the first broken invariant.
#[derive(Debug, Default)]
pub struct Checker {
    /// Pending requests by id.
    pub pending: HashMap<RequestId, Pending>,
    /// What was seen.
    pub tally: Tally,
    /// Bound on the latency of a request whose shard is healthy.
    pub healthy_bound: Duration,
    /// The fake shards' data.
    pub model: Model,
    /// Unique tags the shards have run, with the connection that ran each.
    pub ran: HashMap<u64, u64>,
    /// Tolerate a tagged command run again on a *new* connection after its first one broke
    /// (counted in [`Tally::resent_after_disconnect`]); off by default (see
    /// [`crate::sim::SimOptions`]): the core re-sent such commands before issue 17.
    pub tolerate_resend_after_disconnect: bool,
}

impl Checker {
    /// Records an accepted request.
    pub fn accepted(&mut self, id: RequestId, mut p: Pending) -> Result<(), Violation> {
        self.tally.accepted += 1;
        if p.kind == Kind::Incr {
            if let Some(k) = p.keys.first() {
                *self.model.incrs.entry(k.key.clone()).or_default() += 1;
            }
        }
        if p.kind.reads() {
            p.candidates = p
                .keys
                .iter()
                .map(|k| {
                    k.allowed
                        .iter()
                        .flat_map(|s| self.model.get(s, &k.key))
                        .collect()
                })
                .collect();
        }
        let writes = p.kind.writes();
        let keys = p.keys.clone();
        if self.pending.insert(id, p).is_some() {
            return fail(
                Rule::UnknownReply,
                format!("{id} was returned twice by submit"),
            );
        }
        if let Some(value) = writes {
            for k in keys {
                self.model
                    .open
                    .push((id, k.key.clone(), k.allowed.clone(), value));
                for s in &k.allowed {
                    self.widen(s, &k.key, &HashSet::from([value]));
                }
            }
        }
        Ok(())
    }

    /// Adds `values` to what `key` may hold on `shard`, and to what pending reads of it there
    /// may see.
    fn widen(&mut self, shard: &str, key: &[u8], values: &HashSet<Option<u64>>) {
        let entry = self
            .model
            .data
            .entry((shard.to_string(), key.to_vec()))
            .or_insert_with(|| HashSet::from([None]));
        entry.extend(values.iter().copied());
        for p in self.pending.values_mut() {
            for (i, k) in p.keys.iter().enumerate() {
                if k.key == key && k.allowed.iter().any(|a| a == shard) {
                    if let Some(c) = p.candidates.get_mut(i) {
                        c.extend(values.iter().copied());
                    }
                }
            }
        }
    }

    /// A live-set change: the shard placement names now for each pending key.
    pub fn placement_changed(&mut self, owner: impl Fn(&[u8]) -> Option<String>) {
        let mut grown = Vec::new();
        for (id, p) in &mut self.pending {
            for (i, k) in p.keys.iter_mut().enumerate() {
                if let Some(o) = owner(&k.key) {
                    if !k.allowed.contains(&o) {
                        k.allowed.push(o.clone());
                        grown.push((*id, i, k.key.clone(), o, p.kind.writes()));
                    }
                }
            }
        }
        for (id, i, key, shard, writes) in grown {
            if let Some(value) = writes {
                for w in &mut self.model.open {
                    if w.0 == id && w.1 == key && !w.2.contains(&shard) {
                        w.2.push(shard.clone());
                    }
                }
                self.widen(&shard, &key, &HashSet::from([value]));
            }
            let now = self.model.get(&shard, &key);
            if let Some(c) = self
                .pending
                .get_mut(&id)
                .and_then(|p| p.candidates.get_mut(i))
            {
                c.extend(now);
            }
        }
    }

    /// Shard `shard` crashed: its data is gone (writes not yet acknowledged may still come).
    pub fn shard_crashed(&mut self, shard: &str) {
        let keys: Vec<Vec<u8>> = self
            .model
            .data
            .keys()
            .filter(|(s, _)| s == shard)
            .map(|(_, k)| k.clone())
            .collect();
        for key in keys {
            let mut now = self.model.open_values(shard, &key);
            now.insert(None);
            self.model
                .data
                .insert((shard.to_string(), key.clone()), now.clone());
            self.widen(shard, &key, &now);
        }
    }

    /// A shard ran a command (its words) from connection `conn`: a unique tag may run only
    /// once.
    pub fn ran(&mut self, shard: &str, conn: u64, words: &[Vec<u8>]) -> Result<(), Violation> {
        let name = words.first().map(|w| w.to_ascii_uppercase());
        let tag = match (name.as_deref(), words.len()) {
            (Some(b"TAGGED" | b"SET"), 3) => std::str::from_utf8(&words[2])
                .ok()
                .and_then(|t| t.parse::<u64>().ok()),
            _ => None,
        };
        let Some(tag) = tag else {
            return Ok(());
        };
        let Some(&first) = self.ran.get(&tag) else {
            self.ran.insert(tag, conn);
            return Ok(());
        };
        if first != conn && self.tolerate_resend_after_disconnect {
            self.tally.resent_after_disconnect += 1;
            return Ok(());
        }
        fail(
            Rule::RanTwice,
            format!(
                "shard {shard} ran {} {} {tag} a second time ({})",
                String::from_utf8_lossy(&words[0]),
                String::from_utf8_lossy(&words[1]),
                if first == conn {
                    "on the same connection"
                } else {
                    "on a new connection"
                }
            ),
        )
    }

    /// Judges one reply.
    pub fn reply(
        &mut self,
        id: RequestId,
        result: &Result<Value, Error>,
        now: Instant,
    ) -> Result<(), Violation> {
        let Some(p) = self.pending.remove(&id) else {
            return fail(
                Rule::UnknownReply,
                format!("reply for {id}, which is not pending (duplicate or unknown): {result:?}"),
            );
        };
        if p.cancelled {
            return fail(
                Rule::ReplyAfterCancel,
                format!("reply for cancelled {id}: {result:?}"),
            );
        }
        if now > p.deadline {
            return fail(
                Rule::Late,
                format!(
                    "{id} answered at {} ns, after its deadline {} ns",
                    now.as_nanos(),
                    p.deadline.as_nanos()
                ),
            );
        }
        match result {
            Ok(v) => {
                self.tally.ok += 1;
                self.check_value(&p, v)
                    .map_err(|e| Violation::new(e.rule, format!("{id} ({:?}): {}", p.kind, e)))?;
                self.acknowledged(id, &p, now);
                if p.healthy {
                    let latency = now - p.submitted;
                    self.tally.max_healthy_latency = self.tally.max_healthy_latency.max(latency);
                    if latency > self.healthy_bound {
                        return fail(
                            Rule::HealthySlow,
                            format!(
                                "{id} on a healthy shard took {latency:?} (bound {:?})",
                                self.healthy_bound
                            ),
                        );
                    }
                }
            }
            Err(e) => {
                self.tally.errors += 1;
                if has_timeout(e) {
                    self.tally.timeouts += 1;
                    if now < p.deadline {
                        return fail(
                            Rule::EarlyTimeout,
                            format!(
                                "{id} timed out at {} ns, before its deadline {} ns: {e}",
                                now.as_nanos(),
                                p.deadline.as_nanos()
                            ),
                        );
                    }
                }
                if !fault_error(e) {
                    return fail(
                        Rule::UnexpectedError,
                        format!("{id} ({:?}) failed unexpectedly: {e}", p.kind),
                    );
                }
                let removed = |e: &Error| matches!(e, Error::ShardRemoved { .. });
                let removed =
                    removed(e) || matches!(e, Error::MayHaveRun { cause, .. } if removed(cause));
                if p.healthy && !removed {
                    return fail(
                        Rule::HealthyFailed,
                        format!("{id} on a healthy shard failed: {e}"),
                    );
                }
            }
        }
        Ok(())
    }

    /// A write was acknowledged: on its shard (when placement named only one), the key now
    /// holds its value, or a value of a write still open.
    fn acknowledged(&mut self, id: RequestId, p: &Pending, now: Instant) {
        let Some(value) = p.kind.writes() else {
            return;
        };
        self.model.open.retain(|w| w.0 != id);
        for k in &p.keys {
            let Some(shard) = k.allowed.first() else {
                continue;
            };
            let at = (shard.clone(), k.key.clone());
            let acked = self.model.acked.entry(at.clone()).or_default();
            acked.push((now, value));
            if k.allowed.len() == 1 {
                let mut may: HashSet<_> = acked
                    .iter()
                    .filter(|(t, _)| *t > p.submitted)
                    .map(|(_, v)| *v)
                    .collect();
                may.extend(self.model.open_values(shard, &k.key));
                self.model.data.insert(at, may);
            }
        }
    }

    /// A fault hit shard `name`: its pending requests may now be slow or fail.
    pub fn shard_faulted(&mut self, name: &str) {
        for p in self.pending.values_mut() {
            if p.touches(name) {
                p.healthy = false;
            }
        }
    }

    /// Marks a request cancelled; `true` if it was pending.
    pub fn cancel(&mut self, id: RequestId) -> bool {
        match self.pending.get_mut(&id) {
            Some(p) if !p.cancelled => {
                p.cancelled = true;
                self.tally.cancelled += 1;
                true
            }
            _ => false,
        }
    }

    /// At the end of a run: nothing may still be waiting.
    pub fn finish(&mut self) -> Result<(), Violation> {
        self.pending.retain(|_, p| !p.cancelled);
        if let Some((id, p)) = self.pending.iter().next() {
            return fail(
                Rule::NoReply,
                format!(
                    "{} requests never got a reply, e.g. {id} ({:?}) submitted at {} ns",
                    self.pending.len(),
                    p.kind,
                    p.submitted.as_nanos()
                ),
            );
        }
        Ok(())
    }

    fn check_value(&mut self, p: &Pending, v: &Value) -> Result<(), Violation> {
        let shape = || Violation::new(Rule::WrongShape, format!("reply of the wrong shape: {v:?}"));
        match (&p.kind, v) {
            (Kind::Tagged { key, tag }, Value::Bulk(b)) => {
                let text = String::from_utf8_lossy(b);
                let mut parts = text.splitn(3, '|');
                let (shard, k, t) = (parts.next(), parts.next(), parts.next());
                let expect_tag = tag.to_string();
                if k != Some(&*String::from_utf8_lossy(key)) || t != Some(expect_tag.as_str()) {
                    return fail(
                        Rule::ReplyIdentity,
                        format!("reply {text:?} belongs to another request"),
                    );
                }
                let shard = shard.unwrap_or_default();
                let allowed = p.keys.first().map(|k| &k.allowed[..]).unwrap_or_default();
                if !allowed.iter().any(|a| a == shard) {
                    return fail(
                        Rule::WrongShard,
                        format!("ran on shard {shard}, but placement only ever named {allowed:?}"),
                    );
                }
                Ok(())
            }
            (Kind::Set(_), Value::Okay) => Ok(()),
            (Kind::Ping, Value::Simple(s)) if s == b"PONG" => Ok(()),
            (Kind::Incr, Value::Int(n)) => {
                let key = p.keys.first().map(|k| k.key.clone()).unwrap_or_default();
                let mut most = self.model.incrs.get(&key).copied().unwrap_or(0);
                if self.tolerate_resend_after_disconnect {
                    // Each may have been re-sent (up to `max_retries`, 3, times).
                    most *= 4;
                }
                if (1..=most).contains(n) {
                    Ok(())
                } else {
                    fail(
                        Rule::WrongValue,
                        format!("INCR gave {n}, but only {most} INCRs of the key were sent"),
                    )
                }
            }
            (Kind::Get, Value::Bulk(_) | Value::Nil) => self.check_item(p, 0, v),
            (Kind::Mget, Value::Array(items)) if items.len() == p.keys.len() => {
                for (i, item) in items.iter().enumerate() {
                    if !matches!(item, Value::Bulk(_) | Value::Nil) {
                        return Err(shape());
                    }
                    self.check_item(p, i, item)?;
                }
                Ok(())
            }
            (Kind::Del | Kind::Exists, Value::Int(n)) => {
                self.tally.values_checked += 1;
                let may = p
                    .candidates
                    .iter()
                    .filter(|c| c.iter().any(Option::is_some))
                    .count() as i64;
                let must = p.candidates.iter().filter(|c| !c.contains(&None)).count() as i64;
                let least = if p.kind == Kind::Exists { must } else { 0 };
                if (least..=may).contains(n) {
                    Ok(())
                } else {
                    fail(
                        Rule::WrongValue,
                        format!("count {n}, but the model allows {least}..={may}"),
                    )
                }
            }
            _ => Err(shape()),
        }
    }

    /// Item `i` of a read (its `i`th key) must be a value the model allows for that key.
    fn check_item(&mut self, p: &Pending, i: usize, v: &Value) -> Result<(), Violation> {
        self.tally.values_checked += 1;
        let got = match v {
            Value::Nil => None,
            Value::Bulk(b) => match std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()) {
                Some(tag) => Some(tag),
                None => {
                    return fail(
                        Rule::WrongValue,
                        format!("item {i} is {v:?}, which no SET wrote"),
                    )
                }
            },
            _ => return fail(Rule::WrongShape, format!("item {i} is {v:?}")),
        };
        let (key, allowed) = p
            .keys
            .get(i)
            .map(|k| (String::from_utf8_lossy(&k.key).into_owned(), &k.allowed[..]))
            .unwrap_or_default();
        match p.candidates.get(i) {
            Some(c) if c.contains(&got) => Ok(()),
            c => {
                let mut c: Vec<_> = c.into_iter().flatten().collect();
                c.sort();
                fail(
                    Rule::WrongValue,
                    format!(
                        "item {i} (key {key}) is {got:?}, but on shards {allowed:?} the key \
                         could only hold {c:?}"
                    ),
                )
            }
        }
    }
}

fn has_timeout(e: &Error) -> bool {
    match e {
        Error::Timeout { .. } => true,
        Error::Split { failures, .. } => failures.iter().any(|f| has_timeout(&f.error)),
        _ => false,
    }
}

/// Whether `e` is an error a fault can cause (for a split command: every failed part's).
fn fault_error(e: &Error) -> bool {
    match e {
        Error::Timeout { .. }
        | Error::Connect { .. }
        | Error::Disconnected { .. }
        | Error::ShardDown { .. }
        | Error::ShardRemoved { .. }
        | Error::Protocol { .. }
        | Error::UnexpectedReply { .. }
        | Error::AllShardsDown { .. } => true,
        Error::Split { failures, .. } => {
            !failures.is_empty() && failures.iter().all(|f| fault_error(&f.error))
        }
        // Written, then the connection failed: not re-sent (retry safety).
        Error::MayHaveRun { cause, .. } => fault_error(cause),
        _ => false,
    }
}
