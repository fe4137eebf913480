//! The health report: one line per circuit breaker and an overall status, for
//! readiness endpoints ([`Registry::health`]), and one line per adaptive limiter
//! (where its limit stands; it does not change the status).
//!
//! The status is
//! - **unhealthy** when a breaker registered as critical
//!   ([`Registry::register_critical_breaker`]) is open: the service cannot do
//!   its work, take it out of rotation;
//! - **degraded** when some breaker is not closed (half-open, open but not
//!   critical, forced open or disabled by hand, or a critical breaker forced
//!   open on purpose), or a breaker shared through Redis cannot reach it and
//!   decides locally: it works, with something missing or under test;
//! - **healthy** otherwise.
//!
//! A breaker in shadow mode never changes the status: it rejects nothing.
//! The rule is the core's ([`seawall_core::health`]), the same in every
//! binding.
//!
//! With the `serde` feature the report serialises to JSON:
//!
//! ```json
//! {
//!   "status": "degraded",
//!   "breakers": [
//!     {
//!       "name": "search",
//!       "state": "open",
//!       "critical": false,
//!       "shared": false,
//!       "failure_rate": 0.5,
//!       "slow_call_rate": 0.0,
//!       "since": "2025-01-01T12:00:00.000Z",
//!       "in_state_seconds": 12.5,
//!       "calls": { "successful": 5, "failed": 5, "released": 0, "rejected": 3 }
//!     }
//!   ]
//! }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use seawall_core::breaker::State;
use seawall_core::health::BreakerCondition;
pub use seawall_core::health::HealthStatus;

use crate::registry::Registry;

/// A breaker's calls by how they ended, as the metrics count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BreakerCalls {
    /// Calls recorded as successful.
    pub successful: u64,
    /// Calls recorded as failed.
    pub failed: u64,
    /// Calls let through that ended without an outcome: errors the classifier
    /// ignores, refusals of policies inside the breaker, and cancelled calls
    /// (the breaker's `stats().released`).
    pub released: u64,
    /// Calls rejected without being made.
    pub rejected: u64,
}

/// One line of the [`HealthReport`]: a breaker's state and rates.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct BreakerHealth {
    /// The breaker's name.
    pub name: String,
    /// Its state.
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser::state"))]
    pub state: State,
    /// Whether it was registered as critical.
    pub critical: bool,
    /// Whether its state is shared by a fleet through Redis.
    pub shared: bool,
    /// Whether it is in shadow mode: it decides and counts, rejects nothing,
    /// and leaves the status alone.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "std::ops::Not::not"))]
    pub shadow: bool,
    /// A shared breaker that cannot reach Redis, and decides locally.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "std::ops::Not::not"))]
    pub fallback: bool,
    /// The failure rate it decides on: over its sliding window if it has one,
    /// else over every call since it was created.
    pub failure_rate: f64,
    /// The slow-call rate, over the same calls.
    pub slow_call_rate: f64,
    /// When it entered its state (or was registered, if it has not changed
    /// since), by the system's clock. JSON: RFC 3339, UTC, milliseconds.
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser::time"))]
    pub since: SystemTime,
    /// How long it has been in its state, by the registry's clock. JSON:
    /// `in_state_seconds`, a number.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "in_state_seconds", serialize_with = "ser::seconds")
    )]
    pub in_state: Duration,
    /// Its calls, by how they ended.
    pub calls: BreakerCalls,
}

/// The health of the breakers of a [`Registry`]: what a readiness endpoint
/// serves.
///
/// ```
/// use seawall::{CircuitBreaker, CircuitBreakerConfig, HealthStatus, Registry, State};
///
/// let registry = Registry::new();
/// let database = CircuitBreaker::new("database", CircuitBreakerConfig { failure_threshold: 1, ..Default::default() });
/// let search = CircuitBreaker::new("search", CircuitBreakerConfig::default());
/// registry.register_critical_breaker(&database).unwrap();
/// registry.register_breaker(&search).unwrap();
/// assert_eq!(registry.health().status, HealthStatus::Healthy);
///
/// search.force_open();
/// assert_eq!(registry.health().status, HealthStatus::Degraded);
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// database.try_acquire().unwrap().failure();
/// # });
/// let report = registry.health();
/// assert_eq!(report.status, HealthStatus::Unhealthy);
/// assert_eq!(report.status.http_status(), 503);
/// assert_eq!(report.breakers[0].name, "database");
/// assert_eq!(report.breakers[0].state, State::Open);
/// assert_eq!(report.breakers[0].failure_rate, 1.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HealthReport {
    /// The overall status.
    pub status: HealthStatus,
    /// One line per breaker, sorted by name.
    pub breakers: Vec<BreakerHealth>,
    /// One line per adaptive limiter, sorted by name (left out of the JSON
    /// when there is none).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub limiters: Vec<LimiterHealth>,
}

