//! The retry quota: a bucket of capacity shared by every call, where each retry
//! costs by the kind of error that caused it and a success pays back.

use core::fmt;

use crate::error::ConfigError;
use crate::sync::{AtomicU32, Ordering};

/// The kind of error a failed attempt ended with, which sets what a retry of it
/// costs in a [`RetryQuota`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ErrorKind {
    /// A transient error: a 500, a reset connection (the default).
    #[default]
    Transient,
    /// The dependency asked the caller to slow down: a 429, a 503 with
    /// Retry-After, a "throttled" error code.
    Throttling,
    /// The attempt timed out.
    Timeout,
}

impl ErrorKind {
    /// `transient`, `throttling` or `timeout`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Throttling => "throttling",
            ErrorKind::Timeout => "timeout",
        }
    }

    /// The kind named `name` (as in [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        [
            ErrorKind::Transient,
            ErrorKind::Throttling,
            ErrorKind::Timeout,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What each event costs or pays back in a [`RetryQuota`], in units of capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct QuotaCosts {
    /// A retry after a transient error (default 14).
    pub transient: u32,
    /// A retry after a throttling error (default 5: the wait the dependency
    /// asked for is the protection, not the quota).
    pub throttling: u32,
    /// A retry after a timeout (default 14).
    pub timeout: u32,
    /// Paid back by a call that succeeds at its first attempt (default 1). A call
    /// that succeeds after retries pays back what its last retry cost.
    pub success: u32,
}

impl QuotaCosts {
    /// The AWS SDKs' standard retry mode: 14 for a transient error or a timeout,
    /// 5 for throttling, 1 back for a first-attempt success.
    pub const DEFAULT: QuotaCosts = QuotaCosts {
        transient: 14,
        throttling: 5,
        timeout: 14,
        success: 1,
    };

    /// What a retry after an error of `kind` costs.
    pub const fn of(&self, kind: ErrorKind) -> u32 {
        match kind {
            ErrorKind::Transient => self.transient,
            ErrorKind::Throttling => self.throttling,
            ErrorKind::Timeout => self.timeout,
        }
    }
}

impl Default for QuotaCosts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A bucket of retry capacity shared by the calls to one dependency, in the
/// style of the AWS SDKs' standard retry mode.
///
/// It starts full, with `capacity`. A retry takes its cost, which depends on
/// the kind of error ([`QuotaCosts`]), and is refused when the bucket holds less
/// than that; a call that succeeds pays back (its last retry's cost, or 1 for a
/// first-attempt success), never above the capacity. A healthy dependency keeps
/// the bucket full. In an outage, retries stop once `capacity / cost` of them
/// have been spent (35 transient retries with the defaults), and only successes
/// bring them back; a failure costs nothing when it is not retried.
///
/// Compared with a [`RetryBudget`](super::RetryBudget) (which every retryable
/// failure drains a little and successes refill by a ratio), a quota is
/// spent only by retries actually made, and prices them by kind: a throttled
/// call, already slowed by the wait it was asked for, costs less than a
/// transient error retried at once.
///
/// One atomic word; every operation is a single compare-and-swap loop.
///
/// ```
/// use seawall_core::retry::{ErrorKind, QuotaCosts, RetryQuota};
///
/// static QUOTA: RetryQuota = match RetryQuota::new(30, QuotaCosts::DEFAULT) {
///     Ok(quota) => quota,
///     Err(_) => panic!("invalid retry quota"),
/// };
/// assert_eq!(QUOTA.try_acquire(ErrorKind::Transient), Some(14));
/// assert_eq!(QUOTA.try_acquire(ErrorKind::Transient), Some(14));
/// assert_eq!(QUOTA.try_acquire(ErrorKind::Transient), None, "2 left, 14 needed");
/// assert_eq!(QUOTA.try_acquire(ErrorKind::Throttling), None, "5 needed");
/// QUOTA.release(14); // a retried call succeeded
/// assert_eq!(QUOTA.available(), 16);
/// ```
#[derive(Debug)]
pub struct RetryQuota {
    available: AtomicU32,
    capacity: u32,
    costs: QuotaCosts,
}

impl RetryQuota {
    loom_const_fn! {
        /// A full quota of `capacity` (at least 1), spent and paid back by `costs`
        /// (each retry cost at least 1 and at most the capacity).
        pub fn new(capacity: u32, costs: QuotaCosts) -> Result<Self, ConfigError> {
            if capacity == 0 {
                return Err(ConfigError::new("capacity", "must be at least 1"));
            }
            let checks = [
                ("transient_cost", costs.transient),
                ("throttling_cost", costs.throttling),
                ("timeout_cost", costs.timeout),
            ];
            let mut index = 0;
            while index < checks.len() {
                let (field, cost) = checks[index];
                if cost == 0 || cost > capacity {
                    return Err(ConfigError::new(field, "must be between 1 and capacity"));
                }
                index += 1;
            }
            Ok(Self { available: AtomicU32::new(capacity), capacity, costs })
        }
    }

