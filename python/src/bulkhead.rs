//! `seawall.Bulkhead`: the core's count of calls in flight, with wakers for the
//! callers that wait for a place (threads and asyncio tasks alike).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyString;
use seawall_core::bulkhead::BulkheadTicket;

use crate::errors::{Exception, config_error, count, seconds, secs};

/// A bulkhead: at most ``max_concurrent`` calls in flight at once, so one slow
/// dependency cannot take every thread or task.
///
/// A call that finds every place taken waits up to ``max_wait`` seconds for one
/// (threads block, asyncio tasks await), then raises :class:`BulkheadFullError`.
/// Use it as a decorator (``def`` and ``async def``), as ``with`` / ``async with``,
/// or take a :class:`BulkheadPermit` with ``try_enter()`` / ``enter()`` /
/// ``await enter_async()``. A permit whose task is cancelled, or that is
/// garbage-collected, gives its place back.
///
/// Args:
///     max_concurrent: Calls in flight at once (at least 1).
///     max_wait: Seconds a call waits for a place (default 0: reject at once).
///     name: The bulkhead's name, in errors.
#[pyclass(module = "seawall._seawall", name = "Bulkhead", subclass, frozen)]
pub(crate) struct Bulkhead {
    core: seawall_core::Bulkhead,
    name: Py<PyString>,
    max_wait: f64,
    /// Callables of the callers waiting for a place; one is called, outside
    /// the lock, each time a place is given back.
    wakers: Mutex<VecDeque<Py<PyAny>>>,
    waiting: AtomicUsize,
}

#[pymethods]
impl Bulkhead {
    #[new]
    #[pyo3(signature = (max_concurrent, *, max_wait = None, name = None))]
    fn new(
        py: Python<'_>,
        max_concurrent: &Bound<'_, PyAny>,
        max_wait: Option<&Bound<'_, PyAny>>,
        name: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let core = seawall_core::Bulkhead::new(count(max_concurrent, "max_concurrent")?)
            .map_err(config_error)?;
        let max_wait = match max_wait.filter(|v| !v.is_none()) {
            Some(v) => secs(seconds(v, "max_wait")?),
            None => 0.0,
        };
        Ok(Self {
            core,
            name: crate::errors::name_arg(py, name, "bulkhead")?,
            max_wait,
            wakers: Mutex::new(VecDeque::new()),
            waiting: AtomicUsize::new(0),
        })
    }

    /// A place if one is free now, else None; never waits.
    fn try_enter(slf: &Bound<'_, Self>) -> Option<BulkheadPermit> {
        let ticket = slf.get().core.try_enter_ticket().ok()?;
        Some(BulkheadPermit {
            bulkhead: slf.clone().unbind(),
            ticket: Mutex::new(Some(ticket)),
        })
    }

    /// The most calls in flight at once.
    #[getter]
    fn max_concurrent(&self) -> u32 {
        self.core.max_concurrent()
    }

    /// The calls in flight now.
    #[getter]
    fn in_flight(&self) -> u32 {
        self.core.in_flight()
    }

    /// The places free now.
    #[getter]
    fn available(&self) -> u32 {
        self.core.available()
    }

    /// Seconds a call waits for a place.
    #[getter]
    fn max_wait(&self) -> f64 {
        self.max_wait
    }

    /// The bulkhead's name.
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// ``BulkheadFullError(name, max_concurrent)``.
    fn _full<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        Exception::BulkheadFull
            .err(py, (self.name.clone_ref(py), self.core.max_concurrent()))
            .into_value(py)
            .into_bound(py)
            .into_any()
    }

    /// Registers ``waker``, called once when a place is given back.
    fn _add_waker(&self, waker: Py<PyAny>) {
        let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        wakers.push_back(waker);
        self.waiting.store(wakers.len(), Ordering::Release);
    }

    /// Unregisters ``waker``; False if it was already called (or never added).
    fn _remove_waker(&self, waker: &Bound<'_, PyAny>) -> bool {
        let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        let before = wakers.len();
        wakers.retain(|w| !w.is(waker));
        self.waiting.store(wakers.len(), Ordering::Release);
        wakers.len() != before
    }

    /// Calls the oldest waker, if any (a place may be free).
    fn _wake_one(&self, py: Python<'_>) {
        self.wake_one(py);
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Bulkhead({:?}, max_concurrent={}, in_flight={})",
            self.name.bind(py).to_string(),
            self.max_concurrent(),
            self.in_flight()
        )
    }
}

impl Bulkhead {
    fn wake_one(&self, py: Python<'_>) {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return;
        }
        loop {
            let waker = {
                let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
                let waker = wakers.pop_front();
                self.waiting.store(wakers.len(), Ordering::Release);
                waker
            };
            let Some(waker) = waker else { return };
            let waker = waker.bind(py);
            match waker.call0() {
                Ok(_) => return,
                // A waker that cannot run (its event loop is closed) passes the wake on.
                Err(error) => error.write_unraisable(py, Some(waker)),
            }
        }
    }

    fn release(&self, py: Python<'_>, ticket: BulkheadTicket) {
        self.core.release(ticket);
        self.wake_one(py);
    }
}

/// A place in a :class:`Bulkhead`, given back by ``release()``, at the end of
/// its ``with`` block, or when it is garbage-collected.
#[pyclass(module = "seawall", frozen)]
pub(crate) struct BulkheadPermit {
    bulkhead: Py<Bulkhead>,
    ticket: Mutex<Option<BulkheadTicket>>,
}

#[pymethods]
impl BulkheadPermit {
    /// Gives the place back (once; later calls do nothing).
    fn release(&self, py: Python<'_>) {
        let ticket = self.ticket.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(ticket) = ticket {
            self.bulkhead.get().release(py, ticket);
        }
    }

    /// Whether the place is still held.
    #[getter]
    fn active(&self) -> bool {
        self.ticket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Returns the permit itself, for ``with bulkhead.enter():``.
    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Gives the place back.
    #[pyo3(signature = (_exc_type, _exc, _traceback))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> bool {
        self.release(py);
        false
    }

    fn __repr__(&self) -> String {
        format!("BulkheadPermit(active={})", self.active())
    }
}

impl Drop for BulkheadPermit {
    fn drop(&mut self) {
        let ticket = self
            .ticket
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(ticket) = ticket {
            Python::attach(|py| self.bulkhead.get().release(py, ticket));
        }
    }
}
