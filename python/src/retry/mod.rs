//! `seawall.Retry`: the core's retry policy, backoff, seeded generator and retry
//! budget. A `def` function retries in Rust (a first-try success runs no Python
//! frame of ours); an `async def` one runs a thin Python loop that asks
//! `RetryCall.failed` for each decision.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use pyo3::exceptions::{PyException, PyTimeoutError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyInt, PyTuple, PyType};
use seawall_core::backoff::{BackoffState, Jitter};
use seawall_core::retry::{
    Allowance, ErrorKind, Failure, GiveUp, RetryDecision, RetryPolicy, RetryState,
};
use seawall_core::rng::SharedSplitMix64;

mod adaptive_rate;
mod budget;
mod call;
mod quota;
mod shared;
mod stats;
mod strategy;

pub(crate) use adaptive_rate::AdaptiveRate;
pub(crate) use budget::RetryBudget;
use call::run;
pub(crate) use call::{RetryCall, Retrying};
pub(crate) use quota::RetryQuota;
pub(crate) use shared::SharedAllowance;
pub(crate) use stats::RetryStats;

use crate::classify::{Classifier, Matcher, reported};
use crate::clock::{ClockSource, ManualClock};
use crate::compose::stop_of;
use crate::errors::{
    callable, config_error, count, given, int_in, invalid, seconds, secs, string, wrong_type,
};

/// A retry policy: how many attempts, how long to wait between them, and which
/// errors are worth retrying. Every decision is the Rust core's, so a ``seed``
/// gives the same delays as the Rust crates.
///
/// Use it as a decorator on ``def`` (sleeps with ``time.sleep``) and
/// ``async def`` (sleeps with ``asyncio.sleep``) functions, or through
/// ``call`` / ``call_async``. When the policy gives up, the last error is
/// re-raised unchanged; its ``retry_history`` attribute (see
/// :func:`seawall.retry_history`) holds every attempt and why it gave up.
///
/// Args:
///     max_attempts: Attempts in all, the first call included (default 3).
///     strategy: ``"exponential"`` (default), ``"fixed"``, ``"linear"`` or
///         ``"decorrelated_jitter"``. Each takes only its own arguments below.
///     delay: The delay of ``"fixed"``, in seconds (default 1.0).
///     initial_delay: The first delay of ``"exponential"`` and ``"linear"``,
///         in seconds (default 1.0).
///     base_delay: The smallest delay of ``"decorrelated_jitter"``, in
///         seconds (default 1.0).
///     max_delay: The cap of the delays in seconds (default 30.0; not for ``"fixed"``).
///     multiplier: Growth of ``"exponential"`` (default 2.0).
///     increment: Growth of ``"linear"`` per attempt (default ``initial_delay``).
///     jitter: ``"none"`` (default), ``"full"`` or ``"equal"``.
///     seed: Seeds the generator of the jitter (default: a random seed).
///     deadline: Total time budget in seconds: no retry starts after it.
///     budget: A :class:`RetryBudget` shared with other policies.
///     quota: A :class:`RetryQuota` shared with other policies (instead of a
///         budget): each retry costs by the kind of its error.
///     throttle_on: Errors that mean the dependency is throttling (types or a
///         predicate; default none): they cost a quota less and slow an
///         ``adaptive_rate`` down. A ``TimeoutError`` is a timeout; any other
///         error is transient.
///     adaptive_rate: An :class:`AdaptiveRate` that every attempt waits for.
///     retry_on: Errors worth retrying: exception types or a predicate
///         ``(exception) -> bool`` (default every ``Exception``). A
///         ``retry_after`` attribute of the error (seconds) is honoured up to
///         ``max_delay``. The exceptions of policies decorated below the retry
///         are retried as the core's composition table says, whatever
///         ``retry_on``: a :class:`CircuitOpenError` of a breaker forced open
///         is not retried; an open breaker's, or a :class:`RateLimitedError`,
///         no sooner than its ``retry_after``.
///     on_retry: ``callback(attempt)`` called with an :class:`Attempt` before
///         each wait. An ``Exception`` it raises goes to
///         ``sys.unraisablehook``; any other propagates.
///     clock: A :class:`seawall.testing.ManualClock`: waits advance it instead
///         of sleeping.
#[pyclass(module = "seawall._seawall", name = "Retry", subclass, frozen)]
pub(crate) struct Retry {
    policy: RetryPolicy,
    shared: SharedAllowance,
    rate: Option<Py<AdaptiveRate>>,
    throttle: Option<Matcher>,
    rng: SharedSplitMix64,
    seed: u64,
    classifier: Classifier,
    on_retry: Option<Py<PyAny>>,
    pub(crate) clock: ClockSource,
    counts: stats::Counts,
}

