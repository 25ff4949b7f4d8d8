//! The invariants checked in every simulator run, fed with what the driver loop sees.
//!
//! * Each accepted request gets exactly one reply (none when cancelled), by its deadline.
//! * Every reply belongs to its request: `TAGGED` replies echo the request's key and tag;
//!   other commands' replies have their command's shape; errors are of the kinds a fault
//!   can cause.
//! * A command runs only on the shard placement names over the live set (at submit time or
//!   at one of its retries): the set of allowed shards of a pending request grows with every
//!   live-set change.
//! * A crashed shard is down within `fail_threshold × heartbeat + connect timeout`; a
//!   restarted shard is up within one heartbeat plus the round trips of its probe
//!   (connect, handshake, `PING`); a healthy shard is never marked down; requests on a
//!   healthy shard are never delayed beyond a few round trips.

use std::collections::HashMap;

use redis_ring_core::error::Error;
use redis_ring_core::resp::Value;
use redis_ring_core::ring::RequestId;
use redis_ring_core::time::{Duration, Instant};

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
    /// `SET`: `OK`.
    Set,
    /// `GET`: a bulk string or nil.
    Get,
    /// `INCR`: a positive integer.
    Incr,
    /// `DEL`/`EXISTS` of `n` keys: an integer in `0..=n`.
    Count(i64),
    /// `MGET` of `n` keys: `n` bulk strings or nils.
    Mget(usize),
    /// `PING`: `PONG`.
    Ping,
}

/// One accepted request.
#[derive(Debug)]
pub struct Pending {
    /// What it was.
    pub kind: Kind,
    /// When it was submitted.
    pub submitted: Instant,
    /// Its deadline.
    pub deadline: Instant,
    /// Shards that placement named for its key since it was submitted.
    pub allowed: Vec<String>,
    /// Whether the caller cancelled it (no reply may come).
    pub cancelled: bool,
    /// Whether its shard was healthy at submit (then it must not be delayed).
    pub healthy: bool,
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
}

impl Checker {
    /// Records an accepted request.
    pub fn accepted(&mut self, id: RequestId, p: Pending) -> Result<(), String> {
        self.tally.accepted += 1;
        if self.pending.insert(id, p).is_some() {
            return Err(format!("{id} was returned twice by submit"));
        }
        Ok(())
    }

    /// A live-set change: the shard placement names now for each pending key.
    pub fn placement_changed(&mut self, owner: impl Fn(&[u8]) -> Option<String>) {
        for p in self.pending.values_mut() {
            if let Kind::Tagged { key, .. } = &p.kind {
                if let Some(o) = owner(key) {
                    if !p.allowed.contains(&o) {
                        p.allowed.push(o);
                    }
                }
            }
        }
    }

    /// Judges one reply.
    pub fn reply(
        &mut self,
        id: RequestId,
        result: &Result<Value, Error>,
        now: Instant,
    ) -> Result<(), String> {
        let Some(p) = self.pending.remove(&id) else {
            return Err(format!(
                "reply for {id}, which is not pending (duplicate or unknown): {result:?}"
            ));
        };
        if p.cancelled {
            return Err(format!("reply for cancelled {id}: {result:?}"));
        }
        if now > p.deadline {
            return Err(format!(
                "{id} answered at {} ns, after its deadline {} ns",
                now.as_nanos(),
                p.deadline.as_nanos()
            ));
        }
        match result {
            Ok(v) => {
                self.tally.ok += 1;
                check_value(&p, v).map_err(|e| format!("{id} ({:?}): {e}", p.kind))?;
                if p.healthy {
                    let latency = now - p.submitted;
                    self.tally.max_healthy_latency = self.tally.max_healthy_latency.max(latency);
                    if latency > self.healthy_bound {
                        return Err(format!(
                            "{id} on a healthy shard took {latency:?} (bound {:?})",
                            self.healthy_bound
                        ));
                    }
                }
            }
            Err(e) => {
                self.tally.errors += 1;
                if matches!(e, Error::Timeout { .. }) {
                    self.tally.timeouts += 1;
                }
                if !fault_error(e) {
                    return Err(format!("{id} ({:?}) failed unexpectedly: {e}", p.kind));
                }
                let removed = |e: &Error| matches!(e, Error::ShardRemoved { .. });
                let removed =
                    removed(e) || matches!(e, Error::MayHaveRun { cause, .. } if removed(cause));
                if p.healthy && !removed {
                    return Err(format!("{id} on a healthy shard failed: {e}"));
                }
            }
        }
        Ok(())
    }

    /// A fault hit shard `name`: its pending requests may now be slow or fail.
    pub fn shard_faulted(&mut self, name: &str) {
        for p in self.pending.values_mut() {
            if p.allowed.iter().any(|a| a == name) {
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
    pub fn finish(&mut self) -> Result<(), String> {
        self.pending.retain(|_, p| !p.cancelled);
        if let Some((id, p)) = self.pending.iter().next() {
            return Err(format!(
                "{} requests never got a reply, e.g. {id} ({:?}) submitted at {} ns",
                self.pending.len(),
                p.kind,
                p.submitted.as_nanos()
            ));
        }
        Ok(())
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

fn check_value(p: &Pending, v: &Value) -> Result<(), String> {
    let ok = match (&p.kind, v) {
        (Kind::Tagged { key, tag }, Value::Bulk(b)) => {
            let text = String::from_utf8_lossy(b);
            let mut parts = text.splitn(3, '|');
            let (shard, k, t) = (parts.next(), parts.next(), parts.next());
            let expect_tag = tag.to_string();
            if k != Some(&*String::from_utf8_lossy(key)) || t != Some(expect_tag.as_str()) {
                return Err(format!("reply {text:?} belongs to another request"));
            }
            let shard = shard.unwrap_or_default();
            if !p.allowed.iter().any(|a| a == shard) {
                return Err(format!(
                    "ran on shard {shard}, but placement only ever named {:?}",
                    p.allowed
                ));
            }
            true
        }
        (Kind::Set, Value::Okay) => true,
        (Kind::Get, Value::Bulk(_) | Value::Nil) => true,
        (Kind::Incr, Value::Int(n)) => *n >= 1,
        (Kind::Count(max), Value::Int(n)) => (0..=*max).contains(n),
        (Kind::Mget(n), Value::Array(items)) => {
            items.len() == *n
                && items
                    .iter()
                    .all(|i| matches!(i, Value::Bulk(_) | Value::Nil))
        }
        (Kind::Ping, Value::Simple(s)) => s == b"PONG",
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("reply of the wrong shape: {v:?}"))
    }
}
