//! `seawall.RateLimiter`: the core's GCRA limiter on one atomic word.

use pyo3::prelude::*;
use pyo3::types::PyString;
use std::time::Duration;

use seawall_core::rate_limit::{InsufficientCapacity, NotUntil, Quota};

use crate::clock::{ClockSource, ManualClock};
use seawall_core::wait::{Turn, Wait};

use crate::errors::{
    Exception, config_error, count, duration_from_secs, given, int_in, invalid, seconds, secs,
};

/// A rate limiter: at most ``rate`` calls per ``period`` seconds, in bursts of
/// up to ``burst`` (GCRA on one atomic word, lock-free).
///
/// ``try_acquire()`` answers at once; ``acquire()`` waits (``time.sleep``)
/// and ``await wait()`` waits (``asyncio.sleep``) until the call is allowed, or
/// raise :class:`RateLimitedError` if that would take longer than ``max_wait``.
/// As a decorator or a ``with`` / ``async with`` block it acquires before each call.
///
/// Args:
///     rate: Calls allowed per period (at least 1).
///     period: The period in seconds (default 1.0).
///     burst: Calls allowed at once (default ``rate``).
///     max_wait: The longest the decorator and the blocks wait, in seconds
///         (default None: as long as it takes).
///     name: The limiter's name, in errors.
///     clock: A :class:`seawall.testing.ManualClock`: waits advance it.
///     shadow: Shadow mode: decide but do not enforce. ``acquire()``, ``wait()``,
///         the decorator and the blocks never wait nor raise; a call the limiter
///         would have refused (or, without ``max_wait``, made wait) goes on at
///         once, takes no cell, and counts in
///         ``shadow_refusals`` (and the registry's
///         ``seawall_ratelimiter_shadow_refusals_total``).
#[pyclass(module = "seawall._seawall", name = "RateLimiter", subclass, frozen)]
pub(crate) struct RateLimiter {
    core: seawall_core::RateLimiter,
    clock: ClockSource,
    name: Py<PyString>,
    max_wait: Option<f64>,
    shadow: bool,
    shadow_refusals: std::sync::atomic::AtomicU64,
}

/// The quota arguments both limiters take: `rate`, `period` (default one
/// second) and `burst` (default `rate`), validated further by the core.
pub(crate) fn quota_args(
    rate: &Bound<'_, PyAny>,
    period: Option<&Bound<'_, PyAny>>,
    burst: Option<&Bound<'_, PyAny>>,
) -> PyResult<(u64, Duration, u32)> {
    let rate = int_in(rate, "rate", 0, u64::MAX)?;
    let period = match given(period) {
        Some(v) => seconds(v, "period")?,
        None => Duration::from_secs(1),
    };
    let burst = match given(burst) {
        Some(v) => count(v, "burst")?,
        None => u32::try_from(rate).unwrap_or(u32::MAX),
    };
    Ok((rate, period, burst))
}

/// The `n=` argument: cells to take (default 1).
pub(crate) fn cells(n: Option<&Bound<'_, PyAny>>) -> PyResult<u32> {
    match given(n) {
        Some(n) => count(n, "n"),
        None => Ok(1),
    }
}

