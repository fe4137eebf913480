//! `seawall.CircuitBreaker`: the core's breaker with heap storage for its window,
//! a clock, an exception classifier and state-change listeners.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use seawall_core::breaker::{
    AnyWindow, BreakerConfig, Bucket, Outcome, RejectReason, Rejection, Slot, State, Ticket,
    Transition,
};
use seawall_core::time::{Clock, Instant};
use seawall_core::transitions;

use crate::classify::{Classifier, reported};
use crate::clock::{ClockSource, ManualClock};
use crate::errors::{Exception, callable, config_error, given, invalid, secs, string};
use crate::permit::{Permit, guarded_call};
use crate::stats::{Stats, WindowTotals};

mod options;

use options::window;
#[cfg_attr(not(feature = "redis"), allow(unused_imports))]
pub(crate) use options::{WindowArgs, rate_options, trip_options, window_args};

type Window = AnyWindow<Box<[Slot]>, Box<[Bucket]>>;
type Core = seawall_core::CircuitBreaker<Box<BreakerConfig>, Window>;

/// A circuit breaker: fails fast while a dependency is down.
///
/// Closed, it lets calls through and counts failures; after
/// ``failure_threshold`` consecutive failures (or, with a sliding window, a
/// failure rate or slow-call rate at its threshold) it opens and rejects every
/// call with :class:`CircuitOpenError` for ``timeout`` seconds. Then the next
/// call is a probe (half-open); ``success_threshold`` successful probes close it
/// again, a failed one reopens it.
///
/// Use it as a decorator (``def`` and ``async def``), as a context manager
/// (``with breaker:`` / ``async with breaker:``), or through
/// ``breaker.call(fn, *args, **kwargs)``. Every decision is made by the Rust
/// core without any lock; the breaker never holds a lock while your function runs.
///
/// Args:
///     name: The breaker's name, in errors and events.
///     failure_threshold: Consecutive failures that open the breaker without a
///         window (default 5).
///     success_threshold: Successful probes that close a half-open breaker (default 2).
///     timeout: Seconds the breaker stays open after it trips, the core's
///         ``open_duration`` (default 60.0).
///     half_open_max_calls: Probes admitted at once while half-open (default 1).
///     open_duration_multiplier: Growth of the open duration on each further
///         consecutive trip (1.0: no growth).
///     max_open_duration: Cap of that growth, in seconds (default: no cap).
///     max_wait_in_half_open: Reopen when every probe slot is taken and no
///         probe was admitted or answered for this many seconds (default: wait).
///     window_size: Trip on rates over the last N calls (count-based window).
///     window_duration: Trip on rates over the last T seconds (time-based window).
///     window_buckets: Buckets of the time-based window (default 10).
///     failure_rate_threshold: Failure rate in (0, 1] that trips a windowed
///         breaker (default 0.5).
///     slow_call_rate_threshold: Slow-call rate in (0, 1] that trips a windowed
///         breaker (default 1.0).
///     slow_call_duration: A call longer than this many seconds is slow (default
///         60.0). Calls are timed only with a window or this option given.
///     minimum_calls: Calls in the window before its rates count (default 100).
///     failure_on: Exceptions that count as failures: exception types, or a
///         predicate ``(exception) -> bool``. Default: every ``Exception``.
///         Any other exception is a success: the dependency answered.
///     exclude: Exceptions that count as nothing, even if ``failure_on``
///         matches: the permit is released unrecorded, as for a cancelled call
///         (and ``KeyboardInterrupt`` or ``SystemExit``). A ``RateLimitedError``,
///         ``BulkheadFullError`` or ``CircuitOpenError`` of a policy decorated
///         below the breaker counts as nothing; a ``TimeoutExceededError`` is
///         a failure.
///     on_state_change: ``callback(breaker, old_state, new_state)`` called after
///         each state transition, outside any lock.
///     clock: A :class:`seawall.testing.ManualClock`, or None for the monotonic clock.
///     shadow: Shadow mode: decide but do not enforce. A call the breaker would
///         reject runs anyway, unrecorded, and counts in ``stats.rejected`` (and
///         the registry's ``seawall_circuitbreaker_shadow_rejections_total``):
///         a configuration tried on real traffic before it is switched on.
#[pyclass(module = "seawall._seawall", name = "CircuitBreaker", subclass, frozen)]
pub(crate) struct CircuitBreaker {
    pub(crate) core: Core,
    pub(crate) clock: ClockSource,
    name: Py<PyString>,
    classifier: Classifier,
    listeners: Mutex<Vec<Py<PyAny>>>,
    /// Transitions reported and not yet told, to tell them in order.
    deliveries: Mutex<Deliveries>,
    /// Whether calls are timed: only when slow calls can matter (a window, or
    /// an explicit `slow_call_duration`), as reading the clock is most of the
    /// cost of a call in the Closed state.
    pub(crate) timed: bool,
    /// Shadow mode: decides and counts, never rejects.
    pub(crate) shadow: bool,
}

