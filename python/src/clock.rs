//! Clocks: the process's monotonic clock by default, and `seawall.testing.ManualClock`.

use std::sync::OnceLock;
use std::time::Duration;

use pyo3::prelude::*;
use seawall_core::time::{Clock, Instant};

use crate::errors::{seconds, secs, secs_from_nanos, wrong_type};

/// A clock that moves only when told to, for tests without sleeps.
///
/// Pass it as ``clock=`` to any policy. Time is in seconds (a float, rounded to
/// the nanosecond). Policies that wait (retry, rate limiter) advance this clock
/// by the time they would have slept instead of sleeping.
///
/// >>> clock = ManualClock()
/// >>> clock.advance(1.5)
/// >>> clock.now()
/// 1.5
#[pyclass(module = "seawall.testing", frozen)]
pub(crate) struct ManualClock {
    pub(crate) inner: seawall_core::ManualClock,
}

#[pymethods]
impl ManualClock {
    #[new]
    #[pyo3(signature = (start = None))]
    fn new(start: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let start = match start {
            Some(start) => seconds(start, "start")?,
            None => Duration::ZERO,
        };
        Ok(Self {
            inner: seawall_core::ManualClock::starting_at(Instant::ZERO + start),
        })
    }

    /// The current time, in seconds since the clock's origin.
    fn now(&self) -> f64 {
        secs_from_nanos(self.inner.now().as_nanos())
    }

    /// Moves the clock forward by ``seconds`` (not negative).
    fn advance(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner
            .advance(crate::errors::seconds(seconds, "seconds")?);
        Ok(())
    }

    /// Sets the clock to ``seconds`` since its origin, forwards or backwards.
    fn set(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let at = crate::errors::seconds(seconds, "seconds")?;
        self.inner.set(Instant::ZERO + at);
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!("ManualClock(now={})", self.now())
    }
}

/// Where a policy reads the time.
pub(crate) enum ClockSource {
    /// The process's monotonic clock (`std::time::Instant`, origin at first use).
    Monotonic,
    /// A test clock.
    Manual(Py<ManualClock>),
}

fn monotonic_now() -> Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(std::time::Instant::now);
    let elapsed = origin.elapsed().as_nanos();
    Instant::from_nanos(u64::try_from(elapsed).unwrap_or(u64::MAX))
}

impl Clock for ClockSource {
    #[inline]
    fn now(&self) -> Instant {
        match self {
            ClockSource::Monotonic => monotonic_now(),
            ClockSource::Manual(clock) => clock.get().inner.now(),
        }
    }
}

impl ClockSource {
    /// The `clock=` argument of every policy: `None` or a `ManualClock`.
    pub(crate) fn from_arg(clock: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        match clock {
            None => Ok(ClockSource::Monotonic),
            Some(clock) if clock.is_none() => Ok(ClockSource::Monotonic),
            Some(clock) => match clock.cast::<ManualClock>() {
                Ok(manual) => Ok(ClockSource::Manual(manual.clone().unbind())),
                Err(_) => Err(wrong_type(
                    "clock",
                    "a seawall.testing.ManualClock or None",
                    clock,
                )),
            },
        }
    }

    /// The clock as given to the policy (`None` for the monotonic clock).
    pub(crate) fn to_object(&self, py: Python<'_>) -> Option<Py<ManualClock>> {
        match self {
            ClockSource::Monotonic => None,
            ClockSource::Manual(clock) => Some(clock.clone_ref(py)),
        }
    }

    /// Waits `delay`: `time.sleep` on the monotonic clock (interruptible, and
    /// the GIL is released), advances a manual clock instead.
    pub(crate) fn sleep(&self, py: Python<'_>, delay: Duration) -> PyResult<()> {
        match self {
            ClockSource::Manual(clock) => {
                clock.get().inner.advance(delay);
                Ok(())
            }
            ClockSource::Monotonic => {
                // Looked up at each wait (waits are rare), so that a patched
                // `time.sleep` is honoured.
                py.import("time")?.call_method1("sleep", (secs(delay),))?;
                Ok(())
            }
        }
    }
}
