//! Tracing spans and `metrics` for every command, derived from what the core reports
//! (behind the `tracing` and `metrics` features; with both off, `Op` is empty and every
//! call here compiles to nothing).
//!
//! One `Op` per command or batch, started when its future first polls and finished when it
//! resolves, outside the core's lock. Span fields and metric names follow the OpenTelemetry
//! database semantic conventions: span `db.system.name = "redis"`, `db.operation.name` (the
//! command; `PIPELINE` / `MULTI` for batches), `db.namespace` (db index), `server.address`,
//! `server.port`, `db.operation.batch.size`, `db.response.status_code` (the error prefix,
//! e.g. `WRONGTYPE`), `error.type`, plus `redis_ring.shard`; never an argument. The
//! histogram `db.client.operation.duration` (seconds) is labelled `db.operation.name`,
//! `redis_ring.shard`, `server.address` and `outcome` (`ok` or an [`ErrorKind`](redis_ring_core::stats::ErrorKind) name).
//! Shard events become `tracing` events (info; warn for a shard going down) and the
//! `redis_ring.shard.transitions` counter and `redis_ring.shards.live` gauge.
//!
//! # Durations
//!
//! `db.client.operation.duration` is measured on the core's clock, not by a clock read per
//! command: from the `now` the submit gave the core to the core's `now` when the reply left
//! it. The driver reads the clock anyway once per submit and once per round of its turn (the
//! `now` of the replies that round reads), so a reply is stamped with the start of the
//! round that read it: durations can be short by that round's length (a few microseconds
//! for one read; at most one round of reads of every connection under a flood). A reply
//! that fails fast at submit has a duration of zero. The core's per-shard latency histogram
//! ([`ShardCounters::latency`](redis_ring_core::stats::ShardCounters)) is measured from the
//! same two instants.

#[cfg(feature = "tracing")]
use std::sync::Arc;

use redis_ring_core::error::{CmdName, Error};
use redis_ring_core::ring::Event;
#[cfg(any(feature = "tracing", feature = "metrics"))]
use redis_ring_core::ring::ShardRef;
#[cfg(any(feature = "tracing", feature = "metrics"))]
use redis_ring_core::stats::ErrorKind;
use redis_ring_core::time::Instant;
use redis_ring_core::RingCore;

/// How a reply ended, as the core tells it when the reply leaves it: on which shard (a
/// [`ShardRef`], copied: no name or address is cloned per reply) and at which instant of
/// the core's clock. Nothing when both features are off.
#[cfg(any(feature = "tracing", feature = "metrics"))]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ended {
    shard: Option<ShardRef>,
    at: Instant,
}
/// How a reply ended; nothing when both features are off.
#[cfg(not(any(feature = "tracing", feature = "metrics")))]
pub(crate) type Ended = ();

/// Request `id`'s end, read right after its reply left the core (under the lock).
#[inline]
pub(crate) fn ended(_core: &RingCore, _id: redis_ring_core::ring::RequestId) -> Ended {
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    {
        Ended {
            shard: _core.reply_shard_ref(_id),
            at: _core.now(),
        }
    }
}

/// A batch's end so far, `_into`, given one more reply's, `_ended` (a batch ends with its
/// last reply; it is named after its first one's shard, `_first`).
#[inline]
pub(crate) fn extend(_into: &mut Ended, _ended: &Ended, _first: bool) {
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    {
        _into.at = _into.at.max(_ended.at);
        if _first {
            _into.shard = _ended.shard;
        }
    }
}

/// The metric of every command's duration (seconds).
pub const OPERATION_DURATION: &str = "db.client.operation.duration";
/// Gauge: shards up.
pub const SHARDS_LIVE: &str = "redis_ring.shards.live";
/// Counter: shard events (`event` = `up`, `down`, `added`, `removed`).
pub const SHARD_TRANSITIONS: &str = "redis_ring.shard.transitions";
/// Gauge: open connections to shards.
pub const CONNECTIONS: &str = "db.client.connection.count";
/// Gauge: commands waiting for their reply.
pub const IN_FLIGHT: &str = "redis_ring.in_flight";

