//! What a configuration did over time: one row per step of the timeline.

use serde::Serialize;

use crate::episode::{Conditions, Health};
use crate::metrics::ms;

/// One step of the timeline (of `step_ms`), for one configuration.
///
/// Attempts are counted when they end (`succeeded`, `failed`) or are refused
/// (`refused`); calls when they arrive; the latency is that of the calls that
/// ended in the step, as their callers saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The step's start, in seconds from the start of the run.
    pub t_s: f64,
    /// Calls that arrived.
    pub calls: u64,
    /// Attempts that reached the dependency.
    pub attempts: u64,
    /// Attempts the dependency answered.
    pub succeeded: u64,
    /// Attempts that failed or timed out.
    pub failed: u64,
    /// Of which timeouts.
    pub timeouts: u64,
    /// Attempts refused by a policy (breaker, rate limiter, bulkhead).
    pub refused: u64,
    /// Retries started (reaching the dependency or not).
    pub retries: u64,
    /// Half-open probes admitted.
    pub probes: u64,
    /// `failed / (succeeded + failed)` of the attempts that ended.
    pub error_rate: f64,
    /// Median latency of the calls that ended, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile of the same.
    pub p99_ms: f64,
    /// 99th percentile of the calls that succeeded in the step.
    pub succeeded_p99_ms: f64,
    /// The breaker's state at the end of the step (the worst of a keyed
    /// breaker's), empty without a breaker.
    pub state: &'static str,
    /// How many breakers were not closed then (one per key for a keyed breaker).
    pub not_closed: u32,
    /// The dependency's health during the step (the worst of it).
    pub dependency: Health,
    /// The adaptive limit at the end of the step (0 without one).
    pub limit: u32,
}

impl Row {
    /// The names of the columns, in the order of CSV output.
    pub const COLUMNS: [&'static str; 17] = [
        "t_s",
        "calls",
        "attempts",
        "succeeded",
        "failed",
        "timeouts",
        "refused",
        "retries",
        "probes",
        "error_rate",
        "p50_ms",
        "p99_ms",
        "succeeded_p99_ms",
        "state",
        "not_closed",
        "dependency",
        "limit",
    ];

    /// The row as CSV fields, in the order of [`Row::COLUMNS`].
    pub fn csv_fields(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{:.4},{},{},{},{},{},{},{}",
            self.t_s,
            self.calls,
            self.attempts,
            self.succeeded,
            self.failed,
            self.timeouts,
            self.refused,
            self.retries,
            self.probes,
            self.error_rate,
            self.p50_ms,
            self.p99_ms,
            self.succeeded_p99_ms,
            self.state,
            self.not_closed,
            self.dependency.as_str(),
            self.limit
        )
    }
}

/// Counts of the step in progress.
#[derive(Debug, Default)]
pub(crate) struct Step {
    pub(crate) calls: u64,
    pub(crate) attempts: u64,
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    pub(crate) timeouts: u64,
    pub(crate) refused: u64,
    pub(crate) retries: u64,
    pub(crate) probes: u64,
    /// The adaptive limit when the step closes.
    pub(crate) limit: u32,
    latencies: Vec<u64>,
    succeeded_latencies: Vec<u64>,
}

impl Step {
    #[inline]
    pub(crate) fn ended(&mut self, latency: u64) {
        self.latencies.push(latency);
    }

    #[inline]
    pub(crate) fn succeeded_latency(&mut self, latency: u64) {
        self.succeeded_latencies.push(latency);
    }
}

/// Builds the rows, one step at a time, as the engine moves forward.
pub(crate) struct Timeline {
    step: u64,
    /// The end of the step in progress.
    end: u64,
    pub(crate) current: Step,
    pub(crate) rows: Vec<Row>,
}

impl Timeline {
    pub(crate) fn new(step: u64) -> Self {
        Self {
            step,
            end: step,
            current: Step::default(),
            rows: Vec::new(),
        }
    }

    /// Whether the step in progress has ended by `now`.
    #[inline]
    pub(crate) fn due(&self, now: u64) -> bool {
        now >= self.end
    }

    /// Closes the step in progress with the breaker's `state` and `not_closed`
    /// count as they are now, and opens the next.
    pub(crate) fn close(
        &mut self,
        state: &'static str,
        not_closed: u32,
        conditions: Option<&Conditions>,
    ) {
        let start = self.end - self.step;
        let step = std::mem::take(&mut self.current);
        let mut latencies = step.latencies;
        let mut succeeded_latencies = step.succeeded_latencies;
        let ended = step.succeeded + step.failed;
        let (p50, p99) = (
            quantile(&mut latencies, 0.5),
            quantile(&mut latencies, 0.99),
        );
        self.rows.push(Row {
            t_s: start as f64 / 1e9,
            calls: step.calls,
            attempts: step.attempts,
            succeeded: step.succeeded,
            failed: step.failed,
            timeouts: step.timeouts,
            refused: step.refused,
            retries: step.retries,
            probes: step.probes,
            error_rate: if ended == 0 {
                0.0
            } else {
                step.failed as f64 / ended as f64
            },
            p50_ms: ms(p50),
            p99_ms: ms(p99),
            succeeded_p99_ms: ms(quantile(&mut succeeded_latencies, 0.99)),
            state,
            not_closed,
            dependency: conditions.map_or(Health::Up, |c| c.health(start, self.end)),
            limit: step.limit,
        });
        latencies.clear();
        self.current.latencies = latencies;
        succeeded_latencies.clear();
        self.current.succeeded_latencies = succeeded_latencies;
        self.end += self.step;
    }
}

/// The `q` quantile of `values` (reordering them), 0 when there are none.
fn quantile(values: &mut [u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    *values.select_nth_unstable(rank - 1).1
}
