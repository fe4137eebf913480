//! What a breaker has counted: a plain snapshot and its derived rates.

use crate::breaker::State;
use crate::sync::{AtomicU64, Ordering};

/// A snapshot of a breaker's counters, taken by
/// [`CircuitBreaker::stats`](crate::CircuitBreaker::stats).
///
/// Counters only grow (until a `u64` wraps). Each is exact once the calls that
/// touch it have returned; a snapshot taken while calls run may be a few calls
/// apart between fields, as every counter is its own atomic.
///
/// ```
/// use seawall_core::breaker::{BreakerConfig, CircuitBreaker, State};
/// use seawall_core::time::ManualClock;
///
/// let config = BreakerConfig::builder().failure_threshold(2).build().unwrap();
/// let breaker = CircuitBreaker::new(&config);
/// let clock = ManualClock::new();
/// breaker.try_acquire(&clock).unwrap().success(&clock);
/// breaker.try_acquire(&clock).unwrap().failure(&clock);
/// breaker.try_acquire(&clock).unwrap().failure(&clock); // the second in a row: opens
/// assert!(breaker.try_acquire(&clock).is_err()); // rejected
///
/// let stats = breaker.stats();
/// assert_eq!(stats.state, State::Open);
/// assert_eq!((stats.successful, stats.failed, stats.rejected), (1, 2, 1));
/// assert_eq!(stats.total_calls(), 4);
/// assert_eq!(stats.failure_rate(), 2.0 / 3.0); // over the outcomes
/// assert_eq!(stats.rejection_rate(), 0.25); // over every call
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Stats {
    /// The state at the time of the snapshot.
    pub state: State,
    /// Calls let through whose permit has ended: `successful + failed + released`.
    /// A permit still in flight is counted when it ends, which keeps the
    /// admission of a call free of any atomic write.
    pub permitted: u64,
    /// Calls recorded as successful.
    pub successful: u64,
    /// Calls recorded as failed.
    pub failed: u64,
    /// Calls slower than `slow_call_duration` (also counted as successful or failed).
    pub slow: u64,
    /// Calls rejected (open, forced open, or half-open with every probe slot taken).
    pub rejected: u64,
    /// Permits released without an outcome: cancelled calls, and outcomes the
    /// adapter's classifier ignores.
    pub released: u64,
    /// State transitions since the breaker was created.
    pub state_transitions: u64,
}

impl Stats {
    /// Calls that reached the breaker: `permitted + rejected`.
    pub fn total_calls(&self) -> u64 {
        self.permitted.saturating_add(self.rejected)
    }

    /// `successful / (successful + failed)`, or 0 before any outcome.
    pub fn success_rate(&self) -> f64 {
        ratio(self.successful, self.successful.saturating_add(self.failed))
    }

    /// `failed / (successful + failed)`, or 0 before any outcome.
    pub fn failure_rate(&self) -> f64 {
        ratio(self.failed, self.successful.saturating_add(self.failed))
    }

    /// `slow / (successful + failed)`, or 0 before any outcome.
    pub fn slow_call_rate(&self) -> f64 {
        ratio(self.slow, self.successful.saturating_add(self.failed))
    }

    /// `rejected / (permitted + rejected)`, or 0 before any call.
    pub fn rejection_rate(&self) -> f64 {
        ratio(self.rejected, self.total_calls())
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The breaker's counters: one relaxed `fetch_add` per event, nothing on admission.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) successful: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) slow: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) released: AtomicU64,
}

impl Counters {
    loom_const_fn! {
        pub(crate) fn new() -> Self {
            Self {
                successful: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                slow: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                released: AtomicU64::new(0),
            }
        }
    }

    #[inline]
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, state: State, state_transitions: u64) -> Stats {
        let successful = self.successful.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let released = self.released.load(Ordering::Relaxed);
        Stats {
            state,
            permitted: successful.saturating_add(failed).saturating_add(released),
            successful,
            failed,
            slow: self.slow.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            released,
            state_transitions,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn rates_are_zero_without_calls() {
        let stats = Stats::default();
        assert_eq!(stats.success_rate(), 0.0);
        assert_eq!(stats.failure_rate(), 0.0);
        assert_eq!(stats.slow_call_rate(), 0.0);
        assert_eq!(stats.rejection_rate(), 0.0);
    }

    #[test]
    fn rates_divide_the_right_counts() {
        let stats = Stats {
            permitted: 10,
            successful: 6,
            failed: 2,
            slow: 4,
            rejected: 30,
            released: 2,
            ..Stats::default()
        };
        assert_eq!(stats.success_rate(), 0.75);
        assert_eq!(stats.failure_rate(), 0.25);
        assert_eq!(stats.slow_call_rate(), 0.5);
        assert_eq!(stats.rejection_rate(), 0.75);
        assert_eq!(stats.total_calls(), 40);
    }
}
