//! Per-shard health: consecutive heartbeat failures and successes, and the Up ↔ Down
//! transitions they cause (go-redis `ringShard.Vote`, generalised to a recover threshold).
//!
//! Call protocol: after each heartbeat (or probe) call [`Liveness::record_success`] or
//! [`Liveness::record_failure`]; a returned [`Transition`] means the shard changed state and
//! the placement must be rebuilt. A new shard starts up, with no failures. Real-command
//! errors are never recorded here: only heartbeats decide.

/// A change of a shard's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Down → Up: `recover_threshold` consecutive successes.
    Up,
    /// Up → Down: `fail_threshold` consecutive failures.
    Down,
}

/// The health counters of one shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Liveness {
    up: bool,
    /// Consecutive failures (saturating); reset by a success.
    failures: u32,
    /// Consecutive successes while down; reset by a failure.
    successes: u32,
    fail_threshold: u32,
    recover_threshold: u32,
}

impl Liveness {
    /// An up shard. Thresholds below 1 are taken as 1.
    pub(crate) fn new(fail_threshold: u32, recover_threshold: u32) -> Liveness {
        Liveness {
            up: true,
            failures: 0,
            successes: 0,
            fail_threshold: fail_threshold.max(1),
            recover_threshold: recover_threshold.max(1),
        }
    }

    /// Whether the shard is up (in the placement).
    pub(crate) fn is_up(&self) -> bool {
        self.up
    }

    /// Consecutive failed heartbeats.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// Failed heartbeats since the shard went down (0 while up): drives reconnect backoff.
    pub(crate) fn failures_while_down(&self) -> u32 {
        if self.up {
            0
        } else {
            self.failures.saturating_sub(self.fail_threshold)
        }
    }

    /// Up, but with at least one recent failure: probed at the short interval.
    pub(crate) fn is_suspect(&self) -> bool {
        self.up && self.failures > 0
    }

    /// A heartbeat succeeded.
    pub(crate) fn record_success(&mut self) -> Option<Transition> {
        self.failures = 0;
        if self.up {
            return None;
        }
        self.successes += 1;
        if self.successes >= self.recover_threshold {
            self.up = true;
            self.successes = 0;
            Some(Transition::Up)
        } else {
            None
        }
    }

    /// A heartbeat failed.
    pub(crate) fn record_failure(&mut self) -> Option<Transition> {
        self.successes = 0;
        self.failures = self.failures.saturating_add(1);
        if self.up && self.failures >= self.fail_threshold {
            self.up = false;
            Some(Transition::Down)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_redis_defaults_three_down_one_up() {
        let mut l = Liveness::new(3, 1);
        assert!(l.is_up());
        assert_eq!(l.record_failure(), None);
        assert!(l.is_suspect());
        assert_eq!(l.record_failure(), None);
        assert_eq!(l.record_failure(), Some(Transition::Down));
        assert!(!l.is_up() && !l.is_suspect());
        assert_eq!(l.record_failure(), None, "already down");
        assert_eq!(l.failures_while_down(), 1);
        assert_eq!(l.record_success(), Some(Transition::Up));
        assert_eq!((l.failures(), l.is_suspect()), (0, false));
    }

    #[test]
    fn a_success_resets_the_failure_streak() {
        let mut l = Liveness::new(3, 1);
        l.record_failure();
        l.record_failure();
        assert_eq!(l.record_success(), None);
        l.record_failure();
        l.record_failure();
        assert!(l.is_up());
    }

    #[test]
    fn recover_threshold_damps_flapping() {
        let mut l = Liveness::new(1, 3);
        assert_eq!(l.record_failure(), Some(Transition::Down));
        assert_eq!(l.record_success(), None);
        assert_eq!(l.record_success(), None);
        assert_eq!(l.record_failure(), None, "streak broken");
        assert_eq!(l.record_success(), None);
        assert_eq!(l.record_success(), None);
        assert_eq!(l.record_success(), Some(Transition::Up));
    }

    #[test]
    fn zero_thresholds_act_as_one() {
        let mut l = Liveness::new(0, 0);
        assert_eq!(l.record_failure(), Some(Transition::Down));
        assert_eq!(l.record_success(), Some(Transition::Up));
    }
}
