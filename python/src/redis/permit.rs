//! `seawall.SharedPermit`: leave to make one call through a shared breaker.

use std::sync::Mutex;

use pyo3::prelude::*;
use seawall_core::breaker::Outcome;

use super::breaker::{RustPermit, SharedCircuitBreaker, recorded};
use super::runtime::{self, Polled, epoch, poll_once};
use crate::errors::given;

/// Leave to make one call through a :class:`SharedCircuitBreaker`, from
/// ``breaker.acquire()``.
///
/// End it exactly once: ``success()``, ``failure()``, ``finish(error)``
/// (classified by the breaker's ``failure_on`` / ``exclude``) or ``release()``
/// (no outcome: a cancelled call). Later calls do nothing. A Closed outcome is
/// recorded locally and reported by the background task; a probe's goes to
/// Redis before the method returns (within the store's ``timeout``, GIL
/// released). Used as a context manager, it ends itself from the ``with``
/// block's exception. A permit that is garbage-collected unfinished is
/// released, so a cancelled call never keeps a probe slot.
#[pyclass(module = "seawall", frozen)]
pub(crate) struct SharedPermit {
    breaker: Py<SharedCircuitBreaker>,
    /// The fork epoch it was acquired in, and the Rust permit until it ends.
    permit: Mutex<Option<(u64, RustPermit)>>,
    probe: bool,
}

impl SharedPermit {
    pub(crate) fn new(
        breaker: &Bound<'_, SharedCircuitBreaker>,
        epoch: u64,
        permit: RustPermit,
    ) -> Self {
        Self {
            breaker: breaker.clone().unbind(),
            probe: permit.is_probe(),
            permit: Mutex::new(Some((epoch, permit))),
        }
    }

    /// The Rust permit, if not ended yet and acquired in this process.
    fn take(&self) -> Option<RustPermit> {
        let (acquired_in, permit) = self
            .permit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        if acquired_in != epoch() {
            // Acquired by the parent of this forked process: its runtime is gone.
            std::mem::forget(permit);
            return None;
        }
        Some(permit)
    }

    /// Ends the permit with `outcome` (`None`: released), waiting for Redis
    /// with the GIL released when it is a probe's.
    pub(crate) fn end(&self, py: Python<'_>, outcome: Option<Outcome>) -> PyResult<()> {
        let Some(permit) = self.take() else {
            return Ok(());
        };
        let breaker = self.breaker.get();
        match outcome {
            None => permit.release(),
            Some(outcome) => {
                let live = breaker.live()?;
                runtime::block_on(
                    py,
                    live.runtime,
                    async move { permit.record(outcome).await },
                    breaker.store_bound(),
                )?;
            }
        }
        breaker.tell(py)
    }

    /// Ends the permit after `error` as the local breaker would: a failure,
    /// a success or released (`Classifier::outcome`). A `BaseException` that
    /// a `failure_on` or `exclude` predicate raises releases the permit and
    /// is raised.
    pub(crate) fn finish_error(&self, py: Python<'_>, error: &PyErr) -> PyResult<()> {
        let outcome = self.error_outcome(py, error)?;
        self.end(py, outcome)
    }

    /// How the breaker counts `error`; a predicate's `BaseException` releases
    /// the permit and is returned.
    fn error_outcome(&self, py: Python<'_>, error: &PyErr) -> PyResult<Option<Outcome>> {
        self.breaker
            .get()
            .error_outcome(py, error)
            .inspect_err(|_| drop(self.take()))
    }

    /// The outcome of `finish(error)`: a success for None.
    fn outcome(
        &self,
        py: Python<'_>,
        error: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Outcome>> {
        match given(error) {
            None => Ok(Some(Outcome::Success)),
            Some(error) => self.error_outcome(py, &PyErr::from_value(error.clone())),
        }
    }
}

#[pymethods]
impl SharedPermit {
    /// Whether this permit holds a half-open probe slot (in Redis, or in the
    /// local fallback).
    #[getter]
    fn is_probe(&self) -> bool {
        self.probe
    }

    /// Whether the permit has not ended yet.
    #[getter]
    fn active(&self) -> bool {
        self.permit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Records a success.
    fn success(&self, py: Python<'_>) -> PyResult<()> {
        self.end(py, Some(Outcome::Success))
    }

    /// Records a failure.
    fn failure(&self, py: Python<'_>) -> PyResult<()> {
        self.end(py, Some(Outcome::Failure))
    }

    /// Ends the permit from how the call ended: ``None`` is a success; an
    /// exception counts as the breaker's ``failure_on`` / ``exclude`` say (as
    /// a local breaker's would: a failure, a success, or released).
    fn finish(&self, py: Python<'_>, error: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let outcome = self.outcome(py, error)?;
        self.end(py, outcome)
    }

    /// As ``finish``, for ``async`` code: ``None`` when recorded at once, else
    /// an asyncio future that is done once Redis has the probe's outcome.
    fn _finish_async<'py>(
        &self,
        py: Python<'py>,
        error: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let outcome = self.outcome(py, error)?;
        let Some(permit) = self.take() else {
            return Ok(None);
        };
        let breaker = self.breaker.get();
        let Some(outcome) = outcome else {
            permit.release();
            return breaker.tell(py).map(|()| None);
        };
        let live = breaker.live()?;
        match poll_once(live.runtime, async move { permit.record(outcome).await })? {
            Polled::Ready(_) => breaker.tell(py).map(|()| None),
            Polled::Pending(future) => {
                let owner = self.breaker.clone_ref(py);
                runtime::settle_later(py, live.runtime, future, move |py, _| {
                    owner.get().tell(py)?;
                    recorded(py)
                })
                .map(Some)
            }
        }
    }

    /// Releases the permit without an outcome (what cancellation does).
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        self.end(py, None)
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
        format!(
            "SharedPermit(is_probe={}, active={})",
            self.probe,
            self.active()
        )
    }
}

impl Drop for SharedPermit {
    fn drop(&mut self) {
        let taken = self
            .permit
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((acquired_in, permit)) = taken {
            if acquired_in == epoch() {
                // Released: a probe's slot is freed in the background.
                drop(permit);
            } else {
                std::mem::forget(permit);
            }
        }
    }
}