#[pymethods]
impl Retry {
    #[new]
    #[pyo3(signature = (
        *, max_attempts = None, strategy = None, delay = None, initial_delay = None,
        base_delay = None, max_delay = None, multiplier = None, increment = None, jitter = None,
        seed = None, deadline = None, budget = None, retry_on = None, on_retry = None, clock = None,
        quota = None, throttle_on = None, adaptive_rate = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        max_attempts: Option<&Bound<'_, PyAny>>,
        strategy: Option<&Bound<'_, PyAny>>,
        delay: Option<&Bound<'_, PyAny>>,
        initial_delay: Option<&Bound<'_, PyAny>>,
        base_delay: Option<&Bound<'_, PyAny>>,
        max_delay: Option<&Bound<'_, PyAny>>,
        multiplier: Option<&Bound<'_, PyAny>>,
        increment: Option<&Bound<'_, PyAny>>,
        jitter: Option<&Bound<'_, PyAny>>,
        seed: Option<&Bound<'_, PyAny>>,
        deadline: Option<&Bound<'_, PyAny>>,
        budget: Option<&Bound<'_, PyAny>>,
        retry_on: Option<&Bound<'_, PyAny>>,
        on_retry: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
        quota: Option<&Bound<'_, PyAny>>,
        throttle_on: Option<&Bound<'_, PyAny>>,
        adaptive_rate: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut b = RetryPolicy::builder();
        if let Some(v) = given(max_attempts) {
            b = b.max_attempts(count(v, "max_attempts")?);
        }
        let strategy = strategy::strategy(
            strategy,
            strategy::Shape {
                delay,
                initial_delay,
                base_delay,
                max_delay,
                multiplier,
                increment,
            },
        )?;
        b = b.strategy(strategy);
        if let Some(v) = given(jitter) {
            let text = string(v, "jitter")?.to_string();
            let mode = Jitter::from_name(&text).ok_or_else(|| {
                invalid(
                    "jitter",
                    format!("must be \"none\", \"full\" or \"equal\", not {text:?}"),
                )
            })?;
            b = b.jitter(mode);
        }
        if let Some(v) = given(deadline) {
            b = b.deadline(seconds(v, "deadline")?);
        }
        let policy = b.build().map_err(config_error)?;
        let seed = match given(seed) {
            Some(v) => int_in(v, "seed", 0, u64::MAX)?,
            None => random_seed(),
        };
        let shared = SharedAllowance::from_args(budget, quota, "retries")?;
        let rate = match given(adaptive_rate) {
            Some(v) => Some(
                v.cast::<AdaptiveRate>()
                    .map_err(|_| wrong_type("adaptive_rate", "a seawall.AdaptiveRate or None", v))?
                    .clone()
                    .unbind(),
            ),
            None => None,
        };
        let throttle = match given(throttle_on) {
            Some(v) => Some(Matcher::from_arg(v, "throttle_on")?),
            None => None,
        };
        let on_retry = match given(on_retry) {
            Some(v) => Some(callable(v, "on_retry")?),
            None => None,
        };
        Ok(Self {
            policy,
            shared,
            rate,
            throttle,
            rng: SharedSplitMix64::new(seed),
            seed,
            classifier: Classifier::from_args(py, retry_on, "retry_on", None, "")?,
            on_retry,
            clock: ClockSource::from_arg(clock)?,
            counts: stats::Counts::default(),
        })
    }

    /// Attempts in all, the first call included.
    #[getter]
    fn max_attempts(&self) -> u32 {
        self.policy.max_attempts()
    }

    /// The backoff strategy's name.
    #[getter]
    fn strategy(&self) -> &'static str {
        self.policy.backoff().strategy().as_str()
    }

    /// The jitter mode's name.
    #[getter]
    fn jitter(&self) -> &'static str {
        self.policy.backoff().jitter().as_str()
    }

    /// The longest delay the backoff can give, in seconds.
    #[getter]
    fn max_delay(&self) -> f64 {
        secs(self.policy.backoff().max_delay())
    }

    /// The total time budget in seconds, or None.
    #[getter]
    fn deadline(&self) -> Option<f64> {
        self.policy.deadline().map(secs)
    }

    /// The random seed of the jitter's generator.
    #[getter]
    fn seed(&self) -> u64 {
        self.seed
    }

    /// The retry budget, or None.
    #[getter]
    fn budget(&self, py: Python<'_>) -> Option<Py<RetryBudget>> {
        self.shared.budget(py)
    }

    /// The retry quota, or None.
    #[getter]
    fn quota(&self, py: Python<'_>) -> Option<Py<RetryQuota>> {
        self.shared.quota(py)
    }

    /// The adaptive rate, or None.
    #[getter]
    fn adaptive_rate(&self, py: Python<'_>) -> Option<Py<AdaptiveRate>> {
        self.rate.as_ref().map(|r| r.clone_ref(py))
    }

    /// The clock given to the policy (None: the monotonic clock, real sleeps).
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<ManualClock>> {
        self.clock.to_object(py)
    }

    /// How the calls made under this policy ended, so far.
    #[getter]
    fn stats(&self) -> RetryStats {
        self.counts.snapshot()
    }

    /// The next ``count`` delays (seconds) of a fresh backoff sequence, drawn
    /// from this policy's generator (advancing it, as the waits of retried
    /// calls do); ignores ``max_attempts``, deadlines, budgets and hints. On a
    /// new policy with a ``seed``, these are the waits its first retried call takes.
    fn delays(&self, count: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
        let count = int_in(count, "count", 0, 1_000_000)?;
        let backoff = self.policy.backoff();
        let mut state = BackoffState::new();
        let mut rng = &self.rng;
        Ok((0..count)
            .map(|_| secs(backoff.next_delay(&mut state, &mut rng)))
            .collect())
    }

    /// Calls ``fn(*args, **kwargs)``, retrying it by this policy; returns its result.
    #[pyo3(signature = (fn_, /, *args, **kwargs))]
    fn call<'py>(
        slf: &Bound<'py, Self>,
        fn_: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        run(slf, fn_, args, kwargs)
    }

    /// Starts one logical call, for the ``async def`` loop.
    fn _start(slf: &Bound<'_, Self>) -> RetryCall {
        let retry = slf.get();
        RetryCall {
            retry: slf.clone().unbind(),
            state: retry.policy.start(&retry.clock),
            history: Vec::new(),
            give_up: None,
        }
    }

    /// Records a call's success at its first attempt: counts it, pays the
    /// budget or quota back and tells the adaptive rate.
    fn _succeeded(&self) {
        self.succeeded(&RetryState::new());
    }

    /// Before an attempt: None if it may go now, else the seconds the
    /// adaptive rate asks to wait before asking again.
    fn _pace(&self) -> Option<f64> {
        let rate = self.rate.as_ref()?;
        rate.get().try_acquire().err().map(secs)
    }

    /// A plain wrapper that calls ``fn`` with retries (used by the decorator).
    fn _wrap(slf: &Bound<'_, Self>, fn_: &Bound<'_, PyAny>) -> PyResult<Retrying> {
        Retrying::new(slf, fn_)
    }

    fn __repr__(&self) -> String {
        format!(
            "Retry(max_attempts={}, strategy={:?}, jitter={:?}, seed={})",
            self.max_attempts(),
            self.strategy(),
            self.jitter(),
            self.seed
        )
    }
}

