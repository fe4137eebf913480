//! `seawall.Bulkhead`: the core's count of calls in flight, with a first come,
//! first served queue of the callers that wait for a place (threads and
//! asyncio tasks alike).
//!
//! Fairness: a place given back while callers wait is handed to the first of
//! them directly, never returned to the count, so a newcomer cannot take it
//! first; and a newcomer queues behind the waiters rather than take a place
//! that is free for an instant. How long a caller waits is the core's
//! `wait::Wait`, measured on the monotonic clock.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyString;
use seawall_core::bulkhead::BulkheadTicket;
use seawall_core::wait::{Turn, Wait};

use crate::clock::ClockSource;
use crate::errors::{Exception, callable, config_error, count, seconds, secs};

/// A bulkhead: at most ``max_concurrent`` calls in flight at once, so one slow
/// dependency cannot take every thread or task.
///
/// A call that finds every place taken waits up to ``max_wait`` seconds for one
/// (threads block, asyncio tasks await), then raises :class:`BulkheadFullError`.
/// Waiters are served first come, first served: a place given back goes to the
/// caller that has waited longest. Use it as a decorator (``def``, ``async
/// def`` and generator functions, whose place is held until the iteration
/// ends), as ``with`` / ``async with``, or take a :class:`BulkheadPermit` with
/// ``try_enter()`` / ``enter()`` / ``await enter_async()``. A permit whose task
/// is cancelled, or that is garbage-collected, gives its place back.
///
/// Args:
///     max_concurrent: Calls in flight at once (at least 1).
///     max_wait: Seconds a call waits for a place (default 0: reject at once).
///     name: The bulkhead's name, in errors.
#[pyclass(module = "seawall._seawall", name = "Bulkhead", subclass, frozen)]
pub(crate) struct Bulkhead {
    core: seawall_core::Bulkhead,
    name: Py<PyString>,
    max_wait: Duration,
    /// The callers waiting for a place, first come first.
    queue: Mutex<VecDeque<Py<Queued>>>,
    /// The queue's length, read without the lock on every `try_enter`.
    queued: AtomicUsize,
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
            Some(v) => seconds(v, "max_wait")?,
            None => Duration::ZERO,
        };
        Ok(Self {
            core,
            name: crate::errors::name_arg(py, name, "bulkhead")?,
            max_wait,
            queue: Mutex::new(VecDeque::new()),
            queued: AtomicUsize::new(0),
        })
    }

    /// A place if one is free now and nobody waits for one, else None; never
    /// waits.
    fn try_enter(slf: &Bound<'_, Self>) -> Option<BulkheadPermit> {
        let bulkhead = slf.get();
        if bulkhead.queued.load(Ordering::Acquire) > 0 {
            return None;
        }
        let ticket = bulkhead.core.try_enter_ticket().ok()?;
        Some(BulkheadPermit::new(slf, ticket))
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

    /// The callers waiting for a place now.
    #[getter]
    fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Seconds a call waits for a place.
    #[getter]
    fn max_wait(&self) -> f64 {
        secs(self.max_wait)
    }

    /// The bulkhead's name.
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// ``BulkheadFullError(name, max_concurrent)``.
    fn _full<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.full(py).into_value(py).into_bound(py).into_any()
    }

    /// Queues a caller that found no place: ``wake()`` is called (from any
    /// thread) when a place is handed to it. Raises :class:`BulkheadFullError`
    /// at once when the bulkhead does not wait (``max_wait`` of 0).
    fn _queue(slf: &Bound<'_, Self>, wake: &Bound<'_, PyAny>) -> PyResult<Py<Queued>> {
        let py = slf.py();
        let bulkhead = slf.get();
        let wait = Wait::start(bulkhead.max_wait, &ClockSource::Monotonic);
        if wait.next(None, &ClockSource::Monotonic) == Turn::GiveUp {
            return Err(bulkhead.full(py));
        }
        let queued = Py::new(
            py,
            Queued {
                bulkhead: slf.clone().unbind(),
                wake: callable(wake, "wake")?,
                wait,
                place: Mutex::new(Place::Waiting),
            },
        )?;
        bulkhead.lock().push_back(queued.clone_ref(py));
        bulkhead.sync_len();
        // A place may have been given back since the caller found none.
        while let Ok(ticket) = bulkhead.core.try_enter_ticket() {
            bulkhead.hand_on(py, ticket);
            if bulkhead.queued.load(Ordering::Acquire) == 0 {
                break;
            }
        }
        Ok(queued)
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
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Py<Queued>>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sync_len(&self) {
        let len = self.lock().len();
        self.queued.store(len, Ordering::Release);
    }

    fn full(&self, py: Python<'_>) -> PyErr {
        Exception::BulkheadFull.err(py, (self.name.clone_ref(py), self.core.max_concurrent()))
    }

    /// Gives a place back: to the first waiting caller if there is one,
    /// else to the count. Wakers run outside the lock.
    fn hand_on(&self, py: Python<'_>, mut ticket: BulkheadTicket) {
        loop {
            let next = {
                let mut queue = self.lock();
                let next = queue.pop_front();
                self.queued.store(queue.len(), Ordering::Release);
                next
            };
            let Some(waiter) = next else {
                self.core.release(ticket);
                return;
            };
            let waiter = waiter.get();
            {
                let mut place = waiter.place();
                if !matches!(*place, Place::Waiting) {
                    continue; // left the queue meanwhile
                }
                *place = Place::Handed(ticket);
            }
            let woken = waiter.wake.bind(py).call0();
            let Err(error) = woken else { return };
            // A waker that cannot run (its event loop is closed): that caller
            // is gone, and the place goes on to the next.
            error.write_unraisable(py, Some(waiter.wake.bind(py)));
            match std::mem::replace(&mut *waiter.place(), Place::Gone) {
                Place::Handed(back) => ticket = back,
                _ => return,
            }
        }
    }
}

