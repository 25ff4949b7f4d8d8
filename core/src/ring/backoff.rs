//! Backoff delays and their jitter. The core has no entropy of its own: the jitter comes from
//! a SplitMix64 sequence seeded by [`Config::seed`](crate::config::Config::seed), so a run is
//! reproducible from its seed (the simulator relies on it).

use crate::time::Duration;

/// A small deterministic generator (SplitMix64): enough to spread retries, not for secrets.
#[derive(Clone, Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Jitter {
        Jitter(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform duration in `[0, d)` (zero when `d` is zero).
    pub(crate) fn below(&mut self, d: Duration) -> Duration {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next_u64() % nanos)
    }
}

fn shifted(base: Duration, shift: u32) -> Duration {
    let factor = 1u32.checked_shl(shift.min(31)).unwrap_or(u32::MAX);
    base.saturating_mul(factor)
}

/// go-redis `internal.RetryBackoff`: before retry number `retry` (0 = the first), a delay
/// uniform in `[min, min + min·2^retry)`, capped at `max`.
pub(crate) fn retry_backoff(
    retry: u32,
    min: Duration,
    max: Duration,
    jitter: &mut Jitter,
) -> Duration {
    if min.is_zero() {
        return Duration::ZERO;
    }
    let d = min.saturating_add(jitter.below(shifted(min, retry)));
    d.min(max)
}

/// Before reconnect attempt `attempt` of a down shard: `first·2^attempt` capped at `max`,
/// with "equal jitter" (uniform in `[d/2, d)`) so that clients do not reconnect in lockstep.
pub(crate) fn reconnect_backoff(
    attempt: u32,
    first: Duration,
    max: Duration,
    jitter: &mut Jitter,
) -> Duration {
    let d = shifted(first, attempt).min(max);
    d / 2 + jitter.below(d / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_backoff_follows_go_redis() {
        let mut j = Jitter::new(1);
        let (min, max) = (Duration::from_millis(8), Duration::from_millis(512));
        for retry in 0..12 {
            for _ in 0..100 {
                let d = retry_backoff(retry, min, max, &mut j);
                let hi = (min + min * (1 << retry)).min(max);
                assert!(d >= min && d <= hi, "retry {retry}: {d:?}");
            }
        }
        assert!(retry_backoff(100, min, max, &mut j) <= max);
        assert_eq!(
            retry_backoff(0, Duration::ZERO, max, &mut j),
            Duration::ZERO
        );
    }

    #[test]
    fn reconnect_backoff_is_capped_and_jittered() {
        let mut j = Jitter::new(7);
        let (first, max) = (Duration::from_millis(50), Duration::from_millis(500));
        let mut seen = alloc::collections::BTreeSet::new();
        for attempt in 0..40 {
            let d = reconnect_backoff(attempt, first, max, &mut j);
            let cap = (first * (1 << attempt.min(20))).min(max);
            assert!(d >= cap / 2 && d < cap, "{attempt}: {d:?}");
            seen.insert(d);
        }
        assert!(seen.len() > 30, "jitter varies");
    }

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Jitter::new(42), Jitter::new(42));
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }
}
