//! `seawall.SharedCircuitBreaker`: a breaker whose state a fleet shares
//! through Redis (the `seawall` crate's `SharedCircuitBreaker`).

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use seawall::redis::SharedState as RustState;
use seawall::{CircuitBreakerConfig, SlidingWindow};
use seawall_core::breaker::{Outcome, Rejection};

use super::guarded::SharedGuarded;
use super::permit::SharedPermit;
use super::runtime::{self, Listeners, Polled, Runtime, Settled, epoch, poll_once};
use super::state::SharedState;
use super::store::{RedisStore, unavailable};
use crate::breaker::{WindowArgs, circuit_open, rate_options, trip_options, window_args};
use crate::classify::Classifier;
use crate::errors::{callable, config_error, given, invalid, secs, string, wrong_type};
use crate::permit::advice;
use crate::stats::{Stats, WindowTotals};
use crate::wrapper::{deferred, deferred_error};

type RustBreaker = seawall::redis::SharedCircuitBreaker;
pub(crate) type RustPermit = seawall::redis::SharedPermit<seawall::ErrorsAreFailures>;

/// A circuit breaker whose state is shared, through Redis, by every process
/// that uses the same store prefix and name: the failures of the whole fleet
/// open it, for the whole fleet, and half-open admits ``half_open_max_calls``
/// probes across the fleet.
///
/// Made by :meth:`RedisStore.circuit_breaker` (or
/// ``SharedCircuitBreaker(store, name, ...)``), and used like
/// :class:`CircuitBreaker`: as a decorator (``def`` and ``async def``), as a
/// context manager (``with`` / ``async with``), through ``call(fn, ...)`` /
/// ``await call_async(fn, ...)``, or with permits from ``acquire()``. A
/// rejected call raises :class:`CircuitOpenError` with ``retry_after``.
///
/// The hot path stays local: a call in the Closed state does not wait for
/// Redis; failures are reported by a background task, and the shared state is
/// read every ``sync_interval``. Only past the end of an open duration, and in
/// half-open, does a call ask Redis (bounded by the store's ``timeout``, with
/// the GIL released, or without blocking the event loop in ``async`` code).
/// While Redis is unavailable it follows the store's ``when_unavailable``.
///
/// Every rule is the core's: the consecutive rule, or with a window
/// (``window_size`` or ``window_duration``) the failure and slow-call rates of
/// the whole fleet's calls; open-duration growth; the half-open limit and
/// wait. Only the state lives in Redis.
///
/// Args:
///     store: The :class:`RedisStore`.
///     name: The breaker's name: its key is ``{prefix}:breaker:{name}``.
///     failure_threshold: Consecutive failures of the fleet that open it (default 5).
///     success_threshold: Successful probes that close it (default 2).
///     timeout: Seconds the breaker stays open after it trips (default 60.0),
///         on Redis's clock.
///     half_open_max_calls: Probes admitted at once across the fleet (default 1).
///     open_duration_multiplier: Growth of the open duration on each further
///         consecutive trip (1.0: no growth).
///     max_open_duration: Cap of that growth, in seconds (default: no cap).
///     max_wait_in_half_open: Reopen when every probe slot is taken and no
///         probe was admitted or answered for this many seconds (default: wait).
///     window_size: Trip on rates over the fleet's last N calls.
///     window_duration: Trip on rates over the fleet's calls of the last T seconds.
///     window_buckets: Buckets of the time-based window (default 10).
///     failure_rate_threshold: Failure rate in (0, 1] that trips a windowed
///         breaker (default 0.5).
///     slow_call_rate_threshold: Slow-call rate in (0, 1] that trips a windowed
///         breaker, and reopens a half-open one (default 1.0).
///     slow_call_duration: A call longer than this many seconds is slow
///         (default 60.0; calls are timed only with a window).
///     minimum_calls: Calls in the window before its rates count (default 100).
///     failure_on: Exceptions that count as failures: exception types, or a
///         predicate ``(exception) -> bool``. Default: every ``Exception``.
///     exclude: Exceptions that never count, even if ``failure_on`` matches.
///     on_state_change: ``callback(breaker, old_state, new_state)``, called
///         after each change of state this process sees, whoever caused it,
///         in order (see ``add_listener``).
#[pyclass(
    module = "seawall._seawall",
    name = "SharedCircuitBreaker",
    subclass,
    frozen,
    weakref
)]
pub(crate) struct SharedCircuitBreaker {
    store: Py<RedisStore>,
    name: Py<PyString>,
    /// The name in Rust, for rebuilds.
    key_name: String,
    config: CircuitBreakerConfig,
    classifier: Classifier,
    listeners: Arc<Listeners>,
    live: ArcSwap<Live>,
    /// Serialises rebuilds after a fork.
    rebuilding: Mutex<()>,
}

