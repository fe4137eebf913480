//! The composition table: what one policy makes of another policy's answer.
//!
//! Policies nest, in whatever order a user stacks them: a retry around a
//! circuit breaker around a rate limiter, a breaker around a retry around a
//! timeout. When an inner policy stops a call, every policy around it must
//! agree on what that means. This module is that agreement, written once for
//! every binding (the tokio `Policy` and tower layers, embassy, the Python
//! decorators):
//!
//! | the call ended with | a circuit breaker around it | a retry around it |
//! |---|---|---|
//! | a value, or the call's own error | its classifier decides | its classifier decides |
//! | a timeout ([`Stop::Timeout`]) | a failure | retried |
//! | a full bulkhead ([`Stop::BulkheadFull`]) | nothing: the permit is released | retried |
//! | a rate limiter's refusal ([`Stop::RateLimited`]) | nothing | retried, no sooner than it says |
//! | an open breaker ([`Stop::Open`]) | nothing | retried, no sooner than it says |
//! | a half-open breaker with every probe slot taken ([`Stop::HalfOpenFull`]) | nothing | retried |
//! | a breaker forced open by hand ([`Stop::ForcedOpen`]) | nothing | not retried |
//!
//! Why: a timeout says the dependency did not answer, so it counts against it.
//! A refusal by a limiter, a bulkhead or another breaker protects the caller
//! and says nothing about the dependency, so a breaker around it counts it as
//! neither success nor failure. A retry waits out what passes by itself (a
//! rate, an open duration, a full bulkhead) but not a breaker someone forced
//! open: only a person closes it again. A disabled breaker rejects nothing, so
//! it has no row. The scenario files `tests/scenarios/composition_*.json`
//! replay this table in every binding.
//!
//! ```
//! use core::time::Duration;
//! use seawall_core::breaker::Outcome;
//! use seawall_core::compose::Stop;
//!
//! assert_eq!(Stop::Timeout.breaker_outcome(), Some(Outcome::Failure));
//! assert_eq!(Stop::RateLimited.breaker_outcome(), None);
//! assert!(!Stop::ForcedOpen.retry_failure(None).retryable);
//! let open = Stop::Open.retry_failure(Some(Duration::from_secs(3)));
//! assert_eq!((open.retryable, open.retry_after), (true, Some(Duration::from_secs(3))));
//! ```

use core::fmt;
use core::time::Duration;

use crate::breaker::{Classify, Outcome, RejectReason};
use crate::call::Error;
use crate::retry::Failure;

/// Which policy stopped a call, as the policies around it see it: every way
/// a call can end other than with its own value or its own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Stop {
    /// The call did not finish within its time limit and was cancelled.
    Timeout,
    /// A bulkhead had no place for the call.
    BulkheadFull,
    /// A rate limiter refused the call.
    RateLimited,
    /// A circuit breaker is open.
    Open,
    /// A circuit breaker is half-open and every probe slot is taken.
    HalfOpenFull,
    /// A circuit breaker was forced open by hand.
    ForcedOpen,
}

impl Stop {
    /// Every stop, in declaration order.
    pub const ALL: [Stop; 6] = [
        Stop::Timeout,
        Stop::BulkheadFull,
        Stop::RateLimited,
        Stop::Open,
        Stop::HalfOpenFull,
        Stop::ForcedOpen,
    ];

    /// The stop of a breaker's rejection for `reason`.
    pub const fn rejected(reason: RejectReason) -> Stop {
        match reason {
            RejectReason::Open => Stop::Open,
            RejectReason::HalfOpenFull => Stop::HalfOpenFull,
            RejectReason::ForcedOpen => Stop::ForcedOpen,
        }
    }

    /// How a circuit breaker around the policy that stopped the call counts
    /// it: a timeout is a failure; every refusal is neither success nor
    /// failure (`None`: the breaker's permit is released).
    pub const fn breaker_outcome(self) -> Option<Outcome> {
        match self {
            Stop::Timeout => Some(Outcome::Failure),
            Stop::BulkheadFull
            | Stop::RateLimited
            | Stop::Open
            | Stop::HalfOpenFull
            | Stop::ForcedOpen => None,
        }
    }

