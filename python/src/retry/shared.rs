//! What bounds retries (and hedges) across calls: a retry budget or a retry
//! quota, at most one of the two, shared between the policies given it.

use pyo3::prelude::*;
use seawall_core::retry::Allowance;

use super::{RetryBudget, RetryQuota};
use crate::errors::{given, invalid, wrong_type};

/// A policy's `budget=` or `quota=` argument, checked.
pub(crate) struct SharedAllowance {
    pub(crate) budget: Option<Py<RetryBudget>>,
    pub(crate) quota: Option<Py<RetryQuota>>,
}

impl SharedAllowance {
    /// From the arguments of a policy whose `what` (retries, hedges) they bound.
    pub(crate) fn from_args(
        budget: Option<&Bound<'_, PyAny>>,
        quota: Option<&Bound<'_, PyAny>>,
        what: &str,
    ) -> PyResult<Self> {
        let budget = match given(budget) {
            Some(v) => Some(
                v.cast::<RetryBudget>()
                    .map_err(|_| wrong_type("budget", "a seawall.RetryBudget or None", v))?
                    .clone()
                    .unbind(),
            ),
            None => None,
        };
        let quota = match given(quota) {
            Some(_) if budget.is_some() => {
                return Err(invalid(
                    "quota",
                    format!("must not be given with a budget: one of the two bounds {what}"),
                ));
            }
            Some(v) => Some(
                v.cast::<RetryQuota>()
                    .map_err(|_| wrong_type("quota", "a seawall.RetryQuota or None", v))?
                    .clone()
                    .unbind(),
            ),
            None => None,
        };
        Ok(Self { budget, quota })
    }

    /// The core's view of it.
    pub(crate) fn allowance(&self) -> Allowance<'_> {
        match (&self.budget, &self.quota) {
            (Some(budget), _) => Allowance::Budget(&budget.get().inner),
            (None, Some(quota)) => Allowance::Quota(&quota.get().inner),
            (None, None) => Allowance::None,
        }
    }

    /// The budget, for the policy's `budget` property.
    pub(crate) fn budget(&self, py: Python<'_>) -> Option<Py<RetryBudget>> {
        self.budget.as_ref().map(|b| b.clone_ref(py))
    }

    /// The quota, for the policy's `quota` property.
    pub(crate) fn quota(&self, py: Python<'_>) -> Option<Py<RetryQuota>> {
        self.quota.as_ref().map(|q| q.clone_ref(py))
    }
}