/// The Rust breaker as built in one fork epoch.
pub(crate) struct Live {
    pub(crate) epoch: u64,
    pub(crate) runtime: &'static Runtime,
    pub(crate) breaker: RustBreaker,
}

#[pymethods]
impl SharedCircuitBreaker {
    #[new]
    #[pyo3(signature = (
        store, name, failure_threshold = None, success_threshold = None, timeout = None, *,
        half_open_max_calls = None, open_duration_multiplier = None, max_open_duration = None,
        max_wait_in_half_open = None, window_size = None, window_duration = None,
        window_buckets = None, failure_rate_threshold = None, slow_call_rate_threshold = None,
        slow_call_duration = None, minimum_calls = None, failure_on = None, exclude = None,
        on_state_change = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        store: &Bound<'_, PyAny>,
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
    ) -> PyResult<Self> {
        let store = store
            .cast::<RedisStore>()
            .map_err(|_| wrong_type("store", "a seawall.RedisStore", store))?
            .clone()
            .unbind();
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
        let mut config = CircuitBreakerConfig::from(b.build().map_err(config_error)?);
        config.window = match window_args(
            given(window_size),
            given(window_duration),
            given(window_buckets),
        )? {
            WindowArgs::None => None,
            WindowArgs::Count(size) => Some(SlidingWindow::Count { size }),
            WindowArgs::Time(duration, buckets) => Some(SlidingWindow::Time { duration, buckets }),
        };
        let classifier = Classifier::from_args(py, failure_on, "failure_on", exclude, "exclude")?;
        let mut callbacks = Vec::new();
        if let Some(callback) = given(on_state_change) {
            callbacks.push(callable(callback, "on_state_change")?);
        }
        let listeners = Listeners::new(callbacks);
        let live = build(store.get(), &name.bind(py).to_cow()?, &config, &listeners)?;
        Ok(Self {
            store,
            key_name: name.bind(py).to_cow()?.into_owned(),
            name,
            config,
            classifier,
            listeners,
            live: ArcSwap::from_pointee(live),
            rebuilding: Mutex::new(()),
        })
    }

    /// Names this object as the one the listeners receive.
    #[pyo3(signature = (*_args, **_kwargs))]
    fn __init__(
        slf: &Bound<'_, Self>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        slf.get().listeners.bind(slf.as_any())
    }

    /// The breaker's name.
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// The store the breaker's state lives in.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<RedisStore> {
        self.store.clone_ref(py)
    }

    /// The state as this process sees it: ``"closed"``, ``"open"``,
    /// ``"half_open"``, ``"forced_open"`` or ``"disabled"`` (as of the last
    /// sync or reply; the local fallback's while Redis is unavailable, and
    /// ``"open"`` when failing closed).
    #[getter]
    fn state(&self) -> PyResult<&'static str> {
        Ok(self.live()?.breaker.state().as_str())
    }

    /// This process's counters: its calls, their outcomes, its rejections and
    /// the changes of state it saw.
    #[getter]
    fn stats(&self) -> PyResult<Stats> {
        Ok(self.live()?.breaker.stats().into())
    }

    /// Whether Redis was unavailable at the last attempt and the breaker
    /// decides locally (or rejects every call, when failing closed).
    #[getter]
    fn is_fallback(&self) -> PyResult<bool> {
        Ok(self.live()?.breaker.is_fallback())
    }

    /// The fleet's sliding window as of the last sync (all zero without a
    /// window); after a trip, the calls that opened the breaker.
    fn window_totals(&self) -> PyResult<WindowTotals> {
        Ok(self.live()?.breaker.window_totals().into())
    }

    /// Whether the breaker trips on the fleet's rates over a sliding window.
    #[getter]
    fn has_window(&self) -> bool {
        self.config.window.is_some()
    }

    /// How many times this process read a corrupt shared state from Redis
    /// (and repaired it).
    #[getter]
    fn corrupt_reads(&self) -> PyResult<u64> {
        Ok(self.live()?.breaker.corrupt_reads())
    }

    /// Consecutive failures of the fleet that open the breaker.
    #[getter]
    fn failure_threshold(&self) -> u32 {
        self.config.failure_threshold
    }

    /// Successful probes that close a half-open breaker.
    #[getter]
    fn success_threshold(&self) -> u32 {
        self.config.success_threshold
    }

    /// Seconds the breaker stays open after its first trip.
    #[getter]
    fn timeout(&self) -> f64 {
        secs(self.config.timeout)
    }

    /// Probes admitted at once across the fleet while half-open.
    #[getter]
    fn half_open_max_calls(&self) -> u32 {
        self.config.half_open_max_calls
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

    /// Asks to make one call: a :class:`SharedPermit`, or
    /// :class:`CircuitOpenError`. Asks Redis only past the end of an open
    /// duration and in half-open (within the store's ``timeout``, GIL released).
    fn acquire(slf: &Bound<'_, Self>) -> PyResult<SharedPermit> {
        let py = slf.py();
        let this = slf.get();
        let live = this.live()?;
        let breaker = live.breaker.clone();
        let acquired = runtime::block_on(
            py,
            live.runtime,
            async move { breaker.try_acquire().await },
            this.store_bound(),
        )?;
        let permit = this.permit(slf, live.epoch, acquired);
        // A listener's BaseException first (dropping the permit releases it).
        this.tell(py)?;
        permit
    }

    /// For ``async`` code: a :class:`SharedPermit` at once when the local view
    /// decides, else an asyncio future of one that the runtime settles
    /// (``await`` it). Raises :class:`CircuitOpenError` at once when rejected
    /// locally.
    fn _acquire_async<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let live = this.live()?;
        let breaker = live.breaker.clone();
        match poll_once(live.runtime, async move { breaker.try_acquire().await })? {
            Polled::Ready(acquired) => {
                let permit = this.permit(slf, live.epoch, acquired);
                this.tell(py)?;
                Ok(Bound::new(py, permit?)?.into_any())
            }
            Polled::Pending(future) => {
                let owner = slf.clone().unbind();
                let epoch = live.epoch;
                runtime::settle_later(py, live.runtime, future, move |py, acquired| {
                    let owner = owner.bind(py);
                    let permit = owner.get().permit(owner, epoch, acquired);
                    owner.get().tell(py)?;
                    Ok(Bound::new(py, permit?)?.into_any().unbind())
                })
            }
        }
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
        Self::guarded_call(slf, fn_, args, kwargs)
    }

    /// A plain wrapper that calls ``fn`` through the breaker (used by the decorator).
    fn _guard(slf: &Bound<'_, Self>, fn_: &Bound<'_, PyAny>) -> PyResult<SharedGuarded> {
        SharedGuarded::new(slf, fn_)
    }

    /// Reports the outcomes not reported yet and reads the shared state from
    /// Redis now (as the background task does every ``sync_interval``).
    /// Raises :class:`RedisUnavailableError` when Redis does not answer
    /// within ``timeout`` (the breaker is then in fallback), and
    /// :class:`SharedStateCorruptError` when the state held values out of
    /// range (read as their defaults, and written back repaired).
    fn sync(&self, py: Python<'_>) -> PyResult<SharedState> {
        let live = self.live()?;
        let breaker = live.breaker.clone();
        let read = runtime::block_on(
            py,
            live.runtime,
            async move { breaker.sync().await },
            self.store_bound(),
        )?;
        self.tell(py)?;
        read.map(shared_state)
            .map_err(|error| unavailable(py, error))
    }

    /// The shared state, read from Redis now (see ``sync``).
    fn shared_state(&self, py: Python<'_>) -> PyResult<SharedState> {
        self.sync(py)
    }

    /// Opens the breaker of every process until ``reset()`` or ``disable()``.
    /// Raises :class:`RedisUnavailableError` when Redis does not answer.
    fn force_open(&self, py: Python<'_>) -> PyResult<()> {
        self.manual(py, Manual::ForceOpen)
    }

    /// Lets every call of every process through (counted, never tripping)
    /// until ``reset()`` or ``force_open()``.
    /// Raises :class:`RedisUnavailableError` when Redis does not answer.
    fn disable(&self, py: Python<'_>) -> PyResult<()> {
        self.manual(py, Manual::Disable)
    }

    /// Closes the breaker of every process and forgets its failures.
    /// Raises :class:`RedisUnavailableError` when Redis does not answer.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        self.manual(py, Manual::Reset)
    }

    /// Adds ``callback(breaker, old_state, new_state)``, called after each
    /// change of state this process sees, in the order of the changes: by
    /// the call into the breaker that saw it, else on a background thread.
    /// An ``Exception`` it raises goes to ``sys.unraisablehook``; any other
    /// ``BaseException`` (Ctrl-C, ``sys.exit()``) is raised by that call, or
    /// by the breaker's next call when the background thread told it.
    fn add_listener(&self, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        self.listeners.add(callable(callback, "callback")?);
        Ok(())
    }

    /// Removes a callback added by ``add_listener`` or ``on_state_change``.
    fn remove_listener(&self, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        if !self.listeners.remove(callback) {
            return Err(invalid("callback", "is not a listener of this breaker"));
        }
        Ok(())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let state = self.state().unwrap_or("unknown");
        format!(
            "SharedCircuitBreaker({:?}, state={state:?})",
            self.name.bind(py).to_string()
        )
    }
}

