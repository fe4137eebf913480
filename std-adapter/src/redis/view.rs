//! What a process knows of its shared breaker: the last shared state it saw
//! (or its local fallback), and the Closed outcomes it has not reported yet.

use std::sync::Arc;

use seawall_core::breaker::rules::{Phase, Snapshot};
use seawall_core::breaker::{BreakerConfig, CircuitBreaker, NoWindow, State};
use seawall_core::time::Instant;

use super::state::SharedState;

/// The breaker a process falls back to while Redis is unreachable: the
/// consecutive rule with the user's configuration.
pub(crate) type LocalBreaker = CircuitBreaker<Box<BreakerConfig>>;

/// The view every call reads first (one `ArcSwap` load): replaced as a whole,
/// never changed in place.
pub(crate) enum View {
    /// Redis answers: the last shared state seen.
    Shared(Mirror),
    /// Redis does not answer and the policy is to fail open: a local breaker decides.
    Fallback(Arc<LocalBreaker>),
    /// Redis does not answer and the policy is to fail closed: every call is rejected.
    Unavailable,
}

impl View {
    /// The state a caller of `state()` sees.
    pub(crate) fn state(&self) -> State {
        match self {
            View::Shared(mirror) => mirror.shared.state,
            View::Fallback(local) => local.state(),
            View::Unavailable => State::Open,
        }
    }
}

/// The shared state as last read, with the local instants that make it usable
/// without Redis.
pub(crate) struct Mirror {
    pub(crate) shared: SharedState,
    /// Open: the end of the open duration, on the local clock (read from Redis
    /// as time remaining, so the two clocks never have to agree).
    pub(crate) deadline: Instant,
    /// HalfOpen: every probe slot was taken when last looked at; calls are
    /// rejected locally until the next sync instead of asking Redis each time.
    pub(crate) probes_full: bool,
}

impl Mirror {
    pub(crate) fn new(shared: SharedState, now: Instant, probes_full: bool) -> Self {
        Self {
            deadline: now + shared.open_remaining,
            shared,
            probes_full,
        }
    }

    /// Whether a success must be reported: it ends a run of failures that the
    /// fleet is counting.
    pub(crate) fn counts_failures(&self) -> bool {
        self.shared.state == State::Closed && self.shared.consecutive_failures > 0
    }

    /// A local breaker that starts where the fleet was at `now`: the same
    /// consecutive failures (below the threshold), open with the same trips
    /// for the rest of the open duration, half-open with no probe in flight
    /// (the next call probes), or the same manual state.
    pub(crate) fn fallback(&self, config: &BreakerConfig, now: Instant) -> LocalBreaker {
        let shared = &self.shared;
        let phase = match shared.state {
            State::Closed => Phase::Closed {
                failures: shared.consecutive_failures,
            },
            State::Open => Phase::Open {
                trips: shared.trips,
                // Never later than Redis said, should the local clock have gone back.
                until: self.deadline.min(now + shared.open_remaining),
            },
            State::HalfOpen => Phase::HalfOpen {
                trips: shared.trips,
                probes: 0,
                successes: 0,
                slow: 0,
                active: now,
            },
            State::ForcedOpen => Phase::ForcedOpen,
            State::Disabled => Phase::Disabled,
        };
        let from = Snapshot {
            generation: 0,
            phase,
        };
        CircuitBreaker::resume(Box::new(*config), NoWindow, from)
    }
}

/// The Closed outcomes of one round that Redis has not heard of yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Batch {
    /// The round they belong to (`-1`: the state was not read yet).
    pub(crate) generation: i64,
    pub(crate) failures: u32,
    /// Failures since the last success in the batch.
    pub(crate) trailing: u32,
    /// The batch holds a success: the fleet's run of failures ended.
    pub(crate) reset: bool,
}

