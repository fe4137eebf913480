//! `seawall.Hedge`: the core's hedging decision; the `async def` loop that
//! sends the attempts is Python's (`seawall/_hedge.py`).

use pyo3::prelude::*;
use seawall_core::hedge::{
    Failed, Hedge as Core, HedgeCall as CoreCall, HedgeConfig, HedgeDelay, Next,
};
use seawall_core::retry::{Allowance, Failure};

use crate::classify::{Classifier, Matcher};
use crate::clock::{ClockSource, ManualClock};
use crate::errors::{config_error, count, given, invalid, number, seconds, secs};
use crate::retry::{RetryBudget, RetryQuota, SharedAllowance, failure_of};

/// Hedged calls for ``async def`` functions: while a call has no answer,
/// another attempt is started after a delay, the first answer is returned and
/// the other attempts are cancelled.
///
/// The delay is fixed (``delay=`` seconds), or the ``percentile`` of the
/// latencies of recent calls (the default: the 95th), between ``min_delay`` and
/// ``max_delay``, once ``min_samples`` are known within ``window`` seconds
/// (``max_delay`` until then). An attempt raising an error that ``retry_on``
/// matches is replaced at once by the next one; any other error is the answer.
/// A ``budget`` or ``quota`` shared with :class:`Retry` policies bounds the
/// hedges: one sent by time takes a budget token, and only while more than
/// half remain.
///
/// Hedge only what is safe to run twice: reads, idempotent writes. With a
/// :class:`seawall.testing.ManualClock`, run the calls on a
/// :class:`seawall.testing.VirtualTimeLoop` of that clock.
///
/// Args:
///     max_attempts: Attempts in all, the first included (at least 2; default 2).
///     at_once: Hedges started together each time the delay passes (default 1).
///     delay: A fixed delay in seconds between attempts.
///     percentile: The percentile of recent latencies, in (0, 1] (default 0.95).
///     min_delay, max_delay: Bounds of a percentile delay in seconds (default
///         0.001 and 2).
///     min_samples: Latencies needed before the percentile is used (default 100).
///     window: Seconds of latencies kept (default 60).
///     budget: A :class:`RetryBudget` shared with retries.
///     quota: A :class:`RetryQuota` shared with retries (not with a budget).
///     retry_on: Errors that start the next attempt at once (types or a
///         predicate; default every ``Exception``).
///     throttle_on: Errors that mean the dependency is throttling (types or a
///         predicate): a quota charges their own cost, as for :class:`Retry`.
///     clock: A :class:`seawall.testing.ManualClock`.
#[pyclass(module = "seawall", frozen, subclass)]
pub(crate) struct Hedge {
    core: Core,
    shared: SharedAllowance,
    classifier: Classifier,
    throttle: Option<Matcher>,
    clock: ClockSource,
}

/// Where one hedged call stands (the `async def` loop keeps it).
#[pyclass(module = "seawall")]
pub(crate) struct HedgeCall {
    state: CoreCall,
}

/// What a :class:`Hedge` has done: ``calls``, ``hedges`` (attempts beyond the
/// first), ``won`` (calls a later attempt answered), ``refused`` (hedges the
/// budget or quota refused) and ``cancelled`` (attempts cancelled in flight).
#[pyclass(module = "seawall", frozen)]
pub(crate) struct HedgeStats {
    calls: u64,
    hedges: u64,
    won: u64,
    refused: u64,
    cancelled: u64,
}

#[pymethods]
impl HedgeStats {
    /// Calls started.
    #[getter]
    fn calls(&self) -> u64 {
        self.calls
    }

    /// Attempts sent beyond each call's first.
    #[getter]
    fn hedges(&self) -> u64 {
        self.hedges
    }

    /// Calls answered by an attempt other than their first.
    #[getter]
    fn won(&self) -> u64 {
        self.won
    }

    /// Hedges due that the budget or quota refused.
    #[getter]
    fn refused(&self) -> u64 {
        self.refused
    }

    /// Attempts cancelled in flight.
    #[getter]
    fn cancelled(&self) -> u64 {
        self.cancelled
    }

