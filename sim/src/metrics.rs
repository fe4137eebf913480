//! What a configuration did, in numbers: the summary of a run.

use serde::Serialize;

use crate::histogram::Histogram;

/// The totals of one configuration over the whole run.
///
/// Calls are what callers asked for; attempts are what the policies let
/// through to the dependency (retries included). A call ends in exactly one of
/// `succeeded`, `failed`, `rejected` and `unfinished`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Calls made by callers (their own retries included).
    pub calls: u64,
    /// Of which calls that callers sent again on their own.
    pub client_retries: u64,
    /// Calls that ended with the dependency's answer.
    pub succeeded: u64,
    /// Calls that ended with the dependency's error or a timeout.
    pub failed: u64,
    /// Calls that ended because a policy refused their last attempt.
    pub rejected: u64,
    /// Calls still waiting for a hung dependency when the run ended.
    pub unfinished: u64,
    /// Attempts that reached the dependency: its load.
    pub attempts: u64,
    /// Of which retries made by the retry policy.
    pub retries: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Attempts refused by the circuit breaker.
    pub refused_by_breaker: u64,
    /// Attempts refused by the rate limiter.
    pub refused_by_rate_limiter: u64,
    /// Attempts refused by the bulkhead.
    pub refused_by_bulkhead: u64,
    /// Attempts refused by the adaptive limit.
    pub refused_by_limiter: u64,
    /// Refused attempts that the dependency would have failed (or hung on):
    /// failures the policies spared it and the callers.
    pub failures_spared: u64,
    /// Refused attempts that the dependency would have answered: the cost.
    pub successes_lost: u64,
    /// Half-open probes admitted.
    pub probes: u64,
    /// Breaker state transitions.
    pub transitions: u64,
    /// Retries per call: the load the retries added (0.25 is 25 % more).
    pub extra_load: f64,
    /// What callers waited, from the call to its end, in milliseconds.
    pub latency_ms: Percentiles,
    /// The same, for the calls that succeeded alone (a refusal ends at once,
    /// so under load shedding the calls that got through say more).
    pub succeeded_latency_ms: Percentiles,
}

/// Percentiles of a latency, in milliseconds (to the microsecond).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// The longest.
    pub max: f64,
}

/// Milliseconds, rounded to the microsecond, from nanoseconds.
pub(crate) fn ms(nanos: u64) -> f64 {
    (nanos / 1_000) as f64 / 1_000.0
}

impl Percentiles {
    pub(crate) fn of(histogram: &Histogram) -> Self {
        Self {
            p50: ms(histogram.quantile(0.5)),
            p90: ms(histogram.quantile(0.9)),
            p99: ms(histogram.quantile(0.99)),
            p999: ms(histogram.quantile(0.999)),
            max: ms(histogram.max()),
        }
    }
}

impl Summary {
    /// Attempts refused by any policy.
    pub fn refused(&self) -> u64 {
        self.refused_by_breaker
            + self.refused_by_rate_limiter
            + self.refused_by_bulkhead
            + self.refused_by_limiter
    }

    pub(crate) fn finish(&mut self, latencies: &Histogram, succeeded: &Histogram) {
        self.extra_load = if self.calls == 0 {
            0.0
        } else {
            // Rounded to 0.01 %, so reports do not depend on the last bits.
            (self.retries as f64 * 10_000.0 / self.calls as f64).round() / 10_000.0
        };
        self.latency_ms = Percentiles::of(latencies);
        self.succeeded_latency_ms = Percentiles::of(succeeded);
    }
}
