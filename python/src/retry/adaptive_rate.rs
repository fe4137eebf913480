//! `seawall.AdaptiveRate`: the core's client-side rate, paced by CUBIC on
//! throttling errors (the AWS SDKs' adaptive retry mode).

use pyo3::prelude::*;

use seawall_core::time::Clock;

use crate::clock::{ClockSource, ManualClock};
use crate::errors::{config_error, given, number, secs};

/// A client-side rate that slows down when the dependency throttles: off until
/// the first throttling error, then a token bucket whose rate is cut to
/// ``beta`` times the sending rate at each throttle and grows back along CUBIC's
/// curve (scale ``scale``). Pass it as ``adaptive_rate=`` to one or more
/// :class:`Retry` policies: every attempt then waits for its turn, and errors
/// matching the policy's ``throttle_on`` slow it down. Its time is read on its
/// own ``clock`` (give it the policy's ``ManualClock`` in tests) and starts
/// when it is created. The constants are the
/// AWS SDKs' (0.7, 0.4, smoothing 0.8, at least 0.5 attempts a second).
#[pyclass(module = "seawall", frozen)]
pub(crate) struct AdaptiveRate {
    pub(crate) inner: seawall_core::retry::AdaptiveRate,
    clock: ClockSource,
}

impl AdaptiveRate {
    /// Asks to send one attempt now, on the rate's own clock.
    pub(crate) fn try_acquire(&self) -> Result<(), std::time::Duration> {
        self.inner.try_acquire(&self.clock)
    }

    /// Learns from a response now, on the rate's own clock.
    pub(crate) fn observe(&self, throttled: bool) {
        self.inner.on_response(&self.clock, throttled);
    }
}

#[pymethods]
impl AdaptiveRate {
    #[new]
    #[pyo3(signature = (*, beta = None, scale = None, smoothing = None, min_rate = None, clock = None))]
    fn new(
        beta: Option<&Bound<'_, PyAny>>,
        scale: Option<&Bound<'_, PyAny>>,
        smoothing: Option<&Bound<'_, PyAny>>,
        min_rate: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let d = seawall_core::retry::AdaptiveRateConfig::DEFAULT;
        let or = |value: Option<&Bound<'_, PyAny>>, name: &str, default: f64| match given(value) {
            Some(v) => number(v, name),
            None => Ok(default),
        };
        let config = seawall_core::retry::AdaptiveRateConfig {
            beta: or(beta, "beta", d.beta)?,
            scale: or(scale, "scale", d.scale)?,
            smoothing: or(smoothing, "smoothing", d.smoothing)?,
            min_rate: or(min_rate, "min_rate", d.min_rate)?,
        };
        let clock = ClockSource::from_arg(clock)?;
        // Created now, as the SDKs' rate is: its time scale starts here.
        let inner = seawall_core::retry::AdaptiveRate::starting_at(config, clock.now())
            .map_err(config_error)?;
        Ok(Self { inner, clock })
    }

    /// Asks to send one attempt now: None if it may go, else the seconds to
    /// wait before asking again.
    fn acquire(&self) -> Option<f64> {
        self.inner.try_acquire(&self.clock).err().map(secs)
    }

    /// Learns from a response: ``throttled`` when the dependency asked to slow down.
    #[pyo3(signature = (throttled = false))]
    fn on_response(&self, throttled: bool) {
        self.inner.on_response(&self.clock, throttled);
    }

    /// Whether attempts are paced (since the first throttling error).
    #[getter]
    fn enabled(&self) -> bool {
        self.inner.is_enabled()
    }

    /// The rate attempts are paced at, per second.
    #[getter]
    fn fill_rate(&self) -> f64 {
        self.inner.fill_rate()
    }

    /// The measured sending rate, per second.
    #[getter]
    fn measured_rate(&self) -> f64 {
        self.inner.measured_rate()
    }

    /// Throttling responses seen.
    #[getter]
    fn throttled(&self) -> u64 {
        self.inner.throttled()
    }

    /// The clock given to the rate (None: the monotonic clock).
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<ManualClock>> {
        self.clock.to_object(py)
    }

    /// Back to the initial state: off until the next throttling error.
    fn reset(&self) {
        self.inner.reset();
    }

    fn __repr__(&self) -> String {
        format!(
            "AdaptiveRate(enabled={}, fill_rate={}, measured_rate={})",
            if self.enabled() { "True" } else { "False" },
            self.fill_rate(),
            self.measured_rate()
        )
    }
}