fn random_seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5EA_3A11);
    hasher.finish()
}

/// The Python classes of the history (`seawall/_retry.py`): plain dataclasses,
/// so the cycle error -> history -> attempt -> error is collected by the GC.
fn history_class<'py>(py: Python<'py>, name: &'static str) -> PyResult<&'py Bound<'py, PyType>> {
    static ATTEMPT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static HISTORY: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let cell = if name == "Attempt" {
        &ATTEMPT
    } else {
        &HISTORY
    };
    cell.import(py, "seawall._retry", name)
}

fn hint(py: Python<'_>, error: &PyErr) -> Option<Duration> {
    let value = error.value(py);
    let hint = value.getattr(pyo3::intern!(py, "retry_after")).ok()?;
    if !(hint.is_instance_of::<PyFloat>() || hint.is_instance_of::<PyInt>()) {
        return None;
    }
    let hint: f64 = hint.extract().ok()?;
    (hint.is_finite() && hint >= 0.0).then(|| crate::errors::duration_from_secs(hint))
}

/// What a policy that sends attempts again (a retry, a hedge) knows of an
/// attempt that raised `error`: a policy's stop (seawall's own exceptions,
/// from a decorator below) as the core's composition table says (a breaker
/// forced open is not retried); the call's own error as ``retry_on``
/// (`classifier`) says, with its ``retry_after`` hint, ``throttle_on`` and
/// ``TimeoutError`` setting the kind a quota charges. Cancellation,
/// ``KeyboardInterrupt`` and ``SystemExit`` are never worth another attempt.
pub(crate) fn failure_of(
    py: Python<'_>,
    error: &PyErr,
    classifier: &Classifier,
    throttle: Option<&Matcher>,
) -> PyResult<Failure> {
    if !error.is_instance_of::<PyException>(py) {
        return Ok(Failure::not_retryable());
    }
    if let Some((stop, retry_after)) = stop_of(py, error) {
        return Ok(stop.retry_failure(retry_after));
    }
    let throttling = match throttle {
        Some(throttle) => throttle.matches(py, error, false)?,
        None => false,
    };
    let kind = if throttling {
        ErrorKind::Throttling
    } else if error.is_instance_of::<PyTimeoutError>(py) {
        ErrorKind::Timeout
    } else {
        ErrorKind::Transient
    };
    let retryable = classifier.matches(py, error)?;
    Ok(Failure {
        retryable,
        retry_after: if retryable { hint(py, error) } else { None },
        kind,
    })
}

