//! Exponential backoff with full jitter, for the retries of the drivers and of calicoctl.
//!
//! Each pause is drawn uniformly from `[0, min(cap, base × 2^attempt)]` ("full jitter"), so that
//! many clients retrying the same thing spread out instead of colliding again in lock step, and
//! the retries of one operation stop when its total time budget is spent.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

/// A retry schedule: exponential growth from `base` up to `cap`, within `budget` in total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub budget: Duration,
}

/// One operation's progress through a [`Backoff`].
#[derive(Debug)]
pub struct Retries {
    policy: Backoff,
    started: Instant,
    attempt: u32,
}

impl Backoff {
    /// Starts counting one operation's retries now.
    pub fn start(self) -> Retries {
        Retries {
            policy: self,
            started: Instant::now(),
            attempt: 0,
        }
    }

    /// The longest pause before retry number `attempt` (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

impl Retries {
    /// The pause before the next retry, or `None` when the budget would be exceeded by it.
    pub fn next_pause(&mut self) -> Option<Duration> {
        let ceiling = self.policy.ceiling(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        let pause = jitter(ceiling);
        let spent = self.started.elapsed();
        (spent + pause < self.policy.budget).then_some(pause)
    }

    /// Time left of the budget.
    pub fn remaining(&self) -> Duration {
        self.policy.budget.saturating_sub(self.started.elapsed())
    }

    /// Retries so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// A uniformly random duration in `[0, ceiling]` (std's per-process random hash keys, mixed
/// with a counter and the clock; good enough to spread retries, not for cryptography).
pub fn jitter(ceiling: Duration) -> Duration {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    Duration::from_nanos(hasher.finish() % (nanos.saturating_add(1)).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_the_cap_and_stay_within_their_ceiling() {
        let policy = Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(300),
            budget: Duration::from_secs(3600),
        };
        assert_eq!(policy.ceiling(0), Duration::from_millis(10));
        assert_eq!(policy.ceiling(3), Duration::from_millis(80));
        assert_eq!(policy.ceiling(10), Duration::from_millis(300));
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_millis(300));
        let mut retries = policy.start();
        for attempt in 0..20 {
            let pause = retries.next_pause().unwrap();
            assert!(pause <= policy.ceiling(attempt), "{pause:?} at {attempt}");
        }
        assert_eq!(retries.attempts(), 20);
    }

    #[test]
    fn jitter_spreads_and_the_budget_ends_the_retries() {
        let draws: std::collections::HashSet<Duration> =
            (0..50).map(|_| jitter(Duration::from_secs(1))).collect();
        assert!(draws.len() > 40, "{draws:?}");
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
        let mut spent = Backoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(10),
            budget: Duration::ZERO,
        }
        .start();
        assert_eq!(spent.next_pause(), None);
    }
}
