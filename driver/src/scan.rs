//! Commands over several shards with per-shard results: the per-key form of `MGET` and a
//! `SCAN` over the whole ring ([`Scan`]). Splitting `MGET`/`MSET`/`DEL`/`EXISTS`... over
//! shards and merging the replies is the core's work: `Ring::mget` sends one command.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use std::sync::Arc;

use redis_ring_core::command::{Cmd, FromValue, ToArg};
use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::resp::Value;
use redis_ring_core::ring::RingScan;

use crate::convert::convert;
use crate::request::{Gather, Request, Target};
use crate::runtime::Runtime;
use crate::state::Shared;
use crate::Ring;

impl<Rt: Runtime> Ring<Rt> {
    /// `MGET` across shards, one result per key (in key order): a shard that fails fails
    /// only its own keys, for callers who prefer a partial answer to none (the plain `mget`
    /// fails whole, naming the failed shards and keys).
    pub async fn mget_per_key<K: ToArg, T: FromValue>(&self, keys: &[K]) -> Vec<Result<T, Error>> {
        mget_per_key(self.shared(), Cmd::new("MGET").arg(keys)).await
    }

    /// A `SCAN` over the whole ring: shard after shard, every key once while the ring is
    /// stable (see [`RingScan`]). Read it with [`Scan::next`].
    pub fn scan(&self) -> Scan<'_> {
        Scan::new(self.shared())
    }
}

/// The per-key `MGET` (a refusal fails every key).
pub(crate) async fn mget_per_key<T: FromValue>(shared: &Shared, cmd: Cmd) -> Vec<Result<T, Error>> {
    let name = CmdName::new(b"MGET");
    let n = cmd.len();
    let results = Gather::new(
        shared,
        name,
        n,
        Box::new(move |core, now| match core.submit_per_key(cmd, now) {
            Ok(ids) => ids.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        }),
    )
    .await;
    per_key(name, n, results)
}

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

/// A `SCAN` over every shard of a ring (`Ring::scan`).
///
/// A step that fails (a shard down, a timeout) yields its error once and the scan moves on
/// to the next shard, so the keys of the shards that answer are still all yielded.
#[derive(Debug)]
pub struct Scan<'a> {
    shared: &'a Shared,
    cursor: Option<RingScan>,
    pattern: Option<Vec<u8>>,
    count: Option<u64>,
    keys: VecDeque<Vec<u8>>,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(shared: &'a Shared) -> Self {
        Scan {
            shared,
            cursor: None,
            pattern: None,
            count: None,
            keys: VecDeque::new(),
        }
    }

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
                None if self.shared.reentrant() => {
                    return Some(Err(crate::state::reentrant(CmdName::new(b"SCAN"))));
                }
                None => {
                    let mut scan = RingScan::over(&self.shared.lock().core);
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
            let target = Target::Shard(Arc::clone(&shard));
            let step = match Request::new(self.shared, target, cmd, None).await {
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
    pub fn into_stream(self) -> ScanStream<'a> {
        ScanStream {
            scan: Some(self),
            step: None,
        }
    }
}

/// The future of one scan step, owning the scan.
type Step<'a> =
    Pin<Box<dyn Future<Output = (Option<Result<Vec<u8>, Error>>, Scan<'a>)> + Send + 'a>>;

/// [`Scan::into_stream`]: a [`Stream`] of keys.
pub struct ScanStream<'a> {
    scan: Option<Scan<'a>>,
    step: Option<Step<'a>>,
}

impl std::fmt::Debug for ScanStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanStream").finish_non_exhaustive()
    }
}

impl Stream for ScanStream<'_> {
    type Item = Result<Vec<u8>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.step.is_none() {
            let Some(mut scan) = this.scan.take() else {
                return Poll::Ready(None);
            };
            this.step = Some(Box::pin(async move { (scan.next().await, scan) }));
        }
        let Some(step) = this.step.as_mut() else {
            return Poll::Ready(None);
        };
        match step.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready((item, scan)) => {
                this.step = None;
                if item.is_some() {
                    this.scan = Some(scan);
                }
                Poll::Ready(item)
            }
        }
    }
}
