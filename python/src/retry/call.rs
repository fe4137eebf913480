//! Calls under a `Retry`: the sync loop (all in Rust), the per-call state of
//! the `async def` loop, and the wrapper of decorated `def` functions.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use seawall_core::retry::{GiveUp, RetryState};

use super::Retry;
use crate::errors::secs;
use crate::wrapper::{Deferred, deferred, deferred_error, wrapper};

/// What to use instead of a sync call under a retry.
fn advice(kind: Deferred) -> &'static str {
    match kind {
        Deferred::Coroutine => {
            "await retry.call_async(fn, ...) instead, or decorate the async def function itself"
        }
        Deferred::Generator => "a retry cannot retry an iteration: retry the code that iterates it",
    }
}

/// The sync retry loop.
pub(crate) fn run<'py>(
    slf: &Bound<'py, Retry>,
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = slf.py();
    let retry = slf.get();
    let mut state = retry.policy.start(&retry.clock);
    let mut history = Vec::new();
    loop {
        retry.pace(py)?;
        match func.call(args, kwargs) {
            Ok(value) => {
                if let Some(kind) = deferred(&value)? {
                    return Err(deferred_error(&value, func, kind, advice(kind)));
                }
                retry.succeeded(&state);
                return Ok(value);
            }
            Err(error) => {
                let number = state.attempt();
                match retry.decide(py, &mut state, &error)? {
                    Ok(delay) => {
                        retry.retried(py, &mut history, number, &error, delay)?;
                        retry.clock.sleep(py, delay)?;
                    }
                    Err(reason) => {
                        Retry::gave_up(py, history, number, &error, reason);
                        return Err(error);
                    }
                }
            }
        }
    }
}

/// One logical call of an ``async def`` function under a :class:`Retry`.
#[pyclass(module = "seawall")]
pub(crate) struct RetryCall {
    pub(super) retry: Py<Retry>,
    pub(super) state: RetryState,
    pub(super) history: Vec<Py<PyAny>>,
    pub(super) give_up: Option<GiveUp>,
}

#[pymethods]
impl RetryCall {
    /// The attempt in progress (1 for the first call).
    #[getter]
    fn attempt(&self) -> u32 {
        self.state.attempt()
    }

    /// The decision after ``error``: seconds to wait before the next attempt,
    /// or None to give up (the error then carries its ``retry_history``).
    fn failed(&mut self, py: Python<'_>, error: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
        let error = PyErr::from_value(error.clone());
        let retry = self.retry.get();
        let number = self.state.attempt();
        match retry.decide(py, &mut self.state, &error)? {
            Ok(delay) => {
                retry.retried(py, &mut self.history, number, &error, delay)?;
                Ok(Some(secs(delay)))
            }
            Err(reason) => {
                Retry::gave_up(
                    py,
                    std::mem::take(&mut self.history),
                    number,
                    &error,
                    reason,
                );
                self.give_up = Some(reason);
                Ok(None)
            }
        }
    }

    /// Why the policy gave up, once ``failed`` answered None: ``"attempts_exhausted"``,
    /// ``"deadline_reached"``, ``"budget_empty"`` or ``"not_retryable"``.
    #[getter]
    fn give_up(&self) -> Option<&'static str> {
        self.give_up.map(GiveUp::as_str)
    }

    /// Records the call's success at its current attempt (counts it, pays
    /// the budget or quota back and tells the adaptive rate).
    fn succeeded(&self) {
        self.retry.get().succeeded(&self.state);
    }
}

wrapper! {
    /// A function decorated with a :class:`Retry`: calls it with retries.
    ///
    /// ``__wrapped__`` is the original function; it binds as a method.
    Retrying {
        retry: Retry,
        getter_doc: "The policy the function is retried by.",
        call: run,
        repr: "retrying",
    }
}