/// One command or batch being observed.
///
/// Its duration is measured on the core's clock, which the driver already reads for every
/// submit and once per round of a driver turn (the `now` of the replies it reads): from the
/// submit's `now` to the core's `now` when the reply left the core. A command reads no clock
/// of its own; the price is granularity: a reply read late in a driver round is stamped with
/// the round's start (see the module docs, "Durations").
#[derive(Debug)]
pub(crate) struct Op {
    #[cfg(feature = "metrics")]
    started: Instant,
    #[cfg(feature = "metrics")]
    name: CmdName,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    /// The shard's name and address for a span a subscriber records ([`Op::resolve`]).
    #[cfg(feature = "tracing")]
    names: Option<(Arc<str>, Arc<str>)>,
}

impl Op {
    /// Starts observing `name` (a batch of `batch` commands when above 1), db `db`, submitted
    /// at `now` (the core's instant given to its submit).
    #[inline]
    pub(crate) fn start(_name: CmdName, _batch: usize, _db: u32, _now: Instant) -> Op {
        Op {
            #[cfg(feature = "metrics")]
            started: _now,
            #[cfg(feature = "metrics")]
            name: _name,
            #[cfg(feature = "tracing")]
            span: {
                let span = tracing::debug_span!(
                    "redis",
                    otel.name = _name.as_str(),
                    otel.kind = "client",
                    db.system.name = "redis",
                    db.operation.name = _name.as_str(),
                    db.namespace = _db,
                    db.operation.batch.size = tracing::field::Empty,
                    server.address = tracing::field::Empty,
                    server.port = tracing::field::Empty,
                    redis_ring.shard = tracing::field::Empty,
                    db.response.status_code = tracing::field::Empty,
                    error.type = tracing::field::Empty,
                );
                if _batch > 1 {
                    span.record("db.operation.batch.size", _batch);
                }
                span
            },
            #[cfg(feature = "tracing")]
            names: None,
        }
    }

    /// Under the lock, once the command ended as `ended` says: a span a subscriber records
    /// gets the shard's names (cloned from `core`); nothing else is needed from the core (the
    /// metric's shard is `ended`'s [`ShardRef`], copied).
    #[inline]
    pub(crate) fn resolve(&mut self, _core: &RingCore, _ended: &Ended) {
        #[cfg(feature = "tracing")]
        if !self.span.is_disabled() {
            self.names = _ended
                .shard
                .and_then(|r| _core.shard_names(r))
                .map(|(n, a)| (Arc::clone(n), Arc::clone(a)));
        }
    }

    /// Records the span's fields and the duration, outside the lock of `_shared` (the ring
    /// it ran on): the command ended as `_ended` says (`None`: refused before reaching the
    /// core), with `_error` if it failed.
    #[inline]
    pub(crate) fn finish(
        self,
        _error: Option<&Error>,
        _ended: Option<&Ended>,
        _shared: &crate::state::Shared,
    ) {
        #[cfg(feature = "tracing")]
        if !self.span.is_disabled() {
            let shard = self.names.as_ref().map(|(n, a)| (&**n, &**a));
            record_span(&self.span, _error, shard);
        }
        #[cfg(feature = "metrics")]
        durations::record(
            _shared,
            self.name,
            _ended.and_then(|e| e.shard),
            _error.map(ErrorKind::of),
            _ended.map_or(0.0, |e| {
                e.at.saturating_duration_since(self.started).as_secs_f64()
            }),
        );
    }
}

/// A batch's first error (if any): it names the batch's outcome (not looked for when both
/// features are off).
#[inline]
pub(crate) fn first_error<'r>(
    _results: impl IntoIterator<Item = &'r Result<redis_ring_core::resp::Value, Error>>,
) -> Option<&'r Error> {
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    {
        _results.into_iter().find_map(|r| r.as_ref().err())
    }
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    None
}