impl Batch {
    pub(crate) const fn new(generation: i64) -> Self {
        Self {
            generation,
            failures: 0,
            trailing: 0,
            reset: false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.failures == 0 && !self.reset
    }

    pub(crate) fn failure(&mut self) {
        self.failures = self.failures.saturating_add(1);
        self.trailing = self.trailing.saturating_add(1);
    }

    pub(crate) fn success(&mut self) {
        self.trailing = 0;
        self.reset = true;
    }

    /// Takes the outcomes out, leaving an empty batch of `next` generation.
    pub(crate) fn take(&mut self, next: i64) -> Batch {
        std::mem::replace(self, Batch::new(next))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use seawall_core::breaker::RejectReason;

    use super::*;

    const NOW: Instant = Instant::from_secs(1_000_000);

    fn mirror(state: State, failures: u32, trips: u32, open_remaining: Duration) -> Mirror {
        let shared = SharedState {
            state,
            consecutive_failures: failures,
            trips,
            open_remaining,
            ..SharedState::UNKNOWN
        };
        Mirror::new(shared, NOW, false)
    }

    fn config() -> BreakerConfig {
        BreakerConfig::builder()
            .failure_threshold(3)
            .open_duration(Duration::from_secs(10))
            .open_duration_multiplier(2.0)
            .max_open_duration(Duration::from_secs(35))
            .build()
            .unwrap()
    }

    fn fail(breaker: &LocalBreaker, at: Instant) {
        if let Ok(permit) = breaker.try_acquire(&at) {
            let _ = permit.failure(&at);
        }
    }

    #[test]
    fn the_fallback_keeps_the_fleets_failures() {
        let breaker = mirror(State::Closed, 2, 0, Duration::ZERO).fallback(&config(), NOW);
        assert_eq!(breaker.state(), State::Closed);
        fail(&breaker, NOW);
        assert_eq!(breaker.state(), State::Open);
    }

    #[test]
    fn the_fallback_stays_open_for_the_rest_with_the_same_growth() {
        let remaining = Duration::from_secs(7);
        let breaker = mirror(State::Open, 0, 3, remaining).fallback(&config(), NOW);
        let rejection = breaker.try_acquire(&NOW).unwrap_err();
        assert_eq!(rejection.reason(), RejectReason::Open);
        assert_eq!(rejection.retry_after(), Some(remaining));
        // The probe at the end fails: the fourth trip opens for 35 s (capped from 80 s).
        let end = NOW + remaining;
        fail(&breaker, end);
        let rejection = breaker.try_acquire(&end).unwrap_err();
        assert_eq!(rejection.retry_after(), Some(Duration::from_secs(35)));
        // Seeded later, it has less left.
        let later = NOW + Duration::from_secs(5);
        let breaker = mirror(State::Open, 0, 3, remaining).fallback(&config(), later);
        let rejection = breaker.try_acquire(&later).unwrap_err();
        assert_eq!(rejection.retry_after(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn the_fallback_probes_at_once_in_half_open_and_keeps_manual_states() {
        let half_open = mirror(State::HalfOpen, 0, 1, Duration::ZERO).fallback(&config(), NOW);
        assert!(half_open.try_acquire(&NOW).unwrap().is_probe());
        let forced = mirror(State::ForcedOpen, 0, 0, Duration::ZERO).fallback(&config(), NOW);
        assert_eq!(forced.state(), State::ForcedOpen);
        let disabled = mirror(State::Disabled, 0, 0, Duration::ZERO).fallback(&config(), NOW);
        assert_eq!(disabled.state(), State::Disabled);
    }

    #[test]
    fn a_batch_remembers_the_run_after_its_last_success() {
        let mut batch = Batch::new(7);
        assert!(batch.is_empty());
        batch.failure();
        batch.failure();
        batch.success();
        batch.failure();
        assert_eq!(
            batch.take(8),
            Batch {
                generation: 7,
                failures: 3,
                trailing: 1,
                reset: true
            }
        );
        assert_eq!(batch, Batch::new(8));
    }
}
