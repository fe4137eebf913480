//! `seawall.FaultInjector`: the core's fault plan, switch and counts; the
//! decorator and the blocks that carry the faults out are Python's
//! (`seawall/_fault.py`).

use pyo3::prelude::*;
use pyo3::types::PyString;
use seawall_core::fault::{self, FaultInjector as Core, FaultKind, FaultRule};

use crate::clock::{ClockSource, ManualClock};
use crate::errors::{config_error, given, int_in, invalid, secs, string};

/// Fires a fault plan on the calls made through it, while switched on:
/// errors, delays and replaced outcomes, each on a share of the calls, in
/// time windows, by key, decided with a seeded generator so that a chaos run
/// replays exactly.
///
/// ``rules`` is a list of dicts in the file form the Rust crates and the
/// simulator read: ``{"kind": "error", "rate": 0.3}``, ``{"kind": "latency",
/// "delay_ms": 200, "rate": 1.0}``, ``{"kind": "outcome", "rate": 0.05,
/// "key": "tenant-7", "after_ms": 10000, "until_ms": 70000, "every_ms":
/// 300000}``. The injector is off when made: :meth:`enable` switches it on
/// (the windows count from then), :meth:`disable` off.
///
/// Use it as a decorator (``def`` and ``async def``), or as a block
/// (``with`` / ``async with``): an injected error raises
/// :class:`InjectedFaultError`, an injected delay sleeps (advances the
/// ``clock``, when one is given), a replaced outcome returns the decorator's
/// ``outcome()`` (a block has no outcome to return: it raises).
///
/// Args:
///     name: The injector's name, as the registry and the metrics show it.
///     rules: The plan's rules, in order (at most 64).
///     seed: Where the plan's generator starts (default 0).
///     clock: A :class:`seawall.testing.ManualClock`.
#[pyclass(module = "seawall", frozen, subclass)]
pub(crate) struct FaultInjector {
    name: Py<PyString>,
    rules: Vec<FaultRule<String>>,
    core: Core,
    clock: ClockSource,
}

/// What a :class:`FaultInjector` has injected: calls failed (``errors``),
/// delayed (``latency``) and replaced (``outcomes``).
#[pyclass(module = "seawall", frozen, eq)]
#[derive(PartialEq)]
pub(crate) struct FaultCounts {
    errors: u64,
    latency: u64,
    outcomes: u64,
}

#[pymethods]
impl FaultCounts {
    /// Calls failed with an injected error.
    #[getter]
    fn errors(&self) -> u64 {
        self.errors
    }

    /// Calls delayed.
    #[getter]
    fn latency(&self) -> u64 {
        self.latency
    }

    /// Calls answered with a replaced outcome.
    #[getter]
    fn outcomes(&self) -> u64 {
        self.outcomes
    }

    fn __repr__(&self) -> String {
        format!(
            "FaultCounts(errors={}, latency={}, outcomes={})",
            self.errors, self.latency, self.outcomes
        )
    }
}

#[pymethods]
impl FaultInjector {
    #[new]
    #[pyo3(signature = (name, rules, *, seed = None, clock = None))]
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        rules: &Bound<'_, PyAny>,
        seed: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let name = string(name, "name")?.clone().unbind();
        // The rules' one reading is the core's serde form: through JSON.
        let json = py.import("json")?.call_method1("dumps", (rules,))?;
        let text: String = json.extract()?;
        let rules: Vec<FaultRule<String>> = serde_json::from_str(&text)
            .map_err(|e| invalid("rules", format!("must be a list of fault rules: {e}")))?;
        fault::validate(&rules).map_err(config_error)?;
        let seed = match given(seed) {
            Some(v) => int_in(v, "seed", 0, u64::MAX)?,
            None => 0,
        };
        Ok(Self {
            name,
            rules,
            core: Core::new(seed),
            clock: ClockSource::from_arg(clock)?,
        })
    }

    /// The name.
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// Where the plan's generator starts.
    #[getter]
    fn seed(&self) -> u64 {
        self.core.seed()
    }

    /// The rules, as dicts in the file form.
    #[getter]
    fn rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(&self.rules).expect("rules serialize");
        py.import("json")?.call_method1("loads", (text,))
    }

    /// Switches the plan on: its windows count from now.
    fn enable(&self) {
        self.core.enable(&self.clock);
    }

    /// Switches the plan off.
    fn disable(&self) {
        self.core.disable();
    }

    /// Whether the plan is on.
    #[getter]
    fn enabled(&self) -> bool {
        self.core.is_enabled()
    }

    /// The faults injected so far.
    #[getter]
    fn counts(&self) -> FaultCounts {
        let c = self.core.counts();
        FaultCounts {
            errors: c.errors,
            latency: c.latency,
            outcomes: c.outcomes,
        }
    }

    /// Starts the generator over from its `seed`: the same calls, in the same
    /// order, get the same faults again.
    fn reseed(&self) {
        self.core.reseed();
    }

    /// What the plan does to a call with ``key`` now, counted: None, or
    /// ``(delay_seconds, replace)`` where ``replace`` is ``"error"``,
    /// ``"outcome"`` or None.
    #[pyo3(signature = (key = None))]
    fn _inject(&self, key: Option<&str>) -> Option<(f64, Option<&'static str>)> {
        let injection = self.core.inject(&self.rules, key, &self.clock)?;
        Some((
            secs(injection.delay()),
            injection.replace().map(FaultKind::as_str),
        ))
    }

    /// The clock given, or None.
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<ManualClock>> {
        self.clock.to_object(py)
    }

    /// Waits ``seconds`` in a ``def`` call: ``time.sleep``, or advances the
    /// manual clock.
    fn _sleep(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        self.clock
            .sleep(py, crate::errors::duration_from_secs(seconds))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "FaultInjector({}, rules={}, enabled={})",
            self.name.bind(py).repr()?,
            self.rules.len(),
            if self.enabled() { "True" } else { "False" }
        ))
    }
}
