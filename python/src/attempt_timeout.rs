//! `seawall.AttemptTimeout`: a per-attempt time limit from the latency
//! observed, over the core's rolling histogram.

use pyo3::prelude::*;

use crate::clock::{ClockSource, ManualClock};
use crate::errors::{config_error, count, given, number, seconds, secs};

/// A time limit for each attempt that follows the latency observed: the
/// ``percentile`` of the recent latencies (the last ``window`` seconds), times
/// ``multiplier``, between ``min`` and ``max`` seconds; ``max`` until
/// ``min_samples`` latencies are known.
///
/// ``timeout()`` gives the limit for an attempt starting now; ``record(seconds)``
/// counts an attempt that finished (record a timed-out attempt with the timeout
/// it had). ``seawall.timeout(attempt_timeout)`` applies it to every call of a
/// decorated ``async def`` function and records each one.
///
/// Args:
///     percentile: In (0, 1] (default 0.99).
///     multiplier: At least 1 (default 1.5).
///     min, max: Bounds in seconds (default 0.001 and 30).
///     min_samples: Latencies needed before the percentile is used (default 100).
///     window: Seconds of latencies kept (default 60).
///     clock: A :class:`seawall.testing.ManualClock`.
#[pyclass(module = "seawall", frozen)]
pub(crate) struct AttemptTimeout {
    inner: seawall_core::retry::AttemptTimeout,
    clock: ClockSource,
}

#[pymethods]
impl AttemptTimeout {
    #[new]
    #[pyo3(signature = (*, percentile = None, multiplier = None, min = None, max = None, min_samples = None, window = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        percentile: Option<&Bound<'_, PyAny>>,
        multiplier: Option<&Bound<'_, PyAny>>,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
        min_samples: Option<&Bound<'_, PyAny>>,
        window: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let d = seawall_core::retry::AttemptTimeoutConfig::DEFAULT;
        let config = seawall_core::retry::AttemptTimeoutConfig {
            percentile: given(percentile).map_or(Ok(d.percentile), |v| number(v, "percentile"))?,
            multiplier: given(multiplier).map_or(Ok(d.multiplier), |v| number(v, "multiplier"))?,
            min: given(min).map_or(Ok(d.min), |v| seconds(v, "min"))?,
            max: given(max).map_or(Ok(d.max), |v| seconds(v, "max"))?,
            min_samples: given(min_samples)
                .map_or(Ok(d.min_samples), |v| count(v, "min_samples"))?,
            window: given(window).map_or(Ok(d.window), |v| seconds(v, "window"))?,
        };
        let inner = seawall_core::retry::AttemptTimeout::new(config).map_err(config_error)?;
        Ok(Self {
            inner,
            clock: ClockSource::from_arg(clock)?,
        })
    }

    /// The time limit, in seconds, for an attempt starting now.
    fn timeout(&self) -> f64 {
        secs(self.inner.timeout(&self.clock))
    }

    /// Counts an attempt that took ``seconds`` (or timed out after them).
    fn record(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let latency = crate::errors::seconds(seconds, "seconds")?;
        self.inner.record(&self.clock, latency);
        Ok(())
    }

    /// The latencies known now (within the window).
    #[getter]
    fn samples(&self) -> u64 {
        self.inner.samples(&self.clock)
    }

    /// The clock given to it (None: the monotonic clock).
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<ManualClock>> {
        self.clock.to_object(py)
    }

    /// Forgets every latency.
    fn reset(&self) {
        self.inner.reset();
    }

    fn __repr__(&self) -> String {
        format!(
            "AttemptTimeout(timeout={}, samples={})",
            self.timeout(),
            self.samples()
        )
    }
}
