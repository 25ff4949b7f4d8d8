//! What a bench run measures: per-caller latency histograms and 250 ms timeline buckets,
//! live counters for the progress line, and the client's shard events.
//!
//! Every caller owns a [`Recorder`] (no lock on the hot path) and they are merged when the
//! run ends; only the two live counters are shared (relaxed atomics, read by the progress
//! line). Latency is recorded for every completed operation, failed ones included: a stall
//! that ends in an error is latency a caller saw.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Width of one timeline bucket.
pub(crate) const BUCKET: Duration = Duration::from_millis(250);

/// Largest latency the histogram tells apart (larger ones count as this).
const MAX_US: u64 = 3_600_000_000;

/// Operations completed in one [`BUCKET`] of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// Successful operations.
    pub(crate) ok: u64,
    /// Failed operations.
    pub(crate) err: u64,
    /// The slowest operation, in microseconds (0 when none completed).
    pub(crate) max_us: u64,
}

/// Counters the progress line reads while the run goes on.
#[derive(Debug, Default)]
pub(crate) struct Live {
    ok: AtomicU64,
    err: AtomicU64,
}

impl Live {
    /// `(ok, err)` so far.
    pub(crate) fn get(&self) -> (u64, u64) {
        (
            self.ok.load(Ordering::Relaxed),
            self.err.load(Ordering::Relaxed),
        )
    }
}

/// One caller's measurements.
#[derive(Debug)]
pub(crate) struct Recorder {
    start: Instant,
    hist: Histogram<u64>,
    buckets: Vec<Bucket>,
    live: Arc<Live>,
}

impl Recorder {
    /// A recorder whose timeline starts at `start`, reporting to `live`.
    pub(crate) fn new(start: Instant, live: Arc<Live>) -> Recorder {
        Recorder {
            start,
            hist: new_histogram(),
            buckets: Vec::new(),
            live,
        }
    }

    /// `ok + err` operations that completed together at `done` after `latency` (one command,
    /// or one pipeline batch: each of its commands waited the whole round trip).
    pub(crate) fn record(&mut self, done: Instant, latency: Duration, ok: u64, err: u64) {
        let n = ok + err;
        if n == 0 {
            return;
        }
        let us = (latency.as_micros() as u64).clamp(1, MAX_US);
        // Cannot fail: the value is clamped into the histogram's range.
        let _ = self.hist.record_n(us, n);
        let index =
            (done.saturating_duration_since(self.start).as_nanos() / BUCKET.as_nanos()) as usize;
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, Bucket::default());
        }
        let bucket = &mut self.buckets[index];
        bucket.ok += ok;
        bucket.err += err;
        bucket.max_us = bucket.max_us.max(us);
        if ok > 0 {
            self.live.ok.fetch_add(ok, Ordering::Relaxed);
        }
        if err > 0 {
            self.live.err.fetch_add(err, Ordering::Relaxed);
        }
    }

    /// Adds `other`'s measurements to these (same start).
    pub(crate) fn merge(&mut self, other: &Recorder) {
        // Cannot fail: both histograms have the same bounds.
        let _ = self.hist.add(&other.hist);
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), Bucket::default());
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.ok += theirs.ok;
            mine.err += theirs.err;
            mine.max_us = mine.max_us.max(theirs.max_us);
        }
    }

    /// The latency histogram (microseconds).
    pub(crate) fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// The timeline, one bucket per [`BUCKET`] from the start.
    pub(crate) fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// Total `(ok, err)`.
    pub(crate) fn totals(&self) -> (u64, u64) {
        self.buckets
            .iter()
            .fold((0, 0), |(o, e), b| (o + b.ok, e + b.err))
    }
}

fn new_histogram() -> Histogram<u64> {
    // 3 significant digits: 0.1% resolution from 1 us to an hour.
    Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds")
}

/// A shard went up or down, as the client reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ShardEvent {
    /// Milliseconds since the start of the measurement.
    pub(crate) t_ms: u64,
    /// The shard's name.
    pub(crate) shard: String,
    /// `true` for up, `false` for down.
    pub(crate) up: bool,
}

/// The client's shard events, stamped as they arrive.
#[derive(Debug)]
pub(crate) struct EventLog {
    start: Instant,
    events: Mutex<Vec<ShardEvent>>,
}

impl EventLog {
    /// A log whose times count from `start`.
    pub(crate) fn new(start: Instant) -> EventLog {
        EventLog {
            start,
            events: Mutex::new(Vec::new()),
        }
    }

    /// Records that `shard` went up or down now.
    pub(crate) fn push(&self, shard: &str, up: bool) {
        let t_ms = self.start.elapsed().as_millis() as u64;
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ShardEvent {
                t_ms,
                shard: shard.to_owned(),
                up,
            });
    }

    /// The events so far, in arrival order.
    pub(crate) fn snapshot(&self) -> Vec<ShardEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_into_buckets_and_merges() {
        let start = Instant::now();
        let live = Arc::new(Live::default());
        let mut a = Recorder::new(start, live.clone());
        let mut b = Recorder::new(start, live.clone());
        a.record(
            start + Duration::from_millis(10),
            Duration::from_micros(100),
            1,
            0,
        );
        a.record(
            start + Duration::from_millis(260),
            Duration::from_micros(900),
            0,
            1,
        );
        b.record(
            start + Duration::from_millis(20),
            Duration::from_micros(300),
            16,
            0,
        );
        b.record(
            start + Duration::from_millis(760),
            Duration::from_millis(5),
            2,
            2,
        );
        assert_eq!(live.get(), (19, 3));
        a.merge(&b);
        assert_eq!(
            a.buckets(),
            [
                Bucket {
                    ok: 17,
                    err: 0,
                    max_us: 300
                },
                Bucket {
                    ok: 0,
                    err: 1,
                    max_us: 900
                },
                Bucket::default(),
                Bucket {
                    ok: 2,
                    err: 2,
                    max_us: 5000
                },
            ]
        );
        assert_eq!(a.totals(), (19, 3));
        let h = a.histogram();
        assert_eq!(h.len(), 22);
        assert_eq!(h.value_at_quantile(0.5), h.highest_equivalent(300));
        assert_eq!(h.max(), h.highest_equivalent(5000));
    }

    #[test]
    fn latency_is_clamped_into_range() {
        let start = Instant::now();
        let mut r = Recorder::new(start, Arc::new(Live::default()));
        r.record(start, Duration::ZERO, 1, 0);
        r.record(start, Duration::from_secs(7200), 1, 0);
        assert_eq!(r.histogram().len(), 2);
        assert_eq!(r.histogram().min(), 1);
    }
}
