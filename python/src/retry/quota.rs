//! `seawall.RetryQuota`: the core's AWS-style retry quota.

use pyo3::prelude::*;

use crate::errors::{config_error, count, given};

/// A retry quota shared by the calls to one dependency, as in the AWS SDKs'
/// standard retry mode: each retry costs by the kind of its error
/// (``transient_cost`` 14, ``timeout_cost`` 14 for a ``TimeoutError``,
/// ``throttling_cost`` 5 for an error matching the policy's ``throttle_on``),
/// and is not made when the quota cannot pay; a call that succeeds pays its last
/// retry back (or ``success_reward`` when it did not retry). Pass it as
/// ``quota=`` to one or more :class:`Retry` policies.
#[pyclass(module = "seawall", frozen)]
pub(crate) struct RetryQuota {
    pub(crate) inner: seawall_core::retry::RetryQuota,
}

#[pymethods]
impl RetryQuota {
    #[new]
    #[pyo3(signature = (capacity = None, *, transient_cost = None, throttling_cost = None, timeout_cost = None, success_reward = None))]
    fn new(
        capacity: Option<&Bound<'_, PyAny>>,
        transient_cost: Option<&Bound<'_, PyAny>>,
        throttling_cost: Option<&Bound<'_, PyAny>>,
        timeout_cost: Option<&Bound<'_, PyAny>>,
        success_reward: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let d = seawall_core::retry::QuotaCosts::DEFAULT;
        let or = |value: Option<&Bound<'_, PyAny>>, name: &str, default: u32| match given(value) {
            Some(v) => count(v, name),
            None => Ok(default),
        };
        let capacity = or(
            capacity,
            "capacity",
            seawall_core::retry::RetryQuota::STANDARD_CAPACITY,
        )?;
        let costs = seawall_core::retry::QuotaCosts {
            transient: or(transient_cost, "transient_cost", d.transient)?,
            throttling: or(throttling_cost, "throttling_cost", d.throttling)?,
            timeout: or(timeout_cost, "timeout_cost", d.timeout)?,
            success: or(success_reward, "success_reward", d.success)?,
        };
        let inner = seawall_core::retry::RetryQuota::new(capacity, costs).map_err(config_error)?;
        Ok(Self { inner })
    }

    /// The capacity left now.
    #[getter]
    fn available(&self) -> u32 {
        self.inner.available()
    }

    /// The capacity of the quota.
    #[getter]
    fn capacity(&self) -> u32 {
        self.inner.capacity()
    }

    /// Fills the quota again.
    fn reset(&self) {
        self.inner.reset();
    }

    fn __repr__(&self) -> String {
        format!(
            "RetryQuota(capacity={}, available={})",
            self.capacity(),
            self.available()
        )
    }
}
