//! Tracing spans and `metrics` for every command, derived from what the core reports
//! (behind the `tracing` and `metrics` features; with both off, `Op` is empty and every
//! call here compiles to nothing).
//!
//! One `Op` per command or batch, started when its future first polls and finished when it
//! resolves: its duration is recorded under the ring's lock, where the reply is taken (the
//! histogram handle found in the ring's own cache, `Durations`), its span's fields after
//! the lock (a subscriber's code never runs under it). Span fields and metric names follow the OpenTelemetry
//! database semantic conventions: span `db.system.name = "redis"`, `db.operation.name` (the
//! command; `PIPELINE` / `MULTI` for batches), `db.namespace` (db index), `server.address`,
//! `server.port`, `db.operation.batch.size`, `db.response.status_code` (the error prefix,
//! e.g. `WRONGTYPE`), `error.type`, plus `redis_ring.shard`; never an argument. The
//! histogram `db.client.operation.duration` (seconds) is labelled `db.operation.name`,
//! `redis_ring.shard`, `server.address` and `outcome` (`ok` or the name of an [error kind](redis_ring_core::stats::ErrorKind)).
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
    /// Its span, only when a subscriber records it (boxed: a span nobody records is
    /// dropped at once, and the op stays small where it is moved with its request).
    #[cfg(feature = "tracing")]
    traced: Option<Box<Traced>>,
}

