//! The shared state of a breaker, as Redis holds it.

use std::time::Duration;

use seawall_core::breaker::rules::{Phase, Snapshot};
use seawall_core::breaker::{State, WindowTotals};
use seawall_core::time::Instant;

/// A breaker's state as Redis holds it: what every process of the fleet sees.
///
/// Read with [`SharedCircuitBreaker::shared_state`](super::SharedCircuitBreaker::shared_state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedState {
    /// The state.
    pub state: State,
    /// The round: it moves on every transition, and outcomes of permits from an
    /// earlier round are ignored. It starts at Redis's time (in microseconds)
    /// when the breaker first appears in Redis, so rounds never repeat, even
    /// after Redis lost its data.
    pub generation: u64,
    /// Closed, without a window: the fleet's consecutive failures, as reported
    /// so far.
    pub consecutive_failures: u32,
    /// Open and HalfOpen: consecutive trips (the growth of the open duration).
    pub trips: u32,
    /// Open: the rest of the open duration, on the fleet's clock.
    pub open_remaining: Duration,
    /// HalfOpen: successful probes in this round.
    pub successes: u32,
    /// HalfOpen: probes holding a slot (their lease has not expired).
    pub probes_in_flight: u32,
    /// With a window: the fleet's calls, failures and slow calls in it, as
    /// reported so far (after a trip, those that opened the breaker).
    pub window: WindowTotals,
}

impl SharedState {
    /// The state of a breaker that this process has not read yet.
    pub(crate) const UNKNOWN: SharedState = SharedState {
        state: State::Closed,
        generation: 0,
        consecutive_failures: 0,
        trips: 0,
        open_remaining: Duration::ZERO,
        successes: 0,
        probes_in_flight: 0,
        window: WindowTotals {
            calls: 0,
            failed: 0,
            slow: 0,
        },
    };

    /// The state `snapshot` at fleet time `now`, with the window's `totals`.
    pub(crate) fn of(snapshot: &Snapshot, now: Instant, totals: WindowTotals) -> SharedState {
        let mut state = SharedState {
            state: snapshot.state(),
            generation: snapshot.generation,
            window: totals,
            ..SharedState::UNKNOWN
        };
        match snapshot.phase {
            Phase::Closed { failures } => state.consecutive_failures = failures,
            Phase::Open { trips, until } => {
                state.trips = trips;
                state.open_remaining = until.saturating_duration_since(now);
            }
            Phase::HalfOpen {
                trips,
                probes,
                successes,
                ..
            } => {
                state.trips = trips;
                state.probes_in_flight = probes;
                state.successes = successes;
            }
            Phase::ForcedOpen | Phase::Disabled => {}
        }
        state
    }
}
