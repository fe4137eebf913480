//! Snapshots: a breaker's counters and its sliding window's totals.

use pyo3::prelude::*;

/// A snapshot of a circuit breaker's counters and rates.
///
/// Counters only grow; each is exact once the calls that touch it have
/// returned. ``permitted == successful + failed + released``.
#[pyclass(module = "seawall", frozen, eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct Stats {
    /// The state at the time of the snapshot.
    #[pyo3(get)]
    state: &'static str,
    /// Calls let through whose permit has ended.
    #[pyo3(get)]
    permitted: u64,
    /// Calls recorded as successful.
    #[pyo3(get)]
    successful: u64,
    /// Calls recorded as failed.
    #[pyo3(get)]
    failed: u64,
    /// Calls slower than ``slow_call_duration`` (also successful or failed).
    #[pyo3(get)]
    slow: u64,
    /// Calls rejected (open, forced open, half-open with every probe taken).
    #[pyo3(get)]
    rejected: u64,
    /// Permits released without an outcome (cancelled calls, excluded errors).
    #[pyo3(get)]
    released: u64,
    /// State transitions since the breaker was created.
    #[pyo3(get)]
    state_transitions: u64,
    /// ``permitted + rejected``.
    #[pyo3(get)]
    total_calls: u64,
    /// ``successful / (successful + failed)``, or 0.0 before any outcome.
    #[pyo3(get)]
    success_rate: f64,
    /// ``failed / (successful + failed)``, or 0.0 before any outcome.
    #[pyo3(get)]
    failure_rate: f64,
    /// ``slow / (successful + failed)``, or 0.0 before any outcome.
    #[pyo3(get)]
    slow_call_rate: f64,
    /// ``rejected / (permitted + rejected)``, or 0.0 before any call.
    #[pyo3(get)]
    rejection_rate: f64,
}

impl From<seawall_core::Stats> for Stats {
    fn from(s: seawall_core::Stats) -> Self {
        Self {
            state: s.state.as_str(),
            permitted: s.permitted,
            successful: s.successful,
            failed: s.failed,
            slow: s.slow,
            rejected: s.rejected,
            released: s.released,
            state_transitions: s.state_transitions,
            total_calls: s.total_calls(),
            success_rate: s.success_rate(),
            failure_rate: s.failure_rate(),
            slow_call_rate: s.slow_call_rate(),
            rejection_rate: s.rejection_rate(),
        }
    }
}

#[pymethods]
impl Stats {
    fn __repr__(&self) -> String {
        format!(
            "Stats(state={:?}, permitted={}, successful={}, failed={}, slow={}, rejected={}, \
             released={}, state_transitions={}, success_rate={}, failure_rate={}, rejection_rate={})",
            self.state,
            self.permitted,
            self.successful,
            self.failed,
            self.slow,
            self.rejected,
            self.released,
            self.state_transitions,
            self.success_rate,
            self.failure_rate,
            self.rejection_rate,
        )
    }
}

/// The outcomes in a breaker's sliding window now.
#[pyclass(module = "seawall", frozen, eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct WindowTotals {
    /// Calls recorded in the window.
    #[pyo3(get)]
    calls: u32,
    /// Of those, failures.
    #[pyo3(get)]
    failed: u32,
    /// Of those, slow calls (successful or not).
    #[pyo3(get)]
    slow: u32,
    /// ``failed / calls``, or 0.0 with no calls.
    #[pyo3(get)]
    failure_rate: f64,
    /// ``slow / calls``, or 0.0 with no calls.
    #[pyo3(get)]
    slow_call_rate: f64,
}

impl From<seawall_core::breaker::WindowTotals> for WindowTotals {
    fn from(t: seawall_core::breaker::WindowTotals) -> Self {
        Self {
            calls: t.calls,
            failed: t.failed,
            slow: t.slow,
            failure_rate: t.failure_rate(),
            slow_call_rate: t.slow_call_rate(),
        }
    }
}

#[pymethods]
impl WindowTotals {
    fn __repr__(&self) -> String {
        self.repr()
    }
}

impl WindowTotals {
    pub(crate) fn repr(&self) -> String {
        format!(
            "WindowTotals(calls={}, failed={}, slow={})",
            self.calls, self.failed, self.slow
        )
    }
}
