//! The local breaker a process falls back to while Redis is unreachable,
//! seeded with the last shared state it saw.
//!
//! The core's breaker has no setter for its state, on purpose: it moves only
//! through its transitions. Seeding replays them instead, at instants chosen
//! on the local clock, so that the local breaker ends where the fleet was: the
//! same consecutive failures (below the threshold), or open with the same
//! consecutive trips until the same moment.

use std::time::Duration;

use seawall_core::breaker::{BreakerConfig, CircuitBreaker, State};
use seawall_core::time::Instant;

use super::state::SharedState;

/// The fallback breaker: the consecutive rule with the user's configuration.
pub(crate) type LocalBreaker = CircuitBreaker<Box<BreakerConfig>>;

/// A local breaker in `shared`'s state at `now`, where `open_remaining` is
/// what is left of an open duration as of `now` (zero for half-open: the next
/// call becomes a probe).
pub(crate) fn local_breaker(
    config: &BreakerConfig,
    shared: &SharedState,
    open_remaining: Duration,
    now: Instant,
) -> LocalBreaker {
    let breaker = CircuitBreaker::new(Box::new(*config));
    match shared.state {
        State::Closed => {
            let failures = shared
                .consecutive_failures
                .min(config.failure_threshold() - 1);
            for _ in 0..failures {
                fail(&breaker, now);
            }
        }
        State::Open => replay_trips(&breaker, shared.trips, open_remaining, now),
        State::HalfOpen => replay_trips(&breaker, shared.trips, Duration::ZERO, now),
        State::ForcedOpen => drop(breaker.force_open()),
        State::Disabled => drop(breaker.disable()),
    }
    breaker
}

fn fail(breaker: &LocalBreaker, at: Instant) {
    if let Ok(permit) = breaker.try_acquire(&at) {
        let _ = permit.failure(&at);
    }
}

/// Opens `breaker` with `trips` consecutive trips (at least one), so that it
/// stays open until `now + remaining`: each trip is made at the end of the
/// previous open duration, by a failed probe.
fn replay_trips(breaker: &LocalBreaker, trips: u32, remaining: Duration, now: Instant) {
    let config = breaker.config();
    // Without growth every trip opens for as long: one is as good as many.
    let trips = if config.open_duration_multiplier() == 1.0 {
        1
    } else {
        trips.clamp(1, 127)
    };
    let total: Duration = (1..=trips)
        .map(|trip| config.open_duration_after(trip))
        .fold(Duration::ZERO, Duration::saturating_add);
    let end = now + remaining;
    let mut at = Instant::from_nanos(
        end.as_nanos()
            .saturating_sub(u64::try_from(total.as_nanos()).unwrap_or(u64::MAX)),
    );
    for _ in 0..config.failure_threshold() {
        fail(breaker, at);
    }
    for trip in 2..=trips {
        at = at + config.open_duration_after(trip - 1);
        // The first call after the open duration is a probe; it fails.
        fail(breaker, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seawall_core::breaker::RejectReason;

    fn shared(state: State, failures: u32, trips: u32) -> SharedState {
        SharedState {
            state,
            consecutive_failures: failures,
            trips,
            ..SharedState::UNKNOWN
        }
    }

    fn config(multiplier: f64) -> BreakerConfig {
        BreakerConfig::builder()
            .failure_threshold(3)
            .open_duration(Duration::from_secs(10))
            .open_duration_multiplier(multiplier)
            .max_open_duration(Duration::from_secs(35))
            .build()
            .unwrap()
    }

    const NOW: Instant = Instant::from_secs(1_000_000);

    #[test]
    fn closed_keeps_its_failures_below_the_threshold() {
        let config = config(1.0);
        let breaker = local_breaker(&config, &shared(State::Closed, 2, 0), Duration::ZERO, NOW);
        assert_eq!(breaker.state(), State::Closed);
        fail(&breaker, NOW);
        assert_eq!(breaker.state(), State::Open);
        // More failures than the threshold (a stale count) stay closed locally.
        let breaker = local_breaker(&config, &shared(State::Closed, 9, 0), Duration::ZERO, NOW);
        assert_eq!(breaker.state(), State::Closed);
    }

    #[test]
    fn open_lasts_the_rest_and_keeps_its_growth() {
        let config = config(2.0);
        let remaining = Duration::from_secs(7);
        let breaker = local_breaker(&config, &shared(State::Open, 0, 3), remaining, NOW);
        let rejection = breaker.try_acquire(&NOW).unwrap_err();
        assert_eq!(rejection.reason(), RejectReason::Open);
        assert_eq!(rejection.retry_after(), Some(remaining));
        // The probe at the end fails: the fourth trip opens for 35 s (capped from 80 s).
        let end = NOW + remaining;
        fail(&breaker, end);
        let rejection = breaker.try_acquire(&end).unwrap_err();
        assert_eq!(rejection.retry_after(), Some(Duration::from_secs(35)));
    }

    #[test]
    fn half_open_probes_at_once_and_manual_states_carry_over() {
        let config = config(1.0);
        let breaker = local_breaker(&config, &shared(State::HalfOpen, 0, 1), Duration::ZERO, NOW);
        assert!(breaker.try_acquire(&NOW).unwrap().is_probe());
        let forced = local_breaker(
            &config,
            &shared(State::ForcedOpen, 0, 0),
            Duration::ZERO,
            NOW,
        );
        assert_eq!(forced.state(), State::ForcedOpen);
        let disabled = local_breaker(&config, &shared(State::Disabled, 0, 0), Duration::ZERO, NOW);
        assert_eq!(disabled.state(), State::Disabled);
    }
}
