//! [`RingScan`]: a `SCAN` over the whole ring, shard after shard.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::RingCore;
use crate::command::Cmd;
use crate::error::{CmdName, Error};
use crate::resp::Value;

/// A cursor over every key of the ring: `SCAN` on the first shard until its cursor comes back
/// to 0, then on the next, in configured order. Its state is the shard's index and that
/// shard's cursor ([`RingScan::position`]), so it is cheap to keep between calls.
///
/// While the ring is stable (same shards, none down, no key moved or rewritten meanwhile),
/// every key is yielded exactly once: each key lives on one shard, and `SCAN` returns each
/// key present for the whole scan. Two guards make it hold beyond that:
/// [`RingScan::owned_only`] skips keys a shard holds but no longer owns (stale copies left by
/// a failover), and keys are de-duplicated per shard (`SCAN` may repeat a key while the
/// server resizes its table), which costs memory for one shard's matching keys; turn it off
/// with [`RingScan::dedup`]`(false)` for huge shards.
///
/// # Call protocol
///
/// Sans-io like the ring: ask [`RingScan::next_command`] for the `(shard, command)` to send,
/// send it with [`RingCore::submit_to_shard`], and give its reply to [`RingScan::on_reply`],
/// which returns the keys of that step (possibly none). Stop when `next_command` returns
/// `None`. A shard that is down fails its step with [`Error::ShardDown`]: the caller may
/// retry the same step later (the position did not move) or [`RingScan::skip_shard`].
///
/// ```
/// use redis_ring_core::resp::Value;
/// use redis_ring_core::ring::RingScan;
///
/// let mut scan = RingScan::new(["a", "b"]).pattern("user:*").count(100);
/// let (shard, cmd) = scan.next_command().unwrap();
/// assert_eq!((&*shard, cmd.arg_at(0)), ("a", Some(&b"0"[..])));
/// // Shard a answers cursor 0 (done) and one key: the scan moves on to shard b.
/// let reply = Value::Array(vec![Value::Bulk(b"0".to_vec()), Value::Array(vec![Value::Bulk(b"user:1".to_vec())])]);
/// assert_eq!(scan.on_reply(reply, None).unwrap(), [b"user:1".to_vec()]);
/// assert_eq!(scan.position(), (1, 0));
/// assert_eq!(&*scan.next_command().unwrap().0, "b");
/// ```
#[derive(Clone, Debug)]
pub struct RingScan {
    shards: Vec<Arc<str>>,
    index: usize,
    cursor: u64,
    pattern: Option<Vec<u8>>,
    count: Option<u64>,
    kind: Option<Vec<u8>>,
    dedup: bool,
    owned_only: bool,
    seen: hashbrown::HashSet<Vec<u8>, FixedHasher>,
}

/// A deterministic hasher for the de-duplication set (the core has no random source).
#[derive(Clone, Copy, Debug, Default)]
struct FixedHasher;

impl core::hash::BuildHasher for FixedHasher {
    type Hasher = twox_hash::XxHash64;
    fn build_hasher(&self) -> twox_hash::XxHash64 {
        twox_hash::XxHash64::with_seed(0)
    }
}

