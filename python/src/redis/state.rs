//! `seawall.SharedState`: a shared breaker's state as Redis holds it.

use pyo3::prelude::*;

use crate::stats::WindowTotals;

/// A shared breaker's state as Redis holds it: what every process of the
/// fleet sees. From ``breaker.shared_state()`` or ``breaker.sync()``.
#[pyclass(module = "seawall", frozen, eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct SharedState {
    /// ``"closed"``, ``"open"``, ``"half_open"``, ``"forced_open"`` or ``"disabled"``.
    #[pyo3(get)]
    pub(crate) state: &'static str,
    /// The round: it moves on every transition, and outcomes of permits from
    /// an earlier round are ignored.
    #[pyo3(get)]
    pub(crate) generation: u64,
    /// Closed, without a window: the fleet's consecutive failures, as
    /// reported so far.
    #[pyo3(get)]
    pub(crate) consecutive_failures: u32,
    /// Open and half-open: consecutive trips (the growth of the open duration).
    #[pyo3(get)]
    pub(crate) trips: u32,
    /// Open: the seconds left of the open duration, on Redis's clock.
    #[pyo3(get)]
    pub(crate) open_remaining: f64,
    /// Half-open: successful probes in this round.
    #[pyo3(get)]
    pub(crate) successes: u32,
    /// Half-open: probes holding a slot (their lease has not expired).
    #[pyo3(get)]
    pub(crate) probes_in_flight: u32,
    /// With a window: the fleet's calls, failures and slow calls in it, as
    /// reported so far (after a trip, those that opened the breaker).
    #[pyo3(get)]
    pub(crate) window: WindowTotals,
}

#[pymethods]
impl SharedState {
    fn __repr__(&self) -> String {
        format!(
            "SharedState(state={:?}, generation={}, consecutive_failures={}, trips={}, \
             open_remaining={}, successes={}, probes_in_flight={}, window={})",
            self.state,
            self.generation,
            self.consecutive_failures,
            self.trips,
            self.open_remaining,
            self.successes,
            self.probes_in_flight,
            self.window.repr()
        )
    }
}
