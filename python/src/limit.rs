//! `seawall.AdaptiveLimiter`: the core's adaptive concurrency limit, and the
//! permits that record how each call ended.

use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use seawall_core::limit::{
    AdaptiveLimiter as CoreLimiter, Aimd, Algorithm, Gradient, LimitConfig, LimitTicket, Outcome,
    Vegas,
};

use crate::classify::Classifier;
use crate::clock::{ClockSource, ManualClock};
use crate::errors::{
    Exception, config_error, count, given, invalid, number, seconds, secs, string,
};

/// A concurrency limit that adapts to the dependency behind it: a bulkhead
/// whose size follows the latency and the overloads of the calls it lets through.
///
/// ``algorithm`` is ``"gradient"`` (default: the limit follows
/// ``tolerance * baseline / latency``), ``"vegas"`` (keeps a small queue) or
/// ``"aimd"`` (grows by one, shrinks by ``backoff_ratio`` on overload). Gradient
/// and Vegas measure their baseline latency with a probe: at the start and every
/// ``probe_interval`` seconds, at most ``probe_limit`` calls run at once until
/// ``probe_samples`` have finished.
///
/// A call that finds the limit reached raises :class:`BulkheadFullError` at
/// once. Use it as a decorator (``def`` and ``async def``), as ``with`` /
/// ``async with``, or take a :class:`LimiterPermit` with ``try_acquire()`` /
/// ``acquire()``. A call that raises an exception matching ``overload_on``
/// (default: every ``Exception``) is an overload; a cancelled call teaches nothing.
///
/// Args:
///     algorithm: ``"gradient"``, ``"vegas"`` or ``"aimd"``.
///     initial_limit, min_limit, max_limit: The limit's start and bounds
///         (default 20, 1, 1000).
///     window: Seconds of calls each decision is made on (default 0.1).
///     min_samples: Calls a window needs for a decision (default 10).
///     probe_interval, probe_limit, probe_samples: The baseline probe (default
///         60 s, 2 calls at once, 40 calls).
///     backoff_ratio, increase, timeout: AIMD's options (default 0.9, 1, 5 s;
///         ``timeout=None``: slow calls are not overloads).
///     tolerance, queue_size: Gradient's options (default 1.5, 4).
///     alpha, beta: Vegas's options (default 3, 6).
///     smoothing: Gradient's (default 0.2) or Vegas's (default 1.0).
///     overload_on: Exceptions that are overloads: types or a predicate.
///     name: The limiter's name, in errors.
///     clock: A :class:`seawall.testing.ManualClock`.
#[pyclass(
    module = "seawall._seawall",
    name = "AdaptiveLimiter",
    subclass,
    frozen
)]
pub(crate) struct AdaptiveLimiter {
    core: CoreLimiter,
    classifier: Classifier,
    name: Py<PyString>,
    clock: ClockSource,
}