    /// The capacity of a standard quota: 500.
    pub const STANDARD_CAPACITY: u32 = 500;

    /// The capacity of the bucket.
    pub const fn capacity(&self) -> u32 {
        self.capacity
    }

    /// What each event costs.
    pub const fn costs(&self) -> &QuotaCosts {
        &self.costs
    }

    /// The capacity left now.
    pub fn available(&self) -> u32 {
        self.available.load(Ordering::Acquire)
    }

    /// Takes the cost of a retry after an error of `kind`, if the bucket holds
    /// it; answers the amount taken (to pay back on success), or `None`, taking
    /// nothing.
    pub fn try_acquire(&self, kind: ErrorKind) -> Option<u32> {
        let cost = self.costs.of(kind);
        let mut current = self.available.load(Ordering::Acquire);
        loop {
            if current < cost {
                return None;
            }
            match self.available.compare_exchange_weak(
                current,
                current - cost,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(cost),
                Err(actual) => current = actual,
            }
        }
    }

    /// Pays `amount` back, never above the capacity.
    pub fn release(&self, amount: u32) {
        let capacity = self.capacity;
        let _ = self
            .available
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current < capacity).then(|| current.saturating_add(amount).min(capacity))
            });
    }

    /// Pays back for a call that succeeded: `last_cost`, the cost of its last
    /// retry, or the success reward when it did not retry (`last_cost` 0).
    pub fn record_success(&self, last_cost: u32) {
        self.release(if last_cost == 0 {
            self.costs.success
        } else {
            last_cost
        });
    }

    /// Fills the bucket again.
    pub fn reset(&self) {
        self.available.store(self.capacity, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The AWS SDKs' own expectations (botocore's standard retry tests): a
    /// quota of 500 gives 486 after a transient retry, 495 after a throttling
    /// one, 500 again once the call succeeds, and 487 for a success without retry
    /// after a transient retry.
    #[test]
    fn matches_the_standard_mode() {
        let quota = RetryQuota::new(RetryQuota::STANDARD_CAPACITY, QuotaCosts::DEFAULT).unwrap();
        let cost = quota.try_acquire(ErrorKind::Transient).unwrap();
        assert_eq!(quota.available(), 486);
        quota.record_success(cost);
        assert_eq!(quota.available(), 500);
        let cost = quota.try_acquire(ErrorKind::Throttling).unwrap();
        assert_eq!((cost, quota.available()), (5, 495));
        quota.record_success(cost);
        assert_eq!(quota.available(), 500);
        assert_eq!(quota.try_acquire(ErrorKind::Timeout), Some(14));
        quota.record_success(0);
        assert_eq!(quota.available(), 487);
        // A failed call pays nothing back: nothing to call.
        quota.reset();
        assert_eq!(quota.available(), 500);
    }

    #[test]
    fn retries_stop_when_the_quota_is_spent() {
        let quota = RetryQuota::new(14, QuotaCosts::DEFAULT).unwrap();
        assert_eq!(quota.try_acquire(ErrorKind::Transient), Some(14));
        assert_eq!(quota.try_acquire(ErrorKind::Transient), None);
        assert_eq!(quota.available(), 0, "a refusal takes nothing");
        for _ in 0..100 {
            quota.record_success(0);
        }
        assert_eq!(quota.available(), 14, "never above the capacity");
        let costs = QuotaCosts {
            success: 0,
            ..QuotaCosts::DEFAULT
        };
        let quota = RetryQuota::new(20, costs).unwrap();
        quota.try_acquire(ErrorKind::Throttling);
        quota.record_success(0);
        assert_eq!(quota.available(), 15, "no reward configured");
        assert_eq!(quota.costs(), &costs);
        assert_eq!(quota.capacity(), 20);
    }

    #[test]
    fn every_invalid_field_is_named() {
        let field = |capacity, costs| RetryQuota::new(capacity, costs).unwrap_err().field();
        let d = QuotaCosts::DEFAULT;
        assert_eq!(field(0, d), "capacity");
        assert_eq!(field(10, d), "transient_cost", "14 is above the capacity");
        assert_eq!(
            field(500, QuotaCosts { transient: 0, ..d }),
            "transient_cost"
        );
        assert_eq!(
            field(500, QuotaCosts { throttling: 0, ..d }),
            "throttling_cost"
        );
        assert_eq!(field(500, QuotaCosts { timeout: 501, ..d }), "timeout_cost");
    }

    #[test]
    fn kinds_have_names() {
        for kind in [
            ErrorKind::Transient,
            ErrorKind::Throttling,
            ErrorKind::Timeout,
        ] {
            assert_eq!(ErrorKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(ErrorKind::from_name("fatal"), None);
        assert_eq!(ErrorKind::default(), ErrorKind::Transient);
    }
}
