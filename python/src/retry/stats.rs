//! How the calls of a `Retry` ended: four counters, one relaxed addition per call.

use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;

/// The counters kept by a policy.
#[derive(Default)]
pub(crate) struct Counts([AtomicU64; 4]);

impl Counts {
    /// A call succeeded at attempt `attempt` (1: without any retry).
    #[inline]
    pub(crate) fn succeeded(&self, attempt: u32) {
        self.0[usize::from(attempt > 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// The policy gave up on a call after attempt `attempt`.
    pub(crate) fn gave_up(&self, attempt: u32) {
        self.0[if attempt > 1 { 2 } else { 3 }].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RetryStats {
        let [a, b, c, d] = &self.0;
        RetryStats {
            successful_without_retry: a.load(Ordering::Relaxed),
            successful_with_retry: b.load(Ordering::Relaxed),
            failed_with_retry: c.load(Ordering::Relaxed),
            failed_without_retry: d.load(Ordering::Relaxed),
        }
    }
}

/// How the calls of a :class:`Retry` ended, since it was created (the kinds
/// of the metric ``seawall_retry_calls_total``).
#[pyclass(module = "seawall", frozen, eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct RetryStats {
    /// Calls that succeeded at the first attempt.
    #[pyo3(get)]
    successful_without_retry: u64,
    /// Calls that succeeded after one or more retries.
    #[pyo3(get)]
    successful_with_retry: u64,
    /// Calls that failed after one or more retries.
    #[pyo3(get)]
    failed_with_retry: u64,
    /// Calls that failed at the first attempt without a retry (not worth
    /// retrying, or no budget or time left).
    #[pyo3(get)]
    failed_without_retry: u64,
}

#[pymethods]
impl RetryStats {
    /// Calls counted, of every kind.
    #[getter]
    fn total(&self) -> u64 {
        self.successful_without_retry
            .saturating_add(self.successful_with_retry)
            .saturating_add(self.failed_with_retry)
            .saturating_add(self.failed_without_retry)
    }

    fn __repr__(&self) -> String {
        format!(
            "RetryStats(successful_without_retry={}, successful_with_retry={}, \
             failed_with_retry={}, failed_without_retry={})",
            self.successful_without_retry,
            self.successful_with_retry,
            self.failed_with_retry,
            self.failed_without_retry
        )
    }
}