impl RingScan {
    /// A scan over the shards named `shards`, in that order.
    pub fn new<I, S>(shards: I) -> RingScan
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        RingScan {
            shards: shards.into_iter().map(Into::into).collect(),
            index: 0,
            cursor: 0,
            pattern: None,
            count: None,
            kind: None,
            dedup: true,
            owned_only: false,
            seen: hashbrown::HashSet::with_hasher(FixedHasher),
        }
    }

    /// A scan over every shard of `ring`, in configured order.
    pub fn over(ring: &RingCore) -> RingScan {
        RingScan::new(ring.shards().map(|s| s.name))
    }

    /// Only keys matching `pattern` (`SCAN ... MATCH pattern`).
    pub fn pattern(mut self, pattern: impl AsRef<[u8]>) -> RingScan {
        self.pattern = Some(pattern.as_ref().to_vec());
        self
    }

    /// A hint of how many keys each step looks at (`SCAN ... COUNT n`).
    pub fn count(mut self, count: u64) -> RingScan {
        self.count = Some(count);
        self
    }

    /// Only keys of this type (`SCAN ... TYPE string`).
    pub fn kind(mut self, kind: impl AsRef<[u8]>) -> RingScan {
        self.kind = Some(kind.as_ref().to_vec());
        self
    }

    /// Whether to drop keys a shard already yielded in this scan (default `true`).
    pub fn dedup(mut self, on: bool) -> RingScan {
        self.dedup = on;
        self
    }

    /// Whether to yield only keys that the shard they were found on owns now (default
    /// `false`); needs the ring at each [`RingScan::on_reply`].
    pub fn owned_only(mut self, on: bool) -> RingScan {
        self.owned_only = on;
        self
    }

    /// `(shard index, that shard's cursor)`: where the scan stands.
    pub fn position(&self) -> (usize, u64) {
        (self.index, self.cursor)
    }

    /// Whether every shard has been walked.
    pub fn is_done(&self) -> bool {
        self.index >= self.shards.len()
    }

    /// The shard to send the next step to and its `SCAN` command; `None` when done.
    pub fn next_command(&self) -> Option<(Arc<str>, Cmd)> {
        let shard = self.shards.get(self.index)?.clone();
        let mut cmd = Cmd::new("SCAN").arg(self.cursor);
        if let Some(p) = &self.pattern {
            cmd = cmd.arg("MATCH").arg(&p[..]);
        }
        if let Some(c) = self.count {
            cmd = cmd.arg("COUNT").arg(c);
        }
        if let Some(k) = &self.kind {
            cmd = cmd.arg("TYPE").arg(&k[..]);
        }
        Some((shard, cmd))
    }

    /// Moves on to the next shard without finishing this one.
    pub fn skip_shard(&mut self) {
        self.index += 1;
        self.cursor = 0;
        self.seen.clear();
    }

    /// Takes the reply of the step [`RingScan::next_command`] named and returns its keys.
    /// With [`RingScan::owned_only`], pass the ring so keys the shard does not own are
    /// dropped. A reply that is not `[cursor, [keys...]]` is an [`Error::UnexpectedReply`]
    /// and leaves the position unchanged.
    pub fn on_reply(
        &mut self,
        reply: Value,
        ring: Option<&RingCore>,
    ) -> Result<Vec<Vec<u8>>, Error> {
        let shard = self.shards.get(self.index).cloned();
        let bad = || Error::UnexpectedReply {
            shard: shard.clone().unwrap_or_else(|| "?".into()),
            addr: "?".into(),
            command: CmdName::new(b"SCAN"),
        };
        let Value::Array(mut parts) = reply else {
            return Err(bad());
        };
        if parts.len() != 2 {
            return Err(bad());
        }
        let keys = parts.pop();
        let cursor = parts.pop();
        let cursor = match cursor {
            Some(Value::Bulk(c) | Value::Simple(c)) => core::str::from_utf8(&c)
                .ok()
                .and_then(|c| c.parse::<u64>().ok())
                .ok_or_else(bad)?,
            Some(Value::Int(c)) if c >= 0 => c as u64,
            _ => return Err(bad()),
        };
        let Some(Value::Array(keys) | Value::Set(keys)) = keys else {
            return Err(bad());
        };
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let (Value::Bulk(k) | Value::Simple(k)) = key else {
                return Err(bad());
            };
            if self.owned_only {
                if let (Some(ring), Some(shard)) = (ring, &shard) {
                    if ring.shard_for_key(&k).map(|(n, _)| n) != Some(shard) {
                        continue;
                    }
                }
            }
            if self.dedup && !self.seen.insert(k.clone()) {
                continue;
            }
            out.push(k);
        }
        if cursor == 0 {
            self.skip_shard();
        } else {
            self.cursor = cursor;
        }
        Ok(out)
    }
}
