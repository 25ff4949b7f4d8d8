//! [`LatencyHistogram`]: fixed logarithmic buckets (no allocation, `Copy`), mergeable across
//! shards, from which percentiles and the maximum are read.
//!
//! Log-linear buckets as in HdrHistogram with 3 significant bits: values below 8 µs have a
//! bucket each, then every power of two is cut into 8 equal buckets, so a bucket is at most
//! 12.5% wide (a percentile read from it is within that of the truth). 240 buckets reach
//! 2^32 µs (over an hour); longer values land in the last one. The maximum is exact.

use crate::time::Duration;

const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
/// Number of buckets.
const BUCKETS: usize = ((32 - SUB_BITS + 1) * SUB as u32) as usize;

/// Latencies in fixed logarithmic buckets of microseconds. See the module docs.
///
/// ```
/// use redis_ring_core::stats::LatencyHistogram;
/// use core::time::Duration;
/// let mut a = LatencyHistogram::new();
/// for us in 1..=100 {
///     a.record(Duration::from_micros(us));
/// }
/// let mut b = LatencyHistogram::new();
/// b.record(Duration::from_millis(5));
/// a.merge(&b);
/// assert_eq!(a.count(), 101);
/// assert_eq!(a.max(), Duration::from_millis(5));
/// let p50 = a.percentile(50.0).as_micros();
/// assert!((45..=57).contains(&p50), "{p50}");
/// assert_eq!(a.percentile(100.0), Duration::from_millis(5));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: [u64; BUCKETS],
    count: u64,
    sum_us: u64,
    max_us: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram::new()
    }
}

impl core::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count)
            .field("p50", &self.percentile(50.0))
            .field("p99", &self.percentile(99.0))
            .field("max", &self.max())
            .finish()
    }
}

/// The bucket of `us` microseconds.
fn bucket(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros(); // >= SUB_BITS
    let sub = (us >> (exp - SUB_BITS)) & (SUB - 1);
    let i = ((exp - SUB_BITS + 1) as u64 * SUB + sub) as usize;
    i.min(BUCKETS - 1)
}

/// The largest value (µs) bucket `i` holds.
fn upper(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let exp = i / SUB - 1 + u64::from(SUB_BITS);
    let sub = i % SUB;
    ((SUB + sub + 1) << (exp - u64::from(SUB_BITS))) - 1
}

impl LatencyHistogram {
    /// An empty histogram.
    pub const fn new() -> Self {
        LatencyHistogram {
            counts: [0; BUCKETS],
            count: 0,
            sum_us: 0,
            max_us: 0,
        }
    }

    /// Counts one latency (rounded down to the microsecond).
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.counts[bucket(us)] += 1;
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
    }

    /// Adds every value of `other` (shards merge into a ring-wide histogram).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += *b;
        }
        self.count += other.count;
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.max_us = self.max_us.max(other.max_us);
    }

    /// What was recorded after `earlier` (an earlier reading of the same histogram): the
    /// distribution of a window, since histograms only grow. The maximum is the window's
    /// largest bucket edge (capped by the overall maximum).
    pub fn since(&self, earlier: &LatencyHistogram) -> LatencyHistogram {
        let mut d = LatencyHistogram::new();
        for (i, (a, b)) in self.counts.iter().zip(earlier.counts.iter()).enumerate() {
            let c = a.saturating_sub(*b);
            if c > 0 {
                d.counts[i] = c;
                d.max_us = upper(i).min(self.max_us);
            }
        }
        d.count = self.count.saturating_sub(earlier.count);
        d.sum_us = self.sum_us.saturating_sub(earlier.sum_us);
        d
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The largest value recorded (exact).
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us)
    }

    /// The mean, or zero when empty.
    pub fn mean(&self) -> Duration {
        Duration::from_micros(self.sum_us.checked_div(self.count).unwrap_or(0))
    }

    /// The value below which `p` percent of the values fall (`p` in 0..=100), as the upper
    /// edge of its bucket (never above [`max`](Self::max)); zero when empty.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let p = if p.is_nan() {
            100.0
        } else {
            p.clamp(0.0, 100.0)
        };
        // The rank of the wanted value, 1-based: ceil(p% of count), at least 1.
        let rank = ((p / 100.0) * self.count as f64) as u64;
        let rank = rank.max(1).min(self.count);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_micros(upper(i).min(self.max_us));
            }
        }
        self.max()
    }

    /// `(upper edge in µs, count)` of every non-empty bucket, in increasing order (for an
    /// exporter that wants the whole distribution).
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (upper(i), c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for us in [
            0u64,
            1,
            7,
            8,
            9,
            15,
            16,
            17,
            100,
            1000,
            12_345,
            1 << 20,
            (1 << 32) - 1,
        ] {
            let b = bucket(us);
            assert!(b >= last, "{us}");
            assert!(upper(b) >= us, "{us} above bucket {b} ({})", upper(b));
            if b > 0 {
                assert!(upper(b - 1) < us, "{us} fits bucket {} already", b - 1);
            }
            // A bucket is at most 1/8 of its lower edge wide.
            let lower = if b == 0 { 0 } else { upper(b - 1) + 1 };
            assert!(upper(b) - lower <= lower / 8 + 1, "{us}");
            last = b;
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = LatencyHistogram::new();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p = |q| h.percentile(q).as_micros() as f64;
        assert!((p(50.0) - 500.0).abs() <= 500.0 / 8.0 + 1.0, "{}", p(50.0));
        assert!((p(99.0) - 990.0).abs() <= 990.0 / 8.0 + 1.0, "{}", p(99.0));
        assert_eq!(h.max(), Duration::from_micros(1000));
        assert_eq!(h.percentile(100.0), h.max());
        assert_eq!(h.mean(), Duration::from_micros(500));
        assert_eq!(LatencyHistogram::new().percentile(99.0), Duration::ZERO);
        assert_eq!(h.buckets().map(|(_, c)| c).sum::<u64>(), 1000);
        // A window: the last 10 values alone.
        let mut later = h;
        for _ in 0..10 {
            later.record(Duration::from_millis(20));
        }
        let window = later.since(&h);
        assert_eq!(window.count(), 10);
        assert_eq!(window.percentile(50.0), Duration::from_millis(20));
        assert_eq!(window.max(), Duration::from_millis(20));
    }
}