/// One line of the [`HealthReport`] for an adaptive limiter: where its limit
/// stands and how its calls ended.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LimiterHealth {
    /// The limiter's name.
    pub name: String,
    /// Its algorithm: `aimd`, `gradient` or `vegas`.
    pub algorithm: &'static str,
    /// The limit now.
    pub limit: u32,
    /// Calls in flight now.
    pub in_flight: u32,
    /// The measured baseline latency, once known. JSON: `baseline_seconds`, a
    /// number or null.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "baseline_seconds", serialize_with = "ser::optional_seconds")
    )]
    pub baseline: Option<Duration>,
    /// Its calls: `successful`, `failed` (overloads), `released`, `rejected`.
    pub calls: BreakerCalls,
}

impl BreakerHealth {
    /// What the status rule needs of this line.
    fn condition(&self) -> BreakerCondition {
        BreakerCondition {
            state: self.state,
            critical: self.critical,
            fallback: self.fallback,
            shadow: self.shadow,
        }
    }
}

impl Registry {
    /// The health of every registered breaker (keyed breakers' included) and
    /// the overall status.
    pub fn health(&self) -> HealthReport {
        let now = self.shared.clock.now().as_nanos();
        let wall = SystemTime::now();
        let breakers: Vec<BreakerHealth> = self
            .breaker_views()
            .into_iter()
            .map(|view| {
                let stats = view.handle.stats();
                let in_state = Duration::from_nanos(now.saturating_sub(view.track.since()));
                let shared = view.handle.shared();
                BreakerHealth {
                    name: view.handle.name().to_owned(),
                    state: stats.state,
                    critical: view.critical,
                    shared: shared.is_some(),
                    shadow: view.handle.is_shadow(),
                    fallback: shared.is_some_and(|s| s.fallback),
                    failure_rate: view.handle.failure_rate(),
                    slow_call_rate: view.handle.slow_call_rate(),
                    since: wall.checked_sub(in_state).unwrap_or(UNIX_EPOCH),
                    in_state,
                    calls: BreakerCalls {
                        successful: stats.successful,
                        failed: stats.failed,
                        released: stats.released,
                        rejected: stats.rejected,
                    },
                }
            })
            .collect();
        let limiters = self
            .adaptive_limiters()
            .into_iter()
            .map(|(name, limiter)| {
                let stats = limiter.stats();
                LimiterHealth {
                    name,
                    algorithm: limiter.config().algorithm().as_str(),
                    limit: stats.limit,
                    in_flight: stats.in_flight,
                    baseline: stats.baseline,
                    calls: BreakerCalls {
                        successful: stats.succeeded,
                        failed: stats.overloaded,
                        released: stats.released,
                        rejected: stats.rejected,
                    },
                }
            })
            .collect();
        HealthReport {
            status: HealthStatus::of(breakers.iter().map(BreakerHealth::condition)),
            breakers,
            limiters,
        }
    }
}

/// `time` in RFC 3339, UTC, with milliseconds: `2025-01-01T12:00:00.000Z`.
pub fn format_rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(feature = "serde")]
mod ser {
    use std::time::{Duration, SystemTime};

    use seawall_core::breaker::State;
    use serde::Serializer;

    pub(super) fn state<S: Serializer>(state: &State, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(state.as_str())
    }

    pub(super) fn time<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339(*time))
    }

    pub(super) fn seconds<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(duration.as_secs_f64())
    }

    pub(super) fn optional_seconds<S: Serializer>(
        duration: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => s.serialize_f64(duration.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(format_rfc3339(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339(at(951_782_400, 7)),
            "2000-02-29T00:00:00.007Z"
        );
        assert_eq!(
            format_rfc3339(at(1_735_732_800 + 3_723, 999)),
            "2025-01-01T13:02:03.999Z"
        );
        assert_eq!(
            format_rfc3339(at(4_107_542_399, 0)),
            "2100-02-28T23:59:59.000Z"
        );
        assert_eq!(
            format_rfc3339(at(4_107_542_400, 0)),
            "2100-03-01T00:00:00.000Z"
        );
    }
}