impl Retry {
    /// What the policy knows of `error` ([`failure_of`]).
    fn failure(&self, py: Python<'_>, error: &PyErr) -> PyResult<Failure> {
        failure_of(py, error, &self.classifier, self.throttle.as_ref())
    }

    /// The policy's answer to a failed attempt: `Ok(delay)` or `Err(reason)`.
    fn decide(
        &self,
        py: Python<'_>,
        state: &mut RetryState,
        error: &PyErr,
    ) -> PyResult<Result<Duration, GiveUp>> {
        let failure = self.failure(py, error)?;
        self.observe(Some(&failure));
        let attempt = state.attempt();
        Ok(
            match self.policy.on_failure(
                state,
                failure,
                self.allowance(),
                &self.clock,
                &mut &self.rng,
            ) {
                RetryDecision::Retry { delay } => Ok(delay),
                RetryDecision::GiveUp(reason) => {
                    self.counts.gave_up(attempt);
                    Err(reason)
                }
            },
        )
    }

    /// The call of `state` succeeded.
    #[inline]
    fn succeeded(&self, state: &RetryState) {
        self.counts.succeeded(state.attempt());
        self.allowance().record_success(state);
        self.observe(None);
    }

    /// What bounds retries across calls.
    fn allowance(&self) -> Allowance<'_> {
        self.shared.allowance()
    }

    /// Tells the adaptive rate, if any, how an attempt ended.
    fn observe(&self, failure: Option<&Failure>) {
        if let Some(rate) = &self.rate {
            let throttled = failure.is_some_and(|f| f.kind == ErrorKind::Throttling);
            rate.get().observe(throttled);
        }
    }

    /// Waits (sleeping, or advancing a manual clock) until the adaptive rate,
    /// if any, lets an attempt go.
    fn pace(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(rate) = &self.rate {
            while let Err(wait) = rate.get().try_acquire() {
                self.clock.sleep(py, wait)?;
            }
        }
        Ok(())
    }

    /// Records a retried attempt and tells `on_retry`.
    fn retried(
        &self,
        py: Python<'_>,
        history: &mut Vec<Py<PyAny>>,
        number: u32,
        error: &PyErr,
        delay: Duration,
    ) -> PyResult<()> {
        let delay = secs(delay);
        let attempt = history_class(py, "Attempt")?.call1((number, error.value(py), delay))?;
        if let Some(callback) = &self.on_retry {
            let callback = callback.bind(py);
            if let Err(raised) = callback.call1((&attempt,)) {
                reported(py, raised, callback)?;
            }
        }
        history.push(attempt.unbind());
        Ok(())
    }

    /// Attaches the history to the error the policy gave up on.
    fn gave_up(
        py: Python<'_>,
        history: Vec<Py<PyAny>>,
        number: u32,
        error: &PyErr,
        reason: GiveUp,
    ) {
        if reason == GiveUp::NotRetryable && history.is_empty() {
            return;
        }
        let result = (|| -> PyResult<()> {
            let value = error.value(py);
            let last = history_class(py, "Attempt")?.call1((number, value, py.None()))?;
            let mut attempts: Vec<Bound<'_, PyAny>> =
                history.into_iter().map(|a| a.into_bound(py)).collect();
            attempts.push(last);
            let record = history_class(py, "RetryHistory")?
                .call1((PyTuple::new(py, attempts)?, reason.as_str()))?;
            // Exceptions that take no attributes keep no history.
            let _ = value.setattr(pyo3::intern!(py, "retry_history"), &record);
            if value.hasattr(pyo3::intern!(py, "add_note"))? {
                let note = format!("seawall: gave up after {number} attempt(s): {reason}");
                value.call_method1(pyo3::intern!(py, "add_note"), (note,))?;
            }
            Ok(())
        })();
        if let Err(failed) = result {
            failed.write_unraisable(py, None);
        }
    }
}
