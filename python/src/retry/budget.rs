//! `seawall.RetryBudget`: the core's gRPC-style retry budget.

use pyo3::prelude::*;

use crate::errors::{config_error, count};

/// A retry budget shared by the calls to one dependency: gRPC-style retry
/// throttling, so retries cannot multiply the load during an outage.
///
/// The bucket starts with ``max_tokens``; each retryable failure takes one,
/// each success returns ``token_ratio`` of one, and retries are allowed only
/// while more than half of ``max_tokens`` remain. Pass it as ``budget=`` to
/// one or more :class:`Retry` policies.
#[pyclass(module = "seawall", frozen)]
pub(crate) struct RetryBudget {
    pub(crate) inner: seawall_core::RetryBudget,
}

#[pymethods]
impl RetryBudget {
    #[new]
    #[pyo3(signature = (max_tokens = None, token_ratio = None))]
    fn new(
        max_tokens: Option<&Bound<'_, PyAny>>,
        token_ratio: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let max_tokens = match max_tokens.filter(|v| !v.is_none()) {
            Some(v) => count(v, "max_tokens")?,
            None => 10,
        };
        let token_ratio = match token_ratio.filter(|v| !v.is_none()) {
            Some(v) => crate::errors::ratio(v, "token_ratio")?,
            None => 0.1,
        };
        let inner =
            seawall_core::RetryBudget::new(max_tokens, token_ratio).map_err(config_error)?;
        Ok(Self { inner })
    }

    /// The tokens left now.
    #[getter]
    fn tokens(&self) -> f64 {
        self.inner.tokens()
    }

    /// The capacity of the bucket.
    #[getter]
    fn max_tokens(&self) -> u32 {
        self.inner.max_tokens()
    }

    /// The share of a token each success returns.
    #[getter]
    fn token_ratio(&self) -> f64 {
        self.inner.token_ratio()
    }

    /// Whether a retry is allowed now (more than half of the tokens remain).
    #[getter]
    fn allows_retry(&self) -> bool {
        self.inner.allows_retry()
    }

    /// Fills the bucket again.
    fn reset(&self) {
        self.inner.reset();
    }

    fn __repr__(&self) -> String {
        format!(
            "RetryBudget(max_tokens={}, token_ratio={}, tokens={})",
            self.max_tokens(),
            self.token_ratio(),
            self.tokens()
        )
    }
}