#[derive(Clone, Copy)]
enum Manual {
    ForceOpen,
    Disable,
    Reset,
}

/// Builds the Rust breaker on the store of the current epoch.
fn build(
    store: &RedisStore,
    name: &str,
    config: &CircuitBreakerConfig,
    listeners: &Arc<Listeners>,
) -> PyResult<Live> {
    let live = store.live()?;
    let breaker = {
        let _context = live.runtime.tokio.enter();
        live.store
            .breaker_builder(name)
            .config(config.clone())
            .on_transition(listeners.sender(live.runtime))
            .build()
            .map_err(config_error)?
    };
    Ok(Live {
        epoch: live.epoch,
        runtime: live.runtime,
        breaker,
    })
}

/// The Python view of the shared state.
pub(crate) fn shared_state(state: RustState) -> SharedState {
    SharedState {
        state: state.state.as_str(),
        generation: state.generation,
        consecutive_failures: state.consecutive_failures,
        trips: state.trips,
        open_remaining: secs(state.open_remaining),
        successes: state.successes,
        probes_in_flight: state.probes_in_flight,
        window: state.window.into(),
    }
}

impl SharedCircuitBreaker {
    /// The Rust breaker of the current fork epoch (rebuilt in a forked child).
    #[inline]
    pub(crate) fn live(&self) -> PyResult<arc_swap::Guard<Arc<Live>>> {
        let live = self.live.load();
        if live.epoch == epoch() {
            return Ok(live);
        }
        drop(live);
        self.rebuild()?;
        Ok(self.live.load())
    }