#[pymethods]
impl CircuitBreaker {
    #[new]
    #[pyo3(signature = (
        name, failure_threshold = None, success_threshold = None, timeout = None, *,
        half_open_max_calls = None, open_duration_multiplier = None, max_open_duration = None,
        max_wait_in_half_open = None, window_size = None, window_duration = None,
        window_buckets = None, failure_rate_threshold = None, slow_call_rate_threshold = None,
        slow_call_duration = None, minimum_calls = None, failure_on = None, exclude = None,
        on_state_change = None, clock = None, shadow = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        failure_threshold: Option<&Bound<'_, PyAny>>,
        success_threshold: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        half_open_max_calls: Option<&Bound<'_, PyAny>>,
        open_duration_multiplier: Option<&Bound<'_, PyAny>>,
        max_open_duration: Option<&Bound<'_, PyAny>>,
        max_wait_in_half_open: Option<&Bound<'_, PyAny>>,
        window_size: Option<&Bound<'_, PyAny>>,
        window_duration: Option<&Bound<'_, PyAny>>,
        window_buckets: Option<&Bound<'_, PyAny>>,
        failure_rate_threshold: Option<&Bound<'_, PyAny>>,
        slow_call_rate_threshold: Option<&Bound<'_, PyAny>>,
        slow_call_duration: Option<&Bound<'_, PyAny>>,
        minimum_calls: Option<&Bound<'_, PyAny>>,
        failure_on: Option<&Bound<'_, PyAny>>,
        exclude: Option<&Bound<'_, PyAny>>,
        on_state_change: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
        shadow: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let shadow = shadow_arg(shadow)?;
        let name = string(name, "name")?.clone().unbind();
        let b = trip_options(
            failure_threshold,
            success_threshold,
            timeout,
            half_open_max_calls,
            open_duration_multiplier,
            max_open_duration,
            max_wait_in_half_open,
        )?;
        let b = rate_options(
            b,
            failure_rate_threshold,
            slow_call_rate_threshold,
            slow_call_duration,
            minimum_calls,
        )?;
        let config = b.build().map_err(config_error)?;
        let window = window(
            given(window_size),
            given(window_duration),
            given(window_buckets),
        )?;
        let classifier = Classifier::from_args(py, failure_on, "failure_on", exclude, "exclude")?;
        let timed = !matches!(window, AnyWindow::None) || given(slow_call_duration).is_some();
        let mut listeners = Vec::new();
        if let Some(callback) = given(on_state_change) {
            listeners.push(callable(callback, "on_state_change")?);
        }
        Ok(Self {
            core: seawall_core::CircuitBreaker::with_window(Box::new(config), window),
            clock: ClockSource::from_arg(clock)?,
            name,
            classifier,
            listeners: Mutex::new(listeners),
            deliveries: Mutex::new(Deliveries::default()),
            timed,
            shadow,
        })
    }

    /// The breaker's name.
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// The current state: ``"closed"``, ``"open"``, ``"half_open"``,
    /// ``"forced_open"`` or ``"disabled"``.
    #[getter]
    fn state(&self) -> &'static str {
        self.core.state().as_str()
    }

    /// A snapshot of the counters and rates.
    #[getter]
    fn stats(&self) -> Stats {
        self.core.stats().into()
    }

    /// The outcomes in the sliding window now (all zero without a window).
    fn window_totals(&self) -> WindowTotals {
        self.core.window_totals(&self.clock).into()
    }

    /// Whether the breaker trips on rates over a sliding window (rather than
    /// on consecutive failures).
    #[getter]
    fn has_window(&self) -> bool {
        !matches!(self.core.window(), AnyWindow::None)
    }

    /// Consecutive failures that open a breaker without a window.
    #[getter]
    fn failure_threshold(&self) -> u32 {
        self.core.config().failure_threshold()
    }

    /// Successful probes that close a half-open breaker.
    #[getter]
    fn success_threshold(&self) -> u32 {
        self.core.config().success_threshold()
    }

    /// Seconds the breaker stays open after its first trip.
    #[getter]
    fn timeout(&self) -> f64 {
        secs(self.core.config().open_duration())
    }

    /// Probes admitted at once while half-open.
    #[getter]
    fn half_open_max_calls(&self) -> u32 {
        self.core.config().half_open_max_calls()
    }

    /// The exceptions that count as failures (a tuple of types, or the predicate).
    #[getter]
    fn failure_on(&self, py: Python<'_>) -> Py<PyAny> {
        self.classifier.include_object(py)
    }

    /// The exceptions that never count (a tuple of types, or the predicate).
    #[getter]
    fn exclude(&self, py: Python<'_>) -> Py<PyAny> {
        self.classifier.exclude_object(py)
    }

    /// The clock given to the breaker (None: the monotonic clock).
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<ManualClock>> {
        self.clock.to_object(py)
    }

    /// Asks to make one call: a :class:`Permit`, or :class:`CircuitOpenError`.
    ///
    /// End the permit with ``success()``, ``failure()``, ``finish(error)`` or
    /// ``release()``, or use it as a context manager. A permit that is
    /// garbage-collected unfinished is released, freeing its probe slot.
    fn acquire(slf: &Bound<'_, Self>) -> PyResult<Permit> {
        let ticket = admit(slf)?;
        Ok(Permit::new(slf, ticket))
    }

    /// Acquires a permit for the ``with`` block (or raises
    /// :class:`CircuitOpenError`) and returns it.
    fn __enter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Permit>> {
        let ticket = admit(slf)?;
        let permit = Bound::new(slf.py(), Permit::new(slf, ticket))?;
        crate::blocks::push(slf.as_any(), permit.clone().into_any())?;
        Ok(permit)
    }

    /// Ends the block's permit: a success, a failure if the breaker counts the
    /// exception, else a release (cancellation, excluded errors).
    #[pyo3(signature = (_exc_type, exc, _traceback))]
    fn __exit__(
        slf: &Bound<'_, Self>,
        _exc_type: &Bound<'_, PyAny>,
        exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let permit = crate::blocks::pop(slf.as_any())?;
        permit.cast::<Permit>()?.get().finish(slf.py(), Some(exc))?;
        Ok(false)
    }

    /// Whether the breaker is in shadow mode: it decides, counts what it would
    /// reject in ``stats.rejected``, and lets every call through (unrecorded).
    #[getter]
    fn shadow(&self) -> bool {
        self.shadow
    }

    /// Calls ``fn(*args, **kwargs)`` through the breaker and returns its result.
    /// For an ``async def`` function, ``await breaker.call_async(fn, ...)``.
    #[pyo3(signature = (fn_, /, *args, **kwargs))]
    fn call<'py>(
        slf: &Bound<'py, Self>,
        fn_: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guarded_call(slf, fn_, args, kwargs)
    }

    /// Opens the breaker until ``reset()`` or ``disable()``.
    fn force_open(slf: &Bound<'_, Self>) -> PyResult<()> {
        let transition = slf.get().core.force_open();
        notify(slf, transition)
    }

    /// Lets every call through and counts it, never tripping, until ``reset()``
    /// or ``force_open()``.
    fn disable(slf: &Bound<'_, Self>) -> PyResult<()> {
        let transition = slf.get().core.disable();
        notify(slf, transition)
    }

    /// Closes the breaker and clears its failures, its window and the growth
    /// of its open duration. The statistics are kept.
    fn reset(slf: &Bound<'_, Self>) -> PyResult<()> {
        let transition = slf.get().core.reset();
        notify(slf, transition)
    }

    /// Adds ``callback(breaker, old_state, new_state)``, called after each state
    /// transition (outside any lock). An ``Exception`` it raises goes to
    /// ``sys.unraisablehook``; any other (``KeyboardInterrupt``, ``SystemExit``)
    /// propagates from the call that caused the transition.
    fn add_listener(&self, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        let callback = callable(callback, "on_state_change")?;
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(callback);
        Ok(())
    }

    /// Removes a callback added by ``add_listener`` or ``on_state_change``.
    fn remove_listener(&self, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        let before = listeners.len();
        listeners.retain(|l| !l.is(callback));
        if listeners.len() == before {
            return Err(invalid("callback", "is not a listener of this breaker"));
        }
        Ok(())
    }

    /// A plain wrapper that calls ``fn`` through the breaker (used by the decorator).
    fn _guard(slf: &Bound<'_, Self>, fn_: &Bound<'_, PyAny>) -> PyResult<crate::permit::Guarded> {
        crate::permit::Guarded::new(slf, fn_)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "CircuitBreaker({:?}, state={:?})",
            self.name.bind(py).to_string(),
            self.state()
        )
    }
}

