//! What a process knows of its shared breaker: the state it last read from
//! Redis (or its local fallback), with the clocks that make it usable
//! without asking Redis again.

use std::sync::Arc;

use seawall_core::breaker::rules::{Phase, Snapshot};
use seawall_core::breaker::{BreakerConfig, CircuitBreaker, State, WindowTotals};
use seawall_core::time::Instant;

use super::codec::Stored;
use crate::breaker::HeapWindow;

/// The breaker a process falls back to while Redis is unreachable: the core's
/// breaker with the user's configuration and window.
pub(crate) type LocalBreaker = CircuitBreaker<Box<BreakerConfig>, HeapWindow>;

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
            View::Shared(mirror) => mirror.stored.snapshot.state(),
            View::Fallback(local) => local.state(),
            View::Unavailable => State::Open,
        }
    }
}

/// The shared state as last read, and when: the fleet's clock (Redis's time,
/// or a test's time source) and the local clock at that moment, so that the
/// fleet's time can be told later from the local clock alone.
pub(crate) struct Mirror {
    pub(crate) stored: Stored,
    /// The fleet's window as last read.
    pub(crate) totals: WindowTotals,
    pub(crate) fleet: Instant,
    pub(crate) local: Instant,
    /// The round trip of the read: `fleet` is known within half of it.
    pub(crate) round_trip: std::time::Duration,
    /// Whether the state was read at all (a process that just started has not).
    pub(crate) known: bool,
}

impl Mirror {
    /// Nothing read yet: Closed, round unknown.
    pub(crate) fn unknown() -> Self {
        Mirror {
            stored: Stored {
                version: String::new(),
                snapshot: Snapshot::INITIAL,
                leases: Vec::new(),
            },
            totals: WindowTotals::default(),
            fleet: Instant::ZERO,
            local: Instant::ZERO,
            round_trip: std::time::Duration::ZERO,
            known: false,
        }
    }

    /// The fleet's time now, told from the local clock's `now`.
    pub(crate) fn fleet_at(&self, local_now: Instant) -> Instant {
        self.fleet + local_now.saturating_duration_since(self.local)
    }

    /// A local breaker that starts where the fleet was at fleet time
    /// `fleet_now` (local time `local_now`): the same consecutive failures,
    /// open with the same trips for the rest of the open duration, half-open
    /// with no probe in flight (the next call probes), or the same manual state.
    pub(crate) fn fallback(
        &self,
        config: &BreakerConfig,
        window: HeapWindow,
        fleet_now: Instant,
        local_now: Instant,
    ) -> LocalBreaker {
        let snapshot = &self.stored.snapshot;
        let local = |fleet: Instant| {
            let ahead = fleet.saturating_duration_since(fleet_now);
            local_now + ahead
        };
        let phase = match snapshot.phase {
            Phase::Open { trips, until } => Phase::Open {
                trips,
                until: local(until),
            },
            Phase::HalfOpen {
                trips,
                successes,
                slow,
                ..
            } => Phase::HalfOpen {
                trips,
                probes: 0,
                successes,
                slow,
                active: local_now,
            },
            other => other,
        };
        let from = Snapshot { phase, ..*snapshot };
        CircuitBreaker::resume(Box::new(*config), window, from)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use seawall_core::breaker::{AnyWindow, RejectReason};

    use super::*;

    const NOW: Instant = Instant::from_secs(1_000_000);
    const LOCAL: Instant = Instant::from_secs(7);

    fn mirror(phase: Phase) -> Mirror {
        Mirror {
            stored: Stored {
                version: "1".into(),
                snapshot: Snapshot {
                    generation: 3,
                    phase,
                },
                leases: Vec::new(),
            },
            totals: WindowTotals::default(),
            fleet: NOW,
            local: LOCAL,
            round_trip: Duration::ZERO,
            known: true,
        }
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

    fn fallback(phase: Phase, fleet_now: Instant, local_now: Instant) -> LocalBreaker {
        mirror(phase).fallback(&config(), AnyWindow::None, fleet_now, local_now)
    }

    fn fail(breaker: &LocalBreaker, at: Instant) {
        if let Ok(permit) = breaker.try_acquire(&at) {
            let _ = permit.failure(&at);
        }
    }

    #[test]
    fn the_fleets_time_is_told_from_the_local_clock() {
        let mirror = mirror(Phase::Closed { failures: 0 });
        assert_eq!(
            mirror.fleet_at(LOCAL + Duration::from_secs(2)),
            NOW + Duration::from_secs(2)
        );
        assert_eq!(
            mirror.fleet_at(Instant::ZERO),
            NOW,
            "a local clock that went back"
        );
    }

    #[test]
    fn the_fallback_keeps_the_fleets_failures() {
        let breaker = fallback(Phase::Closed { failures: 2 }, NOW, LOCAL);
        assert_eq!(breaker.state(), State::Closed);
        fail(&breaker, LOCAL);
        assert_eq!(breaker.state(), State::Open);
    }

    #[test]
    fn the_fallback_stays_open_for_the_rest_with_the_same_growth() {
        let until = NOW + Duration::from_secs(7);
        let breaker = fallback(Phase::Open { trips: 3, until }, NOW, LOCAL);
        let rejection = breaker.try_acquire(&LOCAL).unwrap_err();
        assert_eq!(rejection.reason(), RejectReason::Open);
        assert_eq!(rejection.retry_after(), Some(Duration::from_secs(7)));
        // The probe at the end fails: the fourth trip opens for 35 s (capped from 80 s).
        let end = LOCAL + Duration::from_secs(7);
        fail(&breaker, end);
        let rejection = breaker.try_acquire(&end).unwrap_err();
        assert_eq!(rejection.retry_after(), Some(Duration::from_secs(35)));
        // Seeded later, it has less left.
        let later = NOW + Duration::from_secs(5);
        let breaker = fallback(Phase::Open { trips: 3, until }, later, LOCAL);
        let rejection = breaker.try_acquire(&LOCAL).unwrap_err();
        assert_eq!(rejection.retry_after(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn the_fallback_probes_at_once_in_half_open_and_keeps_manual_states() {
        let half_open = Phase::HalfOpen {
            trips: 1,
            probes: 1,
            successes: 0,
            slow: 0,
            active: NOW,
        };
        assert!(
            fallback(half_open, NOW, LOCAL)
                .try_acquire(&LOCAL)
                .unwrap()
                .is_probe()
        );
        assert_eq!(
            fallback(Phase::ForcedOpen, NOW, LOCAL).state(),
            State::ForcedOpen
        );
        assert_eq!(
            fallback(Phase::Disabled, NOW, LOCAL).state(),
            State::Disabled
        );
    }
}