/// What a queued caller holds.
enum Place {
    /// Still in the queue.
    Waiting,
    /// A place handed over, not yet taken.
    Handed(BulkheadTicket),
    /// Out of the queue, with nothing to take.
    Gone,
}

/// A caller in a :class:`Bulkhead`'s queue: ``permit()`` takes the place
/// handed to it, if any; ``next()`` says how long to wait before looking
/// again (None: give up); ``leave()`` ends the wait, passing on a place handed
/// over meanwhile.
#[pyclass(module = "seawall", frozen)]
pub(crate) struct Queued {
    bulkhead: Py<Bulkhead>,
    wake: Py<PyAny>,
    wait: Wait,
    place: Mutex<Place>,
}

impl Queued {
    fn place(&self) -> std::sync::MutexGuard<'_, Place> {
        self.place.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl Queued {
    /// The place handed to this caller, if one was: a :class:`BulkheadPermit`.
    fn permit(&self, py: Python<'_>) -> Option<BulkheadPermit> {
        let mut place = self.place();
        match std::mem::replace(&mut *place, Place::Gone) {
            Place::Handed(ticket) => Some(BulkheadPermit::new(self.bulkhead.bind(py), ticket)),
            other => {
                *place = other;
                None
            }
        }
    }

    /// Seconds to wait for a place before looking again, or None: the
    /// bulkhead's ``max_wait`` is spent.
    fn next(&self) -> Option<f64> {
        match self.wait.next(None, &ClockSource::Monotonic) {
            Turn::Sleep(at_most) => Some(secs(at_most)),
            Turn::GiveUp => None,
        }
    }

    /// Leaves the queue; a place handed over in the meantime goes on to the
    /// next caller.
    fn leave(slf: &Bound<'_, Self>) {
        let py = slf.py();
        let queued = slf.get();
        let bulkhead = queued.bulkhead.get();
        bulkhead.lock().retain(|waiter| !waiter.is(slf));
        bulkhead.sync_len();
        let left = std::mem::replace(&mut *queued.place(), Place::Gone);
        if let Place::Handed(ticket) = left {
            bulkhead.hand_on(py, ticket);
        }
    }
}

/// A place in a :class:`Bulkhead`, given back by ``release()``, at the end of
/// its ``with`` block, or when it is garbage-collected.
#[pyclass(module = "seawall", frozen)]
pub(crate) struct BulkheadPermit {
    bulkhead: Py<Bulkhead>,
    ticket: Mutex<Option<BulkheadTicket>>,
}

impl BulkheadPermit {
    fn new(bulkhead: &Bound<'_, Bulkhead>, ticket: BulkheadTicket) -> Self {
        Self {
            bulkhead: bulkhead.clone().unbind(),
            ticket: Mutex::new(Some(ticket)),
        }
    }
}

#[pymethods]
impl BulkheadPermit {
    /// Gives the place back (once; later calls do nothing).
    fn release(&self, py: Python<'_>) {
        let ticket = self.ticket.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(ticket) = ticket {
            self.bulkhead.get().hand_on(py, ticket);
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
            Python::attach(|py| self.bulkhead.get().hand_on(py, ticket));
        }
    }
}