#[pymethods]
impl AdaptiveLimiter {
    #[new]
    #[pyo3(signature = (algorithm = None, **options))]
    fn new(
        py: Python<'_>,
        algorithm: Option<&Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let options = Options(options);
        let kind = match given(algorithm) {
            Some(v) => string(v, "algorithm")?.to_string(),
            None => "gradient".to_owned(),
        };
        let algorithm = match kind.as_str() {
            "aimd" => {
                options.only_for(
                    &["tolerance", "queue_size", "alpha", "beta", "smoothing"],
                    "aimd",
                )?;
                let d = Aimd::DEFAULT;
                let timeout = match options.take("timeout") {
                    None => d.timeout,
                    Some(v) if v.is_none() => None,
                    Some(v) => Some(seconds(&v, "timeout")?),
                };
                Algorithm::Aimd(Aimd {
                    backoff_ratio: options.number("backoff_ratio")?.unwrap_or(d.backoff_ratio),
                    increase: options.count("increase")?.unwrap_or(d.increase),
                    timeout,
                })
            }
            "gradient" => {
                options.only_for(
                    &["backoff_ratio", "increase", "timeout", "alpha", "beta"],
                    "gradient",
                )?;
                let d = Gradient::DEFAULT;
                Algorithm::Gradient(Gradient {
                    tolerance: options.number("tolerance")?.unwrap_or(d.tolerance),
                    smoothing: options.number("smoothing")?.unwrap_or(d.smoothing),
                    queue_size: options.count("queue_size")?.unwrap_or(d.queue_size),
                })
            }
            "vegas" => {
                options.only_for(
                    &[
                        "backoff_ratio",
                        "increase",
                        "timeout",
                        "tolerance",
                        "queue_size",
                    ],
                    "vegas",
                )?;
                let d = Vegas::DEFAULT;
                Algorithm::Vegas(Vegas {
                    alpha: options.count("alpha")?.unwrap_or(d.alpha),
                    beta: options.count("beta")?.unwrap_or(d.beta),
                    smoothing: options.number("smoothing")?.unwrap_or(d.smoothing),
                })
            }
            other => {
                return Err(invalid(
                    "algorithm",
                    format!("must be \"gradient\", \"vegas\" or \"aimd\", not {other:?}"),
                ));
            }
        };
        let mut b = LimitConfig::builder().algorithm(algorithm);
        if let Some(v) = options.count("initial_limit")? {
            b = b.initial_limit(v);
        }
        if let Some(v) = options.count("min_limit")? {
            b = b.min_limit(v);
        }
        if let Some(v) = options.count("max_limit")? {
            b = b.max_limit(v);
        }
        if let Some(v) = options.seconds("window")? {
            b = b.window(v);
        }
        if let Some(v) = options.count("min_samples")? {
            b = b.min_samples(v);
        }
        if let Some(v) = options.seconds("probe_interval")? {
            b = b.probe_interval(v);
        }
        if let Some(v) = options.count("probe_limit")? {
            b = b.probe_limit(v);
        }
        if let Some(v) = options.count("probe_samples")? {
            b = b.probe_samples(v);
        }
        let config = b.build().map_err(config_error)?;
        let overload_on = options.get("overload_on");
        let name = options.get("name");
        let clock = options.get("clock");
        options.no_others()?;
        Ok(Self {
            core: CoreLimiter::new(config),
            classifier: Classifier::from_args(py, overload_on.as_ref(), "overload_on", None, "")?,
            name: crate::errors::name_arg(py, name.as_ref(), "adaptive_limiter")?,
            clock: ClockSource::from_arg(clock.as_ref())?,
        })
    }

    /// A place if fewer calls than the limit are in flight, else None.
    fn try_acquire(slf: &Bound<'_, Self>) -> Option<LimiterPermit> {
        let limiter = slf.get();
        let ticket = limiter.core.try_acquire_ticket(&limiter.clock).ok()?;
        Some(LimiterPermit {
            limiter: slf.clone().unbind(),
            ticket: Mutex::new(Some(ticket)),
        })
    }

    /// A place, or :class:`BulkheadFullError` at once when the limit is reached.
    fn acquire(slf: &Bound<'_, Self>) -> PyResult<LimiterPermit> {
        let py = slf.py();
        Self::try_acquire(slf).ok_or_else(|| {
            let limiter = slf.get();
            Exception::BulkheadFull.err(py, (limiter.name.clone_ref(py), limiter.core.limit()))
        })
    }

    /// The algorithm's name.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.core.config().algorithm().as_str()
    }

    /// The limit now.
    #[getter]
    fn limit(&self) -> u32 {
        self.core.limit()
    }

    /// The calls in flight now.
    #[getter]
    fn in_flight(&self) -> u32 {
        self.core.in_flight()
    }

    /// The measured baseline latency in seconds, once a probe has finished.
    #[getter]
    fn baseline(&self) -> Option<f64> {
        self.core.baseline().map(secs)
    }

    /// Whether a baseline probe is running.
    #[getter]
    fn probing(&self) -> bool {
        self.core.is_probing()
    }

    /// Counters: ``succeeded``, ``overloaded``, ``released``, ``rejected``.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.core.stats();
        let counts = PyDict::new(py);
        counts.set_item("succeeded", stats.succeeded)?;
        counts.set_item("overloaded", stats.overloaded)?;
        counts.set_item("released", stats.released)?;
        counts.set_item("rejected", stats.rejected)?;
        Ok(counts)
    }

    /// The limiter's name.
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// The clock given to the limiter (None: the monotonic clock).
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<ManualClock>> {
        self.clock.to_object(py)
    }

    /// Back to the initial limit (and a new baseline probe).
    fn reset(&self) {
        self.core.reset();
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "AdaptiveLimiter({:?}, algorithm={:?}, limit={}, in_flight={})",
            self.name.bind(py).to_string(),
            self.algorithm(),
            self.limit(),
            self.in_flight()
        )
    }
}

