//! What a retry policy shares between its calls: the budget or the quota that
//! bounds retries, and the adaptive rate that paces every attempt.

use std::sync::Arc;

use seawall_core::retry::{AdaptiveRate, Allowance, ErrorKind, Failure, RetryBudget, RetryQuota};

use crate::clock::TokioClock;

#[derive(Clone, Default)]
pub(crate) struct Shared {
    pub(crate) budget: Option<Arc<RetryBudget>>,
    pub(crate) quota: Option<Arc<RetryQuota>>,
    pub(crate) rate: Option<Arc<AdaptiveRate>>,
}

impl Shared {
    /// What bounds retries across calls (the budget wins if, invalidly, both
    /// are set: `validate` refuses that).
    #[inline]
    pub(crate) fn allowance(&self) -> Allowance<'_> {
        match (&self.budget, &self.quota) {
            (Some(budget), _) => Allowance::Budget(budget),
            (None, Some(quota)) => Allowance::Quota(quota),
            (None, None) => Allowance::None,
        }
    }

    /// Whether attempts wait for an adaptive rate ([`pace`](Self::pace)).
    #[inline]
    pub(crate) fn paces(&self) -> bool {
        self.rate.is_some()
    }

    /// Waits, before an attempt, until the adaptive rate lets it go.
    pub(crate) async fn pace(&self) {
        if let Some(rate) = &self.rate {
            while let Err(wait) = rate.try_acquire(&TokioClock) {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Tells the adaptive rate how an attempt ended: `failure` for an error.
    #[inline]
    pub(crate) fn observe(&self, failure: Option<&Failure>) {
        if let Some(rate) = &self.rate {
            let throttled = failure.is_some_and(|f| f.kind == ErrorKind::Throttling);
            rate.on_response(&TokioClock, throttled);
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("budget", &self.budget)
            .field("quota", &self.quota)
            .field("rate", &self.rate)
            .finish()
    }
}
