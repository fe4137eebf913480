//! The health of a set of circuit breakers: the one rule behind every
//! adapter's readiness answer.
//!
//! The status is
//! - **unhealthy** when a breaker that the service cannot work without
//!   (`critical`) is open: take the service out of rotation;
//! - **degraded** when some breaker is not closed (half-open, open but not
//!   critical, forced open or disabled by hand, a critical one forced open on
//!   purpose), or a breaker whose state is shared by a fleet cannot reach
//!   that state and decides locally (`fallback`): it works, with something
//!   missing or under test;
//! - **healthy** otherwise.
//!
//! A breaker in shadow mode decides but rejects nothing, so it never changes
//! the status: trying a configuration on production traffic must not take a
//! service out of rotation.
//!
//! ```
//! use seawall_core::breaker::State;
//! use seawall_core::health::{BreakerCondition, HealthStatus};
//!
//! let database = BreakerCondition { critical: true, ..BreakerCondition::new(State::Open) };
//! assert_eq!(HealthStatus::of([database]), HealthStatus::Unhealthy);
//!
//! let tried = BreakerCondition { shadow: true, ..database };
//! assert_eq!(HealthStatus::of([tried]), HealthStatus::Healthy);
//! ```

use crate::breaker::State;

/// The overall status of a set of breakers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum HealthStatus {
    /// Every breaker is closed.
    Healthy,
    /// Some breaker is not closed, and no critical breaker is open.
    Degraded,
    /// A critical breaker is open.
    Unhealthy,
}

/// What the status needs to know of one breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerCondition {
    /// Its state.
    pub state: State,
    /// Whether the service cannot work while it is open.
    pub critical: bool,
    /// Whether its state is shared by a fleet and cannot be reached now.
    pub fallback: bool,
    /// Whether it is in shadow mode (decides, rejects nothing).
    pub shadow: bool,
}

impl BreakerCondition {
    /// A breaker in `state`, not critical, not in fallback, not in shadow mode.
    pub const fn new(state: State) -> Self {
        Self {
            state,
            critical: false,
            fallback: false,
            shadow: false,
        }
    }
}

impl HealthStatus {
    /// The status of a set of breakers (see the [module documentation](self)).
    pub fn of(breakers: impl IntoIterator<Item = BreakerCondition>) -> HealthStatus {
        let mut status = HealthStatus::Healthy;
        for breaker in breakers.into_iter().filter(|b| !b.shadow) {
            if breaker.critical && breaker.state == State::Open {
                return HealthStatus::Unhealthy;
            }
            if breaker.state != State::Closed || breaker.fallback {
                status = HealthStatus::Degraded;
            }
        }
        status
    }

    /// `healthy`, `degraded` or `unhealthy`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }

    /// Whether a readiness probe should pass: healthy or degraded.
    pub const fn is_ready(self) -> bool {
        !matches!(self, HealthStatus::Unhealthy)
    }

    /// The HTTP status a readiness endpoint answers: 200, or 503 when unhealthy.
    pub const fn http_status(self) -> u16 {
        if self.is_ready() { 200 } else { 503 }
    }
}

impl core::fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(state: State, critical: bool, fallback: bool, shadow: bool) -> BreakerCondition {
        BreakerCondition {
            state,
            critical,
            fallback,
            shadow,
        }
    }

    #[test]
    fn no_breaker_is_healthy() {
        assert_eq!(HealthStatus::of([]), HealthStatus::Healthy);
    }

    #[test]
    fn every_state_alone() {
        use HealthStatus::*;
        let cases = [
            (State::Closed, Healthy, Healthy),
            (State::Open, Degraded, Unhealthy),
            (State::HalfOpen, Degraded, Degraded),
            // Forced open on purpose, or switched off: under test, not down.
            (State::ForcedOpen, Degraded, Degraded),
            (State::Disabled, Degraded, Degraded),
        ];
        for (state, plain, critical) in cases {
            assert_eq!(
                HealthStatus::of([of(state, false, false, false)]),
                plain,
                "{state:?}"
            );
            assert_eq!(
                HealthStatus::of([of(state, true, false, false)]),
                critical,
                "{state:?}"
            );
        }
    }

    #[test]
    fn a_fleet_breaker_out_of_reach_degrades() {
        let closed = of(State::Closed, true, true, false);
        assert_eq!(HealthStatus::of([closed]), HealthStatus::Degraded);
    }

    #[test]
    fn the_worst_breaker_decides_whatever_the_order() {
        let open_critical = of(State::Open, true, false, false);
        let half_open = of(State::HalfOpen, false, false, false);
        let closed = of(State::Closed, false, false, false);
        assert_eq!(
            HealthStatus::of([closed, half_open, open_critical]),
            HealthStatus::Unhealthy
        );
        assert_eq!(
            HealthStatus::of([open_critical, half_open, closed]),
            HealthStatus::Unhealthy
        );
        assert_eq!(
            HealthStatus::of([closed, half_open]),
            HealthStatus::Degraded
        );
    }

    #[test]
    fn a_shadow_breaker_never_changes_the_status() {
        for state in [
            State::Closed,
            State::Open,
            State::HalfOpen,
            State::ForcedOpen,
            State::Disabled,
        ] {
            let shadow = of(state, true, true, true);
            assert_eq!(
                HealthStatus::of([shadow]),
                HealthStatus::Healthy,
                "{state:?}"
            );
        }
        let half_open = of(State::HalfOpen, false, false, false);
        let shadow_open = of(State::Open, true, false, true);
        assert_eq!(
            HealthStatus::of([shadow_open, half_open]),
            HealthStatus::Degraded
        );
    }

    #[test]
    fn readiness() {
        assert_eq!(HealthStatus::Healthy.http_status(), 200);
        assert_eq!(HealthStatus::Degraded.http_status(), 200);
        assert_eq!(HealthStatus::Unhealthy.http_status(), 503);
        assert_eq!(HealthStatus::Degraded.as_str(), "degraded");
    }
}