/// The `max_wait=` argument, in seconds (None: no limit).
pub(crate) fn max_wait_arg(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f64>> {
    match given(value) {
        Some(v) => Ok(Some(secs(seconds(v, "max_wait")?))),
        None => Ok(None),
    }
}

/// `n` is more than the burst: it could never be admitted.
pub(crate) fn too_many(error: InsufficientCapacity) -> PyErr {
    invalid("n", error)
}

/// The answer of `check`: `0.0` when admitted, else the seconds until it
/// would be (never 0.0).
pub(crate) fn delay(admitted: Result<(), NotUntil>) -> f64 {
    match admitted {
        Ok(()) => 0.0,
        Err(not_until) => secs(not_until.retry_after()).max(1e-9),
    }
}

/// `RateLimitedError(name, retry_after)`.
pub(crate) fn limited(py: Python<'_>, name: &Py<PyString>, retry_after: f64) -> PyErr {
    Exception::RateLimited.err(py, (name.clone_ref(py), retry_after))
}

#[pymethods]
impl RateLimiter {
    #[new]
    #[pyo3(signature = (rate, period = None, *, burst = None, max_wait = None, name = None, clock = None, shadow = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        rate: &Bound<'_, PyAny>,
        period: Option<&Bound<'_, PyAny>>,
        burst: Option<&Bound<'_, PyAny>>,
        max_wait: Option<&Bound<'_, PyAny>>,
        name: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
        shadow: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let shadow = crate::breaker::shadow_arg(shadow)?;
        let (rate, period, burst) = quota_args(rate, period, burst)?;
        let quota = Quota::new(rate, period, burst).map_err(config_error)?;
        Ok(Self {
            core: seawall_core::RateLimiter::new(quota),
            clock: ClockSource::from_arg(clock)?,
            name: crate::errors::name_arg(py, name, "rate_limiter")?,
            max_wait: max_wait_arg(max_wait)?,
            shadow,
            shadow_refusals: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Whether the limiter is in shadow mode (decides, counts, never refuses).
    #[getter]
    fn shadow(&self) -> bool {
        self.shadow
    }

    /// The calls a limiter in shadow mode would have refused (and let through).
    #[getter]
    fn shadow_refusals(&self) -> u64 {
        self.shadow_refusals
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Takes ``n`` cells (default 1) if they are available now; never waits.
    #[pyo3(signature = (n = None))]
    fn try_acquire(&self, n: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        if n.is_none() {
            return Ok(self.core.check(&self.clock).is_ok());
        }
        let admitted = self
            .core
            .check_n(cells(n)?, &self.clock)
            .map_err(too_many)?;
        Ok(admitted.is_ok())
    }

    /// Takes ``n`` cells now if it can and answers 0.0; otherwise takes nothing
    /// and answers the seconds until they would be available.
    #[pyo3(signature = (n = None))]
    fn check(&self, n: Option<&Bound<'_, PyAny>>) -> PyResult<f64> {
        let admitted = self
            .core
            .check_n(cells(n)?, &self.clock)
            .map_err(too_many)?;
        Ok(delay(admitted))
    }

    /// Takes ``n`` cells, waiting (``time.sleep``, or advancing a manual clock)
    /// until they are available. Raises :class:`RateLimitedError` instead when
    /// they would come later than ``max_wait`` seconds (default: the
    /// limiter's) after the start of the wait, measured on the limiter's clock.
    #[pyo3(signature = (n = None, max_wait = None))]
    fn acquire(
        slf: &Bound<'_, Self>,
        n: Option<&Bound<'_, PyAny>>,
        max_wait: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let limiter = slf.get();
        if limiter.shadow {
            let n = cells(n)?;
            let max_wait = match max_wait_arg(max_wait)? {
                Some(limit) => Some(limit),
                None => limiter.max_wait,
            };
            // One decision, counted as the core says, never enforced.
            if let Err(not_until) = limiter.core.check_n(n, &limiter.clock).map_err(too_many)?
                && not_until.counts_in_shadow(max_wait.map(crate::errors::duration_from_secs))
            {
                limiter
                    .shadow_refusals
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            return Ok(());
        }
        let mut waiting = Self::_waiting(slf, n, max_wait)?;
        while let Some(delay) = waiting.turn(py)? {
            slf.get().clock.sleep(py, delay)?;
        }
        Ok(())
    }

    /// One wait of ``n`` cells (for the asyncio wait): ``next()`` answers the
    /// seconds to sleep, or None once the cells are taken.
    #[pyo3(signature = (n = None, max_wait = None))]
    fn _waiting(
        slf: &Bound<'_, Self>,
        n: Option<&Bound<'_, PyAny>>,
        max_wait: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Waiting> {
        let limiter = slf.get();
        let n = cells(n)?;
        if n > limiter.core.quota().burst() {
            return Err(too_many(InsufficientCapacity {
                requested: n,
                burst: limiter.core.quota().burst(),
            }));
        }
        let max_wait = match max_wait_arg(max_wait)? {
            Some(limit) => Some(limit),
            None => limiter.max_wait,
        };
        let max_wait = max_wait.map_or(Duration::MAX, duration_from_secs);
        Ok(Waiting {
            limiter: slf.clone().unbind(),
            n,
            wait: Wait::start(max_wait, &limiter.clock),
        })
    }

    /// Makes the whole burst available again.
    fn reset(&self) {
        self.core.reset();
    }

    /// The cells a request could take now without waiting (a reading; it
    /// reserves nothing).
    #[getter]
    fn available(&self) -> u32 {
        self.core.available(&self.clock)
    }

    /// The limiter's name.
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// Calls allowed per period.
    #[getter]
    fn rate(&self) -> u64 {
        self.core.quota().rate()
    }

    /// The period, in seconds.
    #[getter]
    fn period(&self) -> f64 {
        secs(self.core.quota().period())
    }

    /// Calls allowed at once.
    #[getter]
    fn burst(&self) -> u32 {
        self.core.quota().burst()
    }

    /// The longest the decorator and the blocks wait, in seconds (None: no limit).
    #[getter]
    fn max_wait(&self) -> Option<f64> {
        self.max_wait
    }

    /// The clock given to the limiter (None: the monotonic clock).
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<ManualClock>> {
        self.clock.to_object(py)
    }

    /// ``RateLimitedError(name, retry_after)``, for the asyncio wait.
    fn _limited<'py>(&self, py: Python<'py>, retry_after: f64) -> Bound<'py, PyAny> {
        self.limited(py, retry_after)
            .into_value(py)
            .into_bound(py)
            .into_any()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "RateLimiter({:?}, rate={}, period={}, burst={})",
            self.name.bind(py).to_string(),
            self.rate(),
            self.period(),
            self.burst()
        )
    }
}

impl RateLimiter {
    fn limited(&self, py: Python<'_>, retry_after: f64) -> PyErr {
        limited(py, &self.name, retry_after)
    }
}

/// One caller's wait for cells of a :class:`RateLimiter`, within its
/// ``max_wait``: the core's ``Wait`` decides, the caller only sleeps.
#[pyclass(module = "seawall")]
pub(crate) struct Waiting {
    limiter: Py<RateLimiter>,
    n: u32,
    wait: Wait,
}

impl Waiting {
    /// Takes the cells if it can (`None`), else how long to sleep before
    /// asking again, or `RateLimitedError` when the turn would come too late.
    fn turn(&mut self, py: Python<'_>) -> PyResult<Option<Duration>> {
        let limiter = self.limiter.get();
        let not_until = match limiter.core.check_n(self.n, &limiter.clock) {
            Ok(Ok(())) => return Ok(None),
            Ok(Err(not_until)) => not_until,
            Err(too_big) => return Err(too_many(too_big)),
        };
        match self
            .wait
            .next(Some(not_until.retry_after()), &limiter.clock)
        {
            Turn::Sleep(delay) => Ok(Some(delay)),
            Turn::GiveUp => Err(limiter.limited(py, secs(not_until.retry_after()))),
        }
    }
}

#[pymethods]
impl Waiting {
    /// Takes the cells and answers None, or answers the seconds to sleep
    /// before asking again; raises :class:`RateLimitedError` when the cells
    /// would come after the wait's ``max_wait``.
    fn next(&mut self, py: Python<'_>) -> PyResult<Option<f64>> {
        Ok(self.turn(py)?.map(secs))
    }
}
