//! Commands over several shards: the per-key form of `MGET` and a `SCAN` over the whole ring
//! ([`Scan`]). Per-shard commands are in `shard` (`Ring::shard`, `Ring::for_each_shard`).
//!
//! Splitting `MGET`/`MSET`/`DEL`/`EXISTS`/`UNLINK`/`TOUCH` over shards and merging the replies
//! is the core's work (`RingCore::submit`): [`Ring::mget`] and friends send one command.

use std::collections::VecDeque;
use std::sync::Arc;

use redis_ring_core::command::{Cmd, FromValue, ToArg};
use redis_ring_core::error::CmdName;
use redis_ring_core::ring::RingScan;
use redis_ring_core::Error;

use crate::ring::{convert, Ring};
use crate::waiter::Target;

impl Ring {
    /// `MGET` across shards, one result per key (in key order): a shard that fails fails only
    /// its own keys, for callers who prefer a partial answer to none (the plain
    /// [`Ring::mget`] fails whole, naming the failed shards and keys).
    pub fn mget_per_key<K: ToArg, T: FromValue>(&self, keys: &[K]) -> Vec<Result<T, Error>> {
        let name = CmdName::new(b"MGET");
        let cmd = Cmd::new("MGET").arg(keys);
        let n = cmd.len();
        if n == 0 {
            return Vec::new();
        }
        self.run_batch_to(vec![cmd], Target::PerKey(n), None)
            .into_iter()
            .map(|r| r.and_then(|v| convert(name, v)))
            .collect()
    }

    /// A `SCAN` over the whole ring, as an iterator of keys: shard after shard, every key
    /// once while the ring is stable (see [`RingScan`]).
    ///
    /// ```no_run
    /// # let ring = redis_ring_std::Ring::builder().shard("a", "127.0.0.1:7000").build()?;
    /// for key in ring.scan().pattern("user:*") {
    ///     println!("{}", String::from_utf8_lossy(&key?));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scan(&self) -> Scan<'_> {
        Scan {
            ring: self,
            cursor: None,
            pattern: None,
            count: None,
            keys: VecDeque::new(),
        }
    }
}

/// A `SCAN` over every shard of a [`Ring`] ([`Ring::scan`]); an [`Iterator`] of keys.
///
/// A step that fails (a shard down, a timeout) yields its error once and the scan moves on
/// to the next shard, so the keys of the shards that answer are still all yielded.
#[derive(Debug)]
pub struct Scan<'a> {
    ring: &'a Ring,
    cursor: Option<RingScan>,
    pattern: Option<Vec<u8>>,
    count: Option<u64>,
    keys: VecDeque<Vec<u8>>,
}

impl Scan<'_> {
    /// Only keys matching `pattern` (`MATCH`).
    pub fn pattern(mut self, pattern: impl AsRef<[u8]>) -> Self {
        self.pattern = Some(pattern.as_ref().to_vec());
        self
    }

    /// How many keys each step looks at (`COUNT`, a hint).
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }
}

impl Iterator for Scan<'_> {
    type Item = Result<Vec<u8>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(k) = self.keys.pop_front() {
                return Some(Ok(k));
            }
            if self.cursor.is_none() {
                let names: Vec<Arc<str>> = self
                    .ring
                    .with_core(|core, _| core.shards().map(|s| s.name).collect())
                    .unwrap_or_default();
                let mut scan = RingScan::new(names);
                if let Some(p) = &self.pattern {
                    scan = scan.pattern(p);
                }
                if let Some(c) = self.count {
                    scan = scan.count(c);
                }
                self.cursor = Some(scan);
            }
            let scan = self.cursor.as_mut()?;
            let (shard, cmd) = scan.next_command()?;
            let step = match self.ring.shard(&shard).cmd(cmd) {
                Ok(reply) => scan.on_reply(reply, None),
                Err(e) => Err(e),
            };
            match step {
                Ok(keys) => self.keys.extend(keys),
                Err(e) => {
                    scan.skip_shard();
                    return Some(Err(e));
                }
            }
        }
    }
}