/// The `server.port` of an address (`host:port`, `[v6]:port`; none for a Unix path).
#[cfg(feature = "tracing")]
fn split_addr(addr: &str) -> (&str, Option<u16>) {
    match addr.rsplit_once(':') {
        Some((host, port)) if !addr.starts_with("unix:") => match port.parse() {
            Ok(p) => (host.trim_start_matches('[').trim_end_matches(']'), Some(p)),
            Err(_) => (addr, None),
        },
        _ => (addr, None),
    }
}

#[cfg(feature = "tracing")]
fn record_span(span: &tracing::Span, error: Option<&Error>, shard: Option<(&str, &str)>) {
    let shard = shard.or_else(|| {
        // A refused or failed request names its shard in the error, if any.
        error.and_then(|e| Some((e.shard()?, e.addr()?)))
    });
    if let Some((name, addr)) = shard {
        let (host, port) = split_addr(addr);
        span.record("server.address", host);
        if let Some(port) = port {
            span.record("server.port", port);
        }
        span.record("redis_ring.shard", name);
    }
    if let Some(e) = error {
        if let Error::Server { message, .. } = e {
            let code = message.split(' ').next().unwrap_or("");
            span.record("db.response.status_code", code);
        }
        span.record("error.type", ErrorKind::of(e).as_str());
    }
}

/// Reports a ring event: a `tracing` event and the shard counters/gauges.
#[inline]
pub(crate) fn event(_event: &Event, _live: usize) {
    #[cfg(feature = "tracing")]
    match _event {
        Event::ShardUp { name, addr } => {
            tracing::info!(
                redis_ring.shard = &**name,
                server.address = &**addr,
                "shard up"
            );
        }
        Event::ShardDown { name, addr, reason } => {
            tracing::warn!(
                redis_ring.shard = &**name,
                server.address = &**addr,
                reason = %reason,
                "shard down"
            );
        }
        Event::ShardAdded { name, addr } => {
            tracing::info!(
                redis_ring.shard = &**name,
                server.address = &**addr,
                "shard added"
            );
        }
        Event::ShardRemoved { name, addr } => {
            tracing::info!(
                redis_ring.shard = &**name,
                server.address = &**addr,
                "shard removed"
            );
        }
        Event::FailingOver { name, addr, reason } => {
            tracing::warn!(
                redis_ring.shard = &**name,
                server.address = &**addr,
                reason = %reason,
                "shard failing over"
            );
        }
        Event::Switched { name, addr } => {
            tracing::info!(
                redis_ring.shard = &**name,
                server.address = &**addr,
                "shard served by its primary again"
            );
        }
        _ => {}
    }
    #[cfg(feature = "metrics")]
    {
        let (what, name) = match _event {
            Event::ShardUp { name, .. } => ("up", name),
            Event::ShardDown { name, .. } => ("down", name),
            Event::ShardAdded { name, .. } => ("added", name),
            Event::ShardRemoved { name, .. } => ("removed", name),
            _ => return,
        };
        metrics::counter!(SHARD_TRANSITIONS, "redis_ring.shard" => name.to_string(), "event" => what)
            .increment(1);
        metrics::gauge!(SHARDS_LIVE).set(_live as f64);
    }
}

/// `db.client.operation.duration` handles, registered once per kind of operation and thread.
#[cfg(feature = "metrics")]
mod durations {
    use std::cell::RefCell;

    use metrics::{Histogram, SharedString};
    use redis_ring_core::error::CmdName;

    use redis_ring_core::ring::ShardRef;
    use redis_ring_core::stats::ErrorKind;

    use super::OPERATION_DURATION;
    use crate::state::Shared;