    /// What a retry around the policy that stopped the call knows of it:
    /// worth another attempt (no sooner than `retry_after`, the wait the
    /// policy announced, if any), except a breaker forced open by hand. A
    /// timeout is of the timeout kind; the others are the caller's own
    /// refusals, transient to a retry quota.
    pub const fn retry_failure(self, retry_after: Option<Duration>) -> Failure {
        let failure = match self {
            Stop::ForcedOpen => return Failure::not_retryable(),
            Stop::Timeout => Failure::timeout(),
            Stop::BulkheadFull | Stop::RateLimited | Stop::Open | Stop::HalfOpenFull => {
                Failure::retryable()
            }
        };
        match retry_after {
            Some(after) => failure.with_retry_after(after),
            None => failure,
        }
    }

    /// `timeout`, `bulkhead_full`, `rate_limited`, `open`, `half_open_full` or
    /// `forced_open`: the names of the scenario files and of the Python package.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stop::Timeout => "timeout",
            Stop::BulkheadFull => "bulkhead_full",
            Stop::RateLimited => "rate_limited",
            Stop::Open => "open",
            Stop::HalfOpenFull => "half_open_full",
            Stop::ForcedOpen => "forced_open",
        }
    }

    /// The stop named `name` (as in [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Stop> {
        Stop::ALL.into_iter().find(|stop| stop.as_str() == name)
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a breaker counts a call that ended with its own error, given what
/// its classification rules say of that error: an error they exclude counts
/// as nothing (`None`: released), an error they name as a failure is a
/// failure, and any other error is a success: the dependency answered.
///
/// This is the one meaning of classification in every binding, as in
/// resilience4j's `recordExceptions` and `ignoreExceptions`: the Rust
/// [`FailureWhen`](crate::breaker::FailureWhen) (nothing excluded), Python's
/// `failure_on=` and `exclude=`.
///
/// ```
/// use seawall_core::breaker::Outcome;
/// use seawall_core::compose::error_outcome;
///
/// assert_eq!(error_outcome(true, false), Some(Outcome::Failure));
/// assert_eq!(error_outcome(false, false), Some(Outcome::Success));
/// assert_eq!(error_outcome(true, true), None);
/// ```
pub const fn error_outcome(failure: bool, excluded: bool) -> Option<Outcome> {
    if excluded {
        None
    } else if failure {
        Some(Outcome::Failure)
    } else {
        Some(Outcome::Success)
    }
}

/// The classifier of a breaker around other seawall policies, whose calls
/// return a [`call::Error`](Error): a policy's stop counts by the table, the
/// call's own error is a failure, a value a success.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::breaker::{Classify, Outcome};
/// use seawall_core::call::{Elapsed, Error};
/// use seawall_core::compose::Composed;
/// use seawall_core::rate_limit::NotUntil;
/// use seawall_core::time::Instant;
///
/// let limited: Result<(), Error<&str>> = Err(NotUntil::new(Instant::ZERO, Instant::from_secs(1)).into());
/// assert_eq!(Composed.classify(&limited), None);
/// let timed_out: Result<(), Error<&str>> = Err(Elapsed::new(Duration::from_secs(1)).into());
/// assert_eq!(Composed.classify(&timed_out), Some(Outcome::Failure));
/// assert_eq!(Composed.classify(&Err::<(), _>(Error::Inner("down"))), Some(Outcome::Failure));
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Composed;

impl<T, E> Classify<T, Error<E>> for Composed {
    #[inline]
    fn classify(&self, result: &Result<T, Error<E>>) -> Option<Outcome> {
        match result {
            Ok(_) => Some(Outcome::Success),
            Err(error) => error.outcome(|_| Some(Outcome::Failure)),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let secs = Duration::from_secs;
        for stop in Stop::ALL {
            assert_eq!(Stop::from_name(stop.as_str()), Some(stop));
            let expected = if stop == Stop::Timeout {
                Some(Outcome::Failure)
            } else {
                None
            };
            assert_eq!(stop.breaker_outcome(), expected, "{stop}");
            let failure = stop.retry_failure(Some(secs(2)));
            assert_eq!(failure.retryable, stop != Stop::ForcedOpen, "{stop}");
            if failure.retryable {
                assert_eq!(failure.retry_after, Some(secs(2)));
            }
            assert_eq!(stop.retry_failure(None).retry_after, None);
        }
        assert_eq!(Stop::from_name("closed"), None);
        assert_eq!(Stop::rejected(RejectReason::ForcedOpen), Stop::ForcedOpen);
        assert_eq!(Stop::rejected(RejectReason::Open), Stop::Open);
        assert_eq!(
            Stop::rejected(RejectReason::HalfOpenFull),
            Stop::HalfOpenFull
        );
    }
}
