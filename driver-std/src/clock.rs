//! The driver's clock: `std::time::Instant` turned into the core's nanosecond [`Instant`].

use std::time::Duration;

use redis_ring_core::time::Instant;

/// Converts the monotonic std clock into core instants, counted from the ring's creation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    epoch: std::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            epoch: std::time::Instant::now(),
        }
    }

    /// Now, as the core counts time. Monotonic because `std::time::Instant` is.
    pub(crate) fn now(&self) -> Instant {
        let nanos = self.epoch.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How long from `now` until `at`; `None` for [`Instant::MAX`] ("no timer").
    pub(crate) fn until(now: Instant, at: Instant) -> Option<Duration> {
        if at == Instant::MAX {
            None
        } else {
            Some(at.saturating_duration_since(now))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_moves_forward_and_until_handles_never() {
        let clock = Clock::new();
        let a = clock.now();
        std::thread::sleep(Duration::from_millis(2));
        let b = clock.now();
        assert!(b > a);
        assert_eq!(Clock::until(b, Instant::MAX), None);
        assert_eq!(Clock::until(b, a), Some(Duration::ZERO));
        assert_eq!(
            Clock::until(a, a + Duration::from_millis(5)),
            Some(Duration::from_millis(5))
        );
    }
}