/// A place under an :class:`AdaptiveLimiter`: ``success()``, ``overload()``
/// or ``release()`` (no outcome) end it, once; so does the end of its ``with``
/// block (by the exception, if any) or its garbage collection (a release).
#[pyclass(module = "seawall", frozen)]
pub(crate) struct LimiterPermit {
    limiter: Py<AdaptiveLimiter>,
    ticket: Mutex<Option<LimitTicket>>,
}

#[pymethods]
impl LimiterPermit {
    /// The dependency answered: the call's latency teaches the limit.
    fn success(&self) {
        self.record(Some(Outcome::Success));
    }

    /// The call showed that the dependency is overloaded.
    fn overload(&self) {
        self.record(Some(Outcome::Overload));
    }

    /// Gives the place back without an outcome.
    fn release(&self) {
        self.record(None);
    }

    /// Ends the permit by what the call raised: nothing is a success, an
    /// exception matching ``overload_on`` an overload, anything else (a
    /// cancellation included) a release.
    fn finish(&self, py: Python<'_>, error: Option<&Bound<'_, PyAny>>) {
        let outcome = match given(error) {
            None => Some(Outcome::Success),
            Some(error) => {
                let error = PyErr::from_value(error.clone());
                let limiter = self.limiter.get();
                (error.is_instance_of::<PyException>(py) && limiter.classifier.counts(py, &error))
                    .then_some(Outcome::Overload)
            }
        };
        self.record(outcome);
    }

    /// Whether the place is still held.
    #[getter]
    fn active(&self) -> bool {
        self.ticket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Returns the permit itself, for ``with limiter.acquire():``.
    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Ends the permit by the block's exception, as ``finish`` does.
    #[pyo3(signature = (_exc_type, exc, _traceback))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> bool {
        self.finish(py, Some(exc));
        false
    }

    fn __repr__(&self) -> String {
        format!("LimiterPermit(active={})", self.active())
    }
}

impl LimiterPermit {
    fn record(&self, outcome: Option<Outcome>) {
        let ticket = self.ticket.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(ticket) = ticket {
            let limiter = self.limiter.get();
            match outcome {
                Some(outcome) => limiter.core.record(ticket, outcome, &limiter.clock),
                None => limiter.core.release(ticket),
            }
        }
    }
}

impl Drop for LimiterPermit {
    fn drop(&mut self) {
        let ticket = self
            .ticket
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(ticket) = ticket {
            self.limiter.get().core.release(ticket);
        }
    }
}

/// The keyword options of `AdaptiveLimiter(...)`, each taken at most once.
struct Options<'a, 'py>(Option<&'a Bound<'py, PyDict>>);

impl<'py> Options<'_, 'py> {
    /// The option `name`, taken (None and absent are alike).
    fn get(&self, name: &str) -> Option<Bound<'py, PyAny>> {
        self.take(name).filter(|value| !value.is_none())
    }

    /// The option `name` as given (None included), taken.
    fn take(&self, name: &str) -> Option<Bound<'py, PyAny>> {
        let dict = self.0?;
        let value = dict.get_item(name).ok().flatten()?;
        let _ = dict.del_item(name);
        Some(value)
    }

    fn number(&self, name: &str) -> PyResult<Option<f64>> {
        self.get(name).map(|v| number(&v, name)).transpose()
    }

    fn count(&self, name: &str) -> PyResult<Option<u32>> {
        self.get(name).map(|v| count(&v, name)).transpose()
    }

    fn seconds(&self, name: &str) -> PyResult<Option<Duration>> {
        self.get(name).map(|v| seconds(&v, name)).transpose()
    }

    /// Refuses the options of other algorithms.
    fn only_for(&self, others: &[&str], algorithm: &str) -> PyResult<()> {
        if let Some(dict) = self.0 {
            for name in others {
                if dict.contains(name)? {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "{name} is not an option of the {algorithm:?} algorithm"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Refuses what is left: unknown options.
    fn no_others(&self) -> PyResult<()> {
        if let Some(dict) = self.0
            && let Some((name, _)) = dict.iter().next()
        {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "AdaptiveLimiter() got an unexpected keyword argument {name}"
            )));
        }
        Ok(())
    }
}
