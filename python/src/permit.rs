//! Calls through a breaker: the owned `Permit` guard, the guarded call of
//! `breaker.call` and the decorator's wrapper (see `wrapper`), all in Rust so
//! that a call in the Closed state runs no Python frame of ours.

use std::sync::Mutex;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use seawall_core::breaker::{Outcome, Ticket};
use seawall_core::time::Instant;

use crate::breaker::{CircuitBreaker, admit};
use crate::errors::seconds;
use crate::wrapper::{Deferred, deferred, deferred_error, wrapper};

/// Leave to make one call through a :class:`CircuitBreaker`, from
/// ``breaker.acquire()``.
///
/// End it exactly once: ``success()``, ``failure()``, ``finish(error)``
/// (classified by the breaker's ``failure_on`` / ``exclude``) or ``release()``
/// (no outcome: a cancelled call). Later calls do nothing. Used as a context
/// manager, it ends itself from the ``with`` block's exception. A permit that
/// is garbage-collected unfinished is released, so a cancelled task never keeps
/// a half-open probe slot.
#[pyclass(module = "seawall", frozen)]
pub(crate) struct Permit {
    breaker: Py<CircuitBreaker>,
    ticket: Mutex<Option<Ticket>>,
    started: Option<Instant>,
    probe: bool,
}

impl Permit {
    /// A permit for `ticket`; without one (a call a shadow breaker would have
    /// rejected), a permit that records nothing.
    pub(crate) fn new(breaker: &Bound<'_, CircuitBreaker>, ticket: Option<Ticket>) -> Self {
        Self {
            breaker: breaker.clone().unbind(),
            probe: ticket.as_ref().is_some_and(Ticket::is_probe),
            ticket: Mutex::new(ticket),
            started: breaker.get().start(),
        }
    }

    fn take(&self) -> Option<Ticket> {
        self.ticket.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn latency(&self, latency: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
        match latency.filter(|l| !l.is_none()) {
            Some(latency) => seconds(latency, "latency").map(Some),
            None => Ok(self.breaker.get().latency(self.started)),
        }
    }

    fn end(&self, py: Python<'_>, outcome: Outcome, latency: Option<Duration>) -> PyResult<()> {
        match self.take() {
            Some(ticket) => CircuitBreaker::record(self.breaker.bind(py), ticket, outcome, latency),
            None => Ok(()),
        }
    }
}

#[pymethods]
impl Permit {
    /// Whether this permit holds a half-open probe slot.
    #[getter]
    fn is_probe(&self) -> bool {
        self.probe
    }

    /// Whether the permit has not ended yet.
    #[getter]
    fn active(&self) -> bool {
        self.ticket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Records a success. ``latency`` (seconds) defaults to the time since the
    /// permit was acquired; a call slower than ``slow_call_duration`` is slow.
    #[pyo3(signature = (latency = None))]
    fn success(&self, py: Python<'_>, latency: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let latency = self.latency(latency)?;
        self.end(py, Outcome::Success, latency)
    }

    /// Records a failure (``latency`` as in ``success``).
    #[pyo3(signature = (latency = None))]
    fn failure(&self, py: Python<'_>, latency: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let latency = self.latency(latency)?;
        self.end(py, Outcome::Failure, latency)
    }

    /// Ends the permit from how the call ended: ``None`` is a success; an
    /// exception counts as the breaker's ``failure_on`` and ``exclude`` say (a
    /// failure, a success, or released unrecorded).
    pub(crate) fn finish(&self, py: Python<'_>, error: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        match error.filter(|e| !e.is_none()) {
            None => self.success(py, None),
            Some(error) => {
                let error = PyErr::from_value(error.clone());
                match self.take() {
                    Some(ticket) => {
                        let latency = self.breaker.get().latency(self.started);
                        CircuitBreaker::record_error(self.breaker.bind(py), ticket, &error, latency)
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// Releases the permit without an outcome (what cancellation does).
    fn release(&self) {
        if let Some(ticket) = self.take() {
            self.breaker.get().core.release(ticket);
        }
    }

    /// Returns the permit itself, for ``with breaker.acquire() as permit:``.
    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Ends the permit from the block's exception (see ``finish``).
    #[pyo3(signature = (_exc_type, exc, _traceback))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.finish(py, Some(exc))?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("Permit(is_probe={}, active={})", self.probe, self.active())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let ticket = self
            .ticket
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(ticket) = ticket {
            self.breaker.get().core.release(ticket);
        }
    }
}

/// `fn_(*args, **kwargs)` through `breaker`: the whole call in Rust.
#[inline]
pub(crate) fn guarded_call<'py>(
    breaker: &Bound<'py, CircuitBreaker>,
    fn_: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(ticket) = admit(breaker)? else {
        // A shadow breaker would have rejected it: it runs, unrecorded.
        return fn_.call(args, kwargs);
    };
    let core = breaker.get();
    let started = core.start();
    let result = fn_.call(args, kwargs);
    let latency = core.latency(started);
    match result {
        Ok(value) => {
            if let Some(kind) = deferred(&value)? {
                // The call has not run yet: it says nothing of the dependency.
                core.core.release(ticket);
                return Err(deferred_error(&value, fn_, kind, advice(kind)));
            }
            CircuitBreaker::record(breaker, ticket, Outcome::Success, latency)?;
            Ok(value)
        }
        Err(error) => {
            CircuitBreaker::record_error(breaker, ticket, &error, latency)?;
            Err(error)
        }
    }
}

/// What to use instead of a sync call through a breaker (local or shared).
pub(crate) fn advice(kind: Deferred) -> &'static str {
    match kind {
        Deferred::Coroutine => {
            "await breaker.call_async(fn, ...) instead, or decorate the async def function itself"
        }
        Deferred::Generator => {
            "decorate the generator function itself with the breaker, which records how its \
             iteration ends"
        }
    }
}

wrapper! {
    /// A function decorated with a :class:`CircuitBreaker`: calls it through the breaker.
    ///
    /// ``__wrapped__`` is the original function; it binds as a method.
    Guarded {
        breaker: CircuitBreaker,
        getter_doc: "The breaker the function is called through.",
        call: guarded_call,
        repr: "guarded",
    }
}