/// A span a subscriber records, and the shard names it gets ([`Op::resolve`]).
#[cfg(feature = "tracing")]
#[derive(Debug)]
struct Traced {
    span: tracing::Span,
    /// The shard's name and address, cloned from the core under the lock.
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
            traced: {
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
                // A disabled span records nothing and is never entered: nothing to keep.
                if span.is_disabled() {
                    None
                } else {
                    if _batch > 1 {
                        span.record("db.operation.batch.size", _batch);
                    }
                    Some(Box::new(Traced { span, names: None }))
                }
            },
        }
    }

    /// Under the lock (`_st`), once the command ended as `_ended` says (`None`: refused
    /// before reaching the core), with `_error` if it failed: the duration is recorded in
    /// its histogram, found in the ring's handle cache (`Durations`) — a `metrics`
    /// handle's `record` is an atomic update in the usual recorders, and nothing without
    /// one — and a span a subscriber records gets the shard's names (cloned from the core),
    /// recorded by [`Op::finish`] after the lock.
    #[inline]
    pub(crate) fn resolve(
        &mut self,
        _st: &mut crate::state::State,
        _ended: Option<&Ended>,
        _error: Option<&Error>,
    ) {
        #[cfg(feature = "tracing")]
        if let Some(t) = &mut self.traced {
            t.names = _ended
                .and_then(|e| e.shard)
                .and_then(|r| _st.core.shard_names(r))
                .map(|(n, a)| (Arc::clone(n), Arc::clone(a)));
        }
        #[cfg(feature = "metrics")]
        {
            let nanos = _ended.map_or(0, |e| {
                e.at.as_nanos().saturating_sub(self.started.as_nanos())
            });
            _st.durations.record(
                &_st.core,
                &self.name,
                _ended.and_then(|e| e.shard),
                _error.map(ErrorKind::of),
                nanos as f64 / 1e9,
            );
        }
    }

    /// Records the span's fields, outside the lock: the command failed with `_error`, if
    /// any.
    #[inline]
    pub(crate) fn finish(self, _error: Option<&Error>) {
        #[cfg(feature = "tracing")]
        if let Some(t) = &self.traced {
            let shard = t.names.as_ref().map(|(n, a)| (&**n, &**a));
            record_span(&t.span, _error, shard);
        }
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

#[cfg(feature = "metrics")]
pub(crate) use durations::Durations;

/// `db.client.operation.duration` handles, registered once per series and ring.
#[cfg(feature = "metrics")]
mod durations {
    use std::hash::{Hash, Hasher};

    use metrics::{Histogram, SharedString};
    use redis_ring_core::error::CmdName;
    use redis_ring_core::ring::ShardRef;
    use redis_ring_core::stats::ErrorKind;
    use redis_ring_core::RingCore;

    use super::OPERATION_DURATION;

    /// One registered histogram: what it is found by, and its handle.
    struct Entry {
        shard: Option<ShardRef>,
        kind: Option<ErrorKind>,
        /// [`CmdName::prefix`] of `op`: compared before the whole name (which is compared
        /// only when longer than the prefix).
        op_key: u64,
        op: CmdName,
        handle: Histogram,
    }

    /// Entries of the cache (a power of two): a series takes the entry its key hashes to,
    /// replacing whichever series had it (registered again when it comes back), so the
    /// cache is bounded however many series an application makes.
    const ENTRIES: usize = 64;

    /// A rotate-xor hash of a few integers, multiplied once at the end (the cache's index; its worst case, all
    /// series on one entry, costs a registration per command, not a wrong label).
    struct Mix(u64);

    impl Hasher for Mix {
        fn finish(&self) -> u64 {
            self.0.wrapping_mul(0x517c_c1b7_2722_0a95)
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.write_u64(u64::from(b));
            }
        }
        fn write_u32(&mut self, n: u32) {
            self.write_u64(u64::from(n));
        }
        fn write_usize(&mut self, n: usize) {
            self.write_u64(n as u64);
        }
        fn write_u64(&mut self, n: u64) {
            self.0 = self.0.rotate_left(13) ^ n;
        }
    }

    /// A ring's `db.client.operation.duration` handles (kept in its state, used under its
    /// lock), and the recorder they were registered with (its address).
    ///
    /// `histogram!` would build the label strings, the key and its hash and ask the
    /// recorder for a handle on every command, recorder or not (what the feature cost with
    /// nothing installed); this registers each series once and keeps the handle, as
    /// `metrics` recommends for hot paths: a command hashes a few integers (the shard is a
    /// copied [`ShardRef`], the name a prefix) to one entry of a small direct-mapped cache
    /// and compares them; only the first command of a series (or the first after another
    /// series took its entry) builds the labels. The cache is dropped when the recorder the
    /// calling thread sees changes (one installed after the first commands is used from
    /// then on, as with the macro; a thread-local recorder is used on its thread).
    #[derive(Default)]
    pub(crate) struct Durations {
        recorder: usize,
        /// [`ENTRIES`] long once used.
        entries: Vec<Option<Entry>>,
    }

    impl std::fmt::Debug for Durations {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Durations").finish_non_exhaustive()
        }
    }

    impl Durations {
        /// Records `seconds` in the histogram of `op` on `shard` of `core` with outcome
        /// `kind` (`None`: ok).
        pub(crate) fn record(
            &mut self,
            core: &RingCore,
            op: &CmdName,
            shard: Option<ShardRef>,
            kind: Option<ErrorKind>,
            seconds: f64,
        ) {
            let recorder = metrics::with_recorder(|r| {
                std::ptr::from_ref::<dyn metrics::Recorder>(r).cast::<()>() as usize
            });
            if self.recorder != recorder || self.entries.is_empty() {
                self.recorder = recorder;
                self.entries.clear();
                self.entries.resize_with(ENTRIES, || None);
            }
            let key = op.prefix();
            let mut h = Mix(key);
            shard.hash(&mut h);
            kind.hash(&mut h);
            let at = (h.finish() >> (64 - ENTRIES.trailing_zeros())) as usize;
            let entry = &mut self.entries[at];
            if let Some(e) = entry {
                if e.op_key == key
                    && e.shard == shard
                    && e.kind == kind
                    && (op.as_bytes().len() <= 8 || e.op == *op)
                {
                    e.handle.record(seconds);
                    return;
                }
            }
            *entry = Some(register(core, op, key, shard, kind));
            if let Some(e) = entry {
                e.handle.record(seconds);
            }
        }
    }

    /// Registers the series of `op` (whose [`CmdName::prefix`] is `key`) on `shard` of
    /// `core` with outcome `kind` (`None`: ok): the first command of a series, kept out of
    /// the hot path.
    #[cold]
    #[inline(never)]
    fn register(
        core: &RingCore,
        op: &CmdName,
        key: u64,
        shard: Option<ShardRef>,
        kind: Option<ErrorKind>,
    ) -> Entry {
        // The shard's names (a shard gone since its reply is labelled as none).
        let names = shard.and_then(|r| core.shard_names(r));
        let (name, addr) = match names {
            Some((n, a)) => (
                SharedString::from_shared(n.clone()),
                SharedString::from_shared(a.clone()),
            ),
            None => (SharedString::const_str(""), SharedString::const_str("")),
        };
        let handle = metrics::histogram!(
            OPERATION_DURATION,
            "db.operation.name" => op.as_str().to_owned(),
            "redis_ring.shard" => name,
            "server.address" => addr,
            "outcome" => kind.map_or("ok", ErrorKind::as_str),
        );
        Entry {
            shard,
            kind,
            op_key: key,
            op: *op,
            handle,
        }
    }
}

/// The driver's connection and in-flight gauges changed.
#[cfg(feature = "metrics")]
pub(crate) fn gauges(connections: usize, in_flight: usize) {
    metrics::gauge!(CONNECTIONS).set(connections as f64);
    metrics::gauge!(IN_FLIGHT).set(in_flight as f64);
}
