//! Commands over several shards: the per-key form of `MGET`, a `SCAN` over the whole ring
//! ([`Scan`]) and the future that waits for a group of requests submitted at once
//! ([`Gather`]). Per-shard commands are in `shard` (`Ring::shard`, `Ring::for_each_shard`).
//!
//! Splitting `MGET`/`MSET`/`DEL`/`EXISTS`/`UNLINK`/`TOUCH` over shards and merging the replies
//! is the core's work (`RingCore::submit`): [`Ring::mget`] and friends send one command.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use redis_ring_core::command::{Cmd, FromValue, ToArg};
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::{RequestId, RingCore, RingScan};
use redis_ring_core::time::Instant;
use smol::stream::Stream;

use crate::ring::{convert, Ring};
use crate::shared::Shared;

/// A group of requests submitted together on the first poll, under one lock (by `submit`,
/// which returns one id or refusal per result slot); resolves to their results in slot
/// order. Dropping it before the end cancels what is still pending.
#[derive(Debug)]
pub(crate) struct Gather<'a, F> {
    shared: &'a Shared,
    name: CmdName,
    submit: Option<F>,
    ids: Vec<Option<RequestId>>,
    results: Vec<Option<Result<Value, Error>>>,
    /// Index of the first slot still without a result.
    next: usize,
}

impl<'a, F> Gather<'a, F>
where
    F: FnOnce(&mut RingCore, Instant) -> Vec<Result<RequestId, Error>> + Unpin,
{
    /// `name` names the error when the ring is closed.
    pub(crate) fn new(shared: &'a Shared, name: CmdName, submit: F) -> Self {
        Gather {
            shared,
            name,
            submit: Some(submit),
            ids: Vec::new(),
            results: Vec::new(),
            next: 0,
        }
    }
}

impl<F> Future for Gather<'_, F>
where
    F: FnOnce(&mut RingCore, Instant) -> Vec<Result<RequestId, Error>> + Unpin,
{
    type Output = Vec<Result<Value, Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        let mut st = shared.lock();
        if let Some(submit) = this.submit.take() {
            if st.closing {
                drop(st);
                return Poll::Ready(vec![Err(Error::Closed { command: this.name })]);
            }
            let now = shared.now();
            let submitted = submit(&mut st.core, now);
            st.io_stats.commands += submitted.len() as u64;
            for r in submitted {
                match r {
                    Ok(id) => {
                        st.expect(id, None);
                        this.ids.push(Some(id));
                        this.results.push(None);
                    }
                    Err(e) => {
                        this.ids.push(None);
                        this.results.push(Some(Err(e)));
                    }
                }
            }
            st.drain();
        }
        // Collect what came; wait on the first slot still pending.
        while this.next < this.ids.len() {
            let i = this.next;
            if let Some(id) = this.ids[i] {
                match st.take_reply(id, Some(cx.waker())) {
                    Some(result) => {
                        this.results[i] = Some(result);
                        this.ids[i] = None;
                    }
                    None => {
                        Shared::unlock_and_wake(st);
                        return Poll::Pending;
                    }
                }
            }
            this.next += 1;
        }
        Shared::unlock_and_wake(st);
        let name = this.name;
        let results = std::mem::take(&mut this.results)
            .into_iter()
            .map(|r| {
                r.unwrap_or(Err(Error::InvalidCommand {
                    command: name,
                    reason: "internal: a result went missing",
                }))
            })
            .collect();
        Poll::Ready(results)
    }
}

impl<F> Drop for Gather<'_, F> {
    fn drop(&mut self) {
        if self.ids.iter().any(Option::is_some) {
            self.shared.with(|st| {
                for id in self.ids.iter().flatten() {
                    st.forget(*id);
                }
            });
        }
    }
}

impl Ring {
    /// `MGET` across shards, one result per key (in key order): a shard that fails fails only
    /// its own keys, for callers who prefer a partial answer to none (the plain
    /// [`Ring::mget`] fails whole, naming the failed shards and keys).
    pub async fn mget_per_key<K: ToArg, T: FromValue>(&self, keys: &[K]) -> Vec<Result<T, Error>> {
        let name = CmdName::new(b"MGET");
        let cmd = Cmd::new("MGET").arg(keys);
        let n = cmd.len();
        let results = Gather::new(
            self.shared(),
            name,
            move |core: &mut RingCore, now| match core.submit_per_key(cmd, now) {
                Ok(ids) => ids.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            },
        )
        .await;
        per_key(name, n, results)
    }

    /// A `SCAN` over the whole ring: shard after shard, every key once while the ring is
    /// stable (see [`RingScan`]). Read it with [`Scan::next`] or as a [`Stream`].
    ///
    /// ```no_run
    /// # async fn demo(ring: &redis_ring_smol::Ring) -> Result<(), redis_ring_smol::Error> {
    /// let mut scan = ring.scan().pattern("user:*");
    /// while let Some(key) = scan.next().await {
    ///     println!("{}", String::from_utf8_lossy(&key?));
    /// }
    /// # Ok(()) }
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

/// Per-key results from a gathered per-key submission (a refusal fails every key).
fn per_key<T: FromValue>(
    name: CmdName,
    n: usize,
    results: Vec<Result<Value, Error>>,
) -> Vec<Result<T, Error>> {
    if results.len() != n {
        let err = results
            .into_iter()
            .find_map(Result::err)
            .unwrap_or(Error::Closed { command: name });
        return (0..n).map(|_| Err(err.clone())).collect();
    }
    results
        .into_iter()
        .map(|r| r.and_then(|v| convert(name, v)))
        .collect()
}

/// A `SCAN` over every shard of a [`Ring`] ([`Ring::scan`]).
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

impl<'a> Scan<'a> {
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

    /// The next key; `None` when every shard has been walked.
    pub async fn next(&mut self) -> Option<Result<Vec<u8>, Error>> {
        loop {
            if let Some(k) = self.keys.pop_front() {
                return Some(Ok(k));
            }
            let scan = match &mut self.cursor {
                Some(scan) => scan,
                None => {
                    let mut scan = RingScan::over(&self.ring.shared().lock().core);
                    if let Some(p) = &self.pattern {
                        scan = scan.pattern(p);
                    }
                    if let Some(c) = self.count {
                        scan = scan.count(c);
                    }
                    self.cursor.insert(scan)
                }
            };
            let (shard, cmd) = scan.next_command()?;
            let step = match self.ring.shard(&shard).cmd(cmd).await {
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

    /// Every key (stops at the first error).
    ///
    /// # Errors
    /// The first step that failed.
    pub async fn collect_all(mut self) -> Result<Vec<Vec<u8>>, Error> {
        let mut out = Vec::new();
        while let Some(k) = self.next().await {
            out.push(k?);
        }
        Ok(out)
    }

    /// The scan as a [`Stream`] of keys.
    pub fn into_stream(self) -> impl Stream<Item = Result<Vec<u8>, Error>> + 'a {
        smol::stream::unfold(self, |mut scan| async move {
            let item = scan.next().await?;
            Some((item, scan))
        })
    }
}