/// `CircuitOpenError(name, retry_after, reason)`, as both breakers raise it.
pub(crate) fn circuit_open(py: Python<'_>, name: &Py<PyString>, rejection: Rejection) -> PyErr {
    let retry_after = rejection.retry_after().map(secs);
    // Interned: a rejection allocates no string.
    let reason = match rejection.reason() {
        RejectReason::Open => pyo3::intern!(py, "open"),
        RejectReason::HalfOpenFull => pyo3::intern!(py, "half_open_full"),
        RejectReason::ForcedOpen => pyo3::intern!(py, "forced_open"),
    };
    Exception::CircuitOpen.err(
        py,
        (name.clone_ref(py), retry_after, reason.clone().unbind()),
    )
}

/// The transitions a breaker has reported but not yet told its listeners,
/// to tell them in the order the breaker made them (another thread may
/// report the later of two transitions first: `seawall_core::transitions`).
#[derive(Debug)]
pub(crate) struct Deliveries {
    buffer: Vec<Transition>,
    told: u64,
    last: State,
    telling: bool,
}

impl Default for Deliveries {
    fn default() -> Self {
        Self {
            buffer: Vec::new(),
            told: 0,
            last: State::Closed,
            telling: false,
        }
    }
}

/// Calls the listeners of `breaker` with `transition`, if any, and with those
/// other threads reported, in the order the breaker made them (the thread
/// that completes a batch tells it). They run with no lock held. A listener's
/// `Exception` is reported through `sys.unraisablehook`; the first other
/// `BaseException` is raised once the batch is told.
pub(crate) fn notify(
    breaker: &Bound<'_, CircuitBreaker>,
    transition: Option<Transition>,
) -> PyResult<()> {
    let Some(transition) = transition else {
        return Ok(());
    };
    let this = breaker.get();
    let lock = || this.deliveries.lock().unwrap_or_else(|e| e.into_inner());
    let mut deliveries = lock();
    deliveries.buffer.push(transition);
    let mut raised = None;
    while !deliveries.telling {
        let made = this.core.stats().state_transitions;
        let pending = deliveries.buffer.len();
        if pending == 0
            || !(transitions::complete(made, deliveries.told, pending)
                || pending >= transitions::MAX_BATCH)
        {
            break;
        }
        let last = deliveries.last;
        transitions::order(last, &mut deliveries.buffer);
        let batch = std::mem::take(&mut deliveries.buffer);
        deliveries.told += batch.len() as u64;
        deliveries.last = batch.last().map_or(last, |t| t.to);
        deliveries.telling = true;
        drop(deliveries);
        for transition in batch {
            if let Err(error) = tell(breaker, transition) {
                raised.get_or_insert(error);
            }
        }
        deliveries = lock();
        deliveries.telling = false;
    }
    drop(deliveries);
    match raised {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Calls every listener with one transition.
fn tell(breaker: &Bound<'_, CircuitBreaker>, transition: Transition) -> PyResult<()> {
    let py = breaker.py();
    let listeners: Vec<Py<PyAny>> = breaker
        .get()
        .listeners
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|l| l.clone_ref(py))
        .collect();
    for listener in listeners {
        let listener = listener.bind(py);
        let args = (breaker, transition.from.as_str(), transition.to.as_str());
        if let Err(error) = listener.call1(args) {
            reported(py, error, listener)?;
        }
    }
    Ok(())
}

/// Acquires a ticket, telling the listeners of any transition; a rejection
/// becomes `CircuitOpenError`.
#[inline]
pub(crate) fn acquire(slf: &Bound<'_, CircuitBreaker>) -> PyResult<Ticket> {
    let breaker = slf.get();
    match breaker.core.try_acquire_ticket(&breaker.clock) {
        Ok(ticket) => {
            if ticket.transition().is_some()
                && let Err(raised) = notify(slf, ticket.transition())
            {
                breaker.core.release(ticket);
                return Err(raised);
            }
            Ok(ticket)
        }
        Err(rejection) => {
            if rejection.transition().is_some() {
                notify(slf, rejection.transition())?;
            }
            Err(breaker.rejected(slf.py(), rejection))
        }
    }
}

/// The `shadow=` argument of the breaker and the rate limiter: a bool.
pub(crate) fn shadow_arg(shadow: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
    match given(shadow) {
        None => Ok(false),
        Some(v) if v.is_instance_of::<pyo3::types::PyBool>() => v.extract(),
        Some(v) => Err(crate::errors::wrong_type("shadow", "a bool", v)),
    }
}

/// A ticket for a call, or `None` for a call a shadow breaker would have
/// rejected: it runs, and nothing records it (an enforcing breaker would not
/// have seen it). Otherwise as [`acquire`].
#[inline]
pub(crate) fn admit(slf: &Bound<'_, CircuitBreaker>) -> PyResult<Option<Ticket>> {
    match acquire(slf) {
        Ok(ticket) => Ok(Some(ticket)),
        Err(_) if slf.get().shadow => Ok(None),
        Err(error) => Err(error),
    }
}

impl CircuitBreaker {
    /// `CircuitOpenError(name, retry_after, reason)`.
    fn rejected(&self, py: Python<'_>, rejection: Rejection) -> PyErr {
        circuit_open(py, &self.name, rejection)
    }

    /// The time now, if calls are timed.
    #[inline]
    pub(crate) fn start(&self) -> Option<Instant> {
        self.timed.then(|| self.clock.now())
    }

    /// The time since `start`, if calls are timed.
    #[inline]
    pub(crate) fn latency(&self, start: Option<Instant>) -> Option<std::time::Duration> {
        start.map(|start| self.clock.now() - start)
    }

    /// Records `outcome` for `ticket` and tells the listeners.
    #[inline]
    pub(crate) fn record(
        slf: &Bound<'_, Self>,
        ticket: Ticket,
        outcome: Outcome,
        latency: Option<std::time::Duration>,
    ) -> PyResult<()> {
        let breaker = slf.get();
        let transition = breaker
            .core
            .record(ticket, outcome, latency, &breaker.clock);
        if transition.is_some() {
            notify(slf, transition)?;
        }
        Ok(())
    }

    /// Ends `ticket` after `error` as the classification says: a failure, a
    /// success, or released. A `BaseException` raised by a `failure_on` or
    /// `exclude` predicate releases the ticket and is raised, with `error` as
    /// its context.
    pub(crate) fn record_error(
        slf: &Bound<'_, Self>,
        ticket: Ticket,
        error: &PyErr,
        latency: Option<std::time::Duration>,
    ) -> PyResult<()> {
        let py = slf.py();
        let breaker = slf.get();
        match breaker.classifier.breaker_outcome(py, error) {
            Ok(Some(outcome)) => Self::record(slf, ticket, outcome, latency),
            Ok(None) => {
                breaker.core.release(ticket);
                Ok(())
            }
            Err(raised) => {
                breaker.core.release(ticket);
                Err(raised)
            }
        }
    }
}