    fn __repr__(&self) -> String {
        format!(
            "HedgeStats(calls={}, hedges={}, won={}, refused={}, cancelled={})",
            self.calls, self.hedges, self.won, self.refused, self.cancelled
        )
    }
}

#[pymethods]
impl Hedge {
    #[new]
    #[pyo3(signature = (
        *, max_attempts = None, at_once = None, delay = None, percentile = None, min_delay = None,
        max_delay = None, min_samples = None, window = None, budget = None, quota = None,
        retry_on = None, throttle_on = None, clock = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        max_attempts: Option<&Bound<'_, PyAny>>,
        at_once: Option<&Bound<'_, PyAny>>,
        delay: Option<&Bound<'_, PyAny>>,
        percentile: Option<&Bound<'_, PyAny>>,
        min_delay: Option<&Bound<'_, PyAny>>,
        max_delay: Option<&Bound<'_, PyAny>>,
        min_samples: Option<&Bound<'_, PyAny>>,
        window: Option<&Bound<'_, PyAny>>,
        budget: Option<&Bound<'_, PyAny>>,
        quota: Option<&Bound<'_, PyAny>>,
        retry_on: Option<&Bound<'_, PyAny>>,
        throttle_on: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let percentile_options = [percentile, min_delay, max_delay, min_samples, window];
        let delay = match given(delay) {
            Some(_) if percentile_options.iter().any(|v| given(*v).is_some()) => {
                return Err(invalid(
                    "delay",
                    "a fixed delay takes none of percentile, min_delay, max_delay, min_samples, window",
                ));
            }
            Some(v) => HedgeDelay::fixed(seconds(v, "delay")?),
            None => {
                let HedgeDelay::Percentile {
                    percentile: p,
                    min,
                    max,
                    min_samples: n,
                    window: w,
                } = HedgeDelay::DEFAULT
                else {
                    unreachable!("the default delay is a percentile")
                };
                HedgeDelay::Percentile {
                    percentile: given(percentile).map_or(Ok(p), |v| number(v, "percentile"))?,
                    min: given(min_delay).map_or(Ok(min), |v| seconds(v, "min_delay"))?,
                    max: given(max_delay).map_or(Ok(max), |v| seconds(v, "max_delay"))?,
                    min_samples: given(min_samples).map_or(Ok(n), |v| count(v, "min_samples"))?,
                    window: given(window).map_or(Ok(w), |v| seconds(v, "window"))?,
                }
            }
        };
        let config = HedgeConfig {
            max_attempts: given(max_attempts)
                .map_or(Ok(HedgeConfig::DEFAULT.max_attempts), |v| {
                    count(v, "max_attempts")
                })?,
            delay,
            at_once: given(at_once)
                .map_or(Ok(HedgeConfig::DEFAULT.at_once), |v| count(v, "at_once"))?,
        };
        let core = Core::new(config).map_err(|error| match error.field() {
            "min" => invalid("min_delay", error.reason()),
            "max" => invalid("max_delay", error.reason()),
            _ => config_error(error),
        })?;
        let shared = SharedAllowance::from_args(budget, quota, "hedges")?;
        Ok(Self {
            core,
            shared,
            classifier: Classifier::from_args(py, retry_on, "retry_on", None, "")?,
            throttle: match given(throttle_on) {
                Some(v) => Some(Matcher::from_arg(v, "throttle_on")?),
                None => None,
            },
            clock: ClockSource::from_arg(clock)?,
        })
    }

    /// Attempts in all, the first included.
    #[getter]
    fn max_attempts(&self) -> u32 {
        self.core.config().max_attempts
    }

    /// The delay, in seconds, between the attempts of a call starting now.
    fn delay(&self) -> f64 {
        secs(self.core.delay(&self.clock))
    }

    /// The latencies known now (always 0 with a fixed delay).
    #[getter]
    fn samples(&self) -> u64 {
        self.core.samples(&self.clock)
    }

    /// The budget shared with retries, or None.
    #[getter]
    fn budget(&self, py: Python<'_>) -> Option<Py<RetryBudget>> {
        self.shared.budget(py)
    }

    /// The quota shared with retries, or None.
    #[getter]
    fn quota(&self, py: Python<'_>) -> Option<Py<RetryQuota>> {
        self.shared.quota(py)
    }

    /// The clock given, or None.
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<ManualClock>> {
        self.clock.to_object(py)
    }

    /// The counters.
    #[getter]
    fn stats(&self) -> HedgeStats {
        let s = self.core.stats();
        HedgeStats {
            calls: s.calls,
            hedges: s.hedges,
            won: s.won,
            refused: s.refused,
            cancelled: s.cancelled,
        }
    }

    /// Begins a call: its first attempt is sent now.
    fn _start(&self) -> HedgeCall {
        HedgeCall {
            state: self.core.start(&self.clock),
        }
    }

    /// ``("send", attempt)``, ``("wait", seconds)`` or ``("idle", None)``.
    fn _poll(&self, py: Python<'_>, call: &mut HedgeCall) -> (&'static str, Py<PyAny>) {
        match self
            .core
            .poll(&mut call.state, &self.clock, self.allowance())
        {
            Next::Send { attempt } => (
                "send",
                attempt.into_pyobject(py).unwrap().into_any().unbind(),
            ),
            Next::Wait(wait) => (
                "wait",
                secs(wait).into_pyobject(py).unwrap().into_any().unbind(),
            ),
            Next::Idle => ("idle", py.None()),
        }
    }

    /// After an attempt raised ``error``: ``("send", attempt)``,
    /// ``("continue", None)`` or ``("give_up", reason)``.
    fn _failed(
        &self,
        py: Python<'_>,
        call: &mut HedgeCall,
        error: &Bound<'_, PyAny>,
    ) -> PyResult<(&'static str, Py<PyAny>)> {
        let error = PyErr::from_value(error.clone());
        let failure = self.failure(py, &error)?;
        Ok(
            match self
                .core
                .on_failure(&mut call.state, failure, &self.clock, self.allowance())
            {
                Failed::Send { attempt } => {
                    ("send", attempt.into_pyobject(py)?.into_any().unbind())
                }
                Failed::Continue => ("continue", py.None()),
                Failed::GiveUp(reason) => (
                    "give_up",
                    reason.as_str().into_pyobject(py)?.into_any().unbind(),
                ),
            },
        )
    }

    /// Attempt ``attempt`` answered: ``(hedged, cancelled)``.
    fn _succeeded(&self, call: &mut HedgeCall, attempt: u32) -> (bool, u32) {
        let answer = self
            .core
            .on_success(&mut call.state, attempt, &self.clock, self.allowance());
        (answer.hedged, answer.cancelled)
    }

    /// The caller abandoned the call: the attempts cancelled.
    fn _cancelled(&self, call: &mut HedgeCall) -> u32 {
        self.core.on_cancel(&mut call.state)
    }

    /// Forgets every latency (the counters stay).
    fn reset(&self) {
        self.core.reset();
    }

    fn __repr__(&self) -> String {
        format!("Hedge(max_attempts={})", self.max_attempts())
    }
}

impl Hedge {
    /// What the core knows of an attempt that raised `error`, as a retry
    /// would ([`failure_of`]); a hedge sends its next attempt at once, so a
    /// `retry_after` hint has no use here.
    fn failure(&self, py: Python<'_>, error: &PyErr) -> PyResult<Failure> {
        let failure = failure_of(py, error, &self.classifier, self.throttle.as_ref())?;
        Ok(Failure {
            retry_after: None,
            ..failure
        })
    }

    fn allowance(&self) -> Allowance<'_> {
        self.shared.allowance()
    }
}

#[pymethods]
impl HedgeCall {
    /// Attempts sent so far, the first included.
    #[getter]
    fn sent(&self) -> u32 {
        self.state.sent()
    }

    /// Attempts in flight.
    #[getter]
    fn in_flight(&self) -> u32 {
        self.state.in_flight()
    }
}