    #[cold]
    fn rebuild(&self) -> PyResult<()> {
        let _one = self.rebuilding.lock().unwrap_or_else(|e| e.into_inner());
        if self.live.load().epoch == epoch() {
            return Ok(());
        }
        let live = build(
            self.store.get(),
            &self.key_name,
            &self.config,
            &self.listeners,
        )?;
        // The parent's breaker cannot run here: never dropped (its runtime is gone).
        std::mem::forget(self.live.swap(Arc::new(live)));
        Ok(())
    }

    /// `fn_(*args, **kwargs)` through the breaker.
    pub(crate) fn guarded_call<'py>(
        slf: &Bound<'py, Self>,
        fn_: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let permit = Self::acquire(slf)?;
        let result = fn_.call(args, kwargs);
        match &result {
            Ok(value) => {
                if let Some(kind) = deferred(value)? {
                    // The call has not run yet: it says nothing of the dependency.
                    permit.end(slf.py(), None)?;
                    return Err(deferred_error(value, fn_, kind, advice(kind)));
                }
                permit.end(slf.py(), Some(Outcome::Success))?
            }
            Err(error) => permit.finish_error(slf.py(), error)?,
        }
        result
    }

    /// The backstop of a bridged call (see `RedisStore::bound`).
    pub(crate) fn store_bound(&self) -> std::time::Duration {
        self.store.get().bound()
    }

    /// A Python permit from an acquisition, or `CircuitOpenError`.
    fn permit(
        &self,
        slf: &Bound<'_, Self>,
        epoch: u64,
        acquired: Result<RustPermit, Rejection>,
    ) -> PyResult<SharedPermit> {
        match acquired {
            Ok(permit) => Ok(SharedPermit::new(slf, epoch, permit)),
            Err(rejection) => Err(self.rejected(slf.py(), rejection)),
        }
    }

    /// `CircuitOpenError(name, retry_after, reason)`, as the local breaker raises it.
    pub(crate) fn rejected(&self, py: Python<'_>, rejection: Rejection) -> PyErr {
        circuit_open(py, &self.name, rejection)
    }

    /// Tells the listeners of the changes not told yet, here (see `Listeners`).
    pub(crate) fn tell(&self, py: Python<'_>) -> PyResult<()> {
        self.listeners.tell(py)
    }

    /// How a call that raised `error` counts: the local breaker's
    /// classification (`Classifier::breaker_outcome`).
    pub(crate) fn error_outcome(&self, py: Python<'_>, error: &PyErr) -> PyResult<Option<Outcome>> {
        self.classifier.breaker_outcome(py, error)
    }

    fn manual(&self, py: Python<'_>, op: Manual) -> PyResult<()> {
        let live = self.live()?;
        let breaker = live.breaker.clone();
        let done = runtime::block_on(
            py,
            live.runtime,
            async move {
                match op {
                    Manual::ForceOpen => breaker.force_open().await,
                    Manual::Disable => breaker.disable().await,
                    Manual::Reset => breaker.reset().await,
                }
            },
            self.store_bound(),
        )?;
        self.tell(py)?;
        done.map(drop).map_err(|error| unavailable(py, error))
    }
}

/// The result of an asyncio bridge: `None` (recorded).
pub(crate) fn recorded(py: Python<'_>) -> Settled {
    Ok(py.None())
}