    /// One registered histogram: what it is found by, and its handle.
    struct Entry {
        shard: Option<ShardRef>,
        kind: Option<ErrorKind>,
        /// [`op_key`] of `op`: compared before the whole name.
        op_key: u64,
        /// The ring ([`Shared::id`]): a [`ShardRef`] means something in its ring only.
        ring: u64,
        op: CmdName,
        handle: Histogram,
    }

    /// The first 7 bytes of a command name and its length, as one integer.
    fn op_key(op: &CmdName) -> u64 {
        let b = op.as_bytes();
        let mut k = [0u8; 8];
        let n = b.len().min(7);
        k[..n].copy_from_slice(&b[..n]);
        k[7] = b.len() as u8;
        u64::from_le_bytes(k)
    }

    /// The handles this thread registered, and with which recorder (its address).
    #[derive(Default)]
    struct Cache {
        recorder: usize,
        entries: Vec<Entry>,
    }

    /// More distinct (ring, operation, shard, outcome) series than this on one thread: start
    /// over (an application sending arbitrary command names, or a ring whose shards come and
    /// go, must not grow the cache forever).
    const MOST: usize = 512;

    thread_local! {
        static CACHE: RefCell<Cache> = const {
            RefCell::new(Cache {
                recorder: 0,
                entries: Vec::new(),
            })
        };
    }

    /// Records `seconds` in the histogram of `op` on `shard` of ring `shared` with outcome
    /// `kind` (`None`: ok), outside the ring's lock.
    ///
    /// `histogram!` would build the label strings, the key and its hash and ask the recorder
    /// for a handle on every command, recorder or not (what the feature cost with nothing
    /// installed); this registers each series once per thread and keeps the handle, as
    /// `metrics` recommends for hot paths: a command compares a few integers per entry (the
    /// shard is a copied [`ShardRef`], the name a prefix), and only the first command of a series on a thread asks the
    /// ring for the shard's names (its labels). The cache is dropped when the recorder
    /// changes (one installed after the first commands is used from then on, as with the
    /// macro).
    pub(super) fn record(
        shared: &Shared,
        op: CmdName,
        shard: Option<ShardRef>,
        kind: Option<ErrorKind>,
        seconds: f64,
    ) {
        let recorder = metrics::with_recorder(|r| {
            std::ptr::from_ref::<dyn metrics::Recorder>(r).cast::<()>() as usize
        });
        let ring = shared.id();
        let key = op_key(&op);
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.recorder != recorder || cache.entries.len() >= MOST {
                cache.recorder = recorder;
                cache.entries.clear();
            }
            let found = cache.entries.iter().find(|e| {
                e.shard == shard
                    && e.kind == kind
                    && e.op_key == key
                    && e.ring == ring
                    && e.op == op
            });
            if let Some(e) = found {
                e.handle.record(seconds);
                return;
            }
            // The shard's names, from the ring (a shard gone since is labelled as none).
            let names = shard.and_then(|r| shared.shard_names(r));
            let (name, addr) = match names {
                Some((n, a)) => (SharedString::from_shared(n), SharedString::from_shared(a)),
                None => (SharedString::const_str(""), SharedString::const_str("")),
            };
            let handle = metrics::histogram!(
                OPERATION_DURATION,
                "db.operation.name" => op.as_str().to_owned(),
                "redis_ring.shard" => name,
                "server.address" => addr,
                "outcome" => kind.map_or("ok", ErrorKind::as_str),
            );
            handle.record(seconds);
            cache.entries.push(Entry {
                shard,
                kind,
                op_key: key,
                ring,
                op,
                handle,
            });
        });
    }
}

/// The driver's connection and in-flight gauges changed.
#[cfg(feature = "metrics")]
pub(crate) fn gauges(connections: usize, in_flight: usize) {
    metrics::gauge!(CONNECTIONS).set(connections as f64);
    metrics::gauge!(IN_FLIGHT).set(in_flight as f64);
}
