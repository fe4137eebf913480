//! The shared state of a breaker, as Redis holds it.

use std::time::Duration;

use seawall_core::breaker::State;

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
    pub generation: i64,
    /// Closed: the fleet's consecutive failures, as reported so far.
    pub consecutive_failures: u32,
    /// Open and HalfOpen: consecutive trips (the growth of the open duration).
    pub trips: u32,
    /// Open: the rest of the open duration, on Redis's clock.
    pub open_remaining: Duration,
    /// HalfOpen: successful probes in this round.
    pub successes: u32,
    /// HalfOpen: probes holding a slot (their lease has not expired).
    pub probes_in_flight: u32,
}

impl SharedState {
    /// The state of a breaker that Redis has not seen yet (or that this process
    /// has not read yet).
    pub(crate) const UNKNOWN: SharedState = SharedState {
        state: State::Closed,
        generation: -1,
        consecutive_failures: 0,
        trips: 0,
        open_remaining: Duration::ZERO,
        successes: 0,
        probes_in_flight: 0,
    };
}
