//! The error of a call made through seawall's policies.

use std::fmt;
use std::time::Duration;

use seawall_core::breaker::Rejection;
use seawall_core::bulkhead::BulkheadFull;
use seawall_core::rate_limit::NotUntil;
use seawall_core::retry::Failure;

use crate::timeout::Elapsed;

/// Why a call made through a policy did not return a value: the call's own
/// error, or a policy that stopped it.
///
/// Each policy produces only some of the variants: a breaker's
/// [`call`](crate::CircuitBreaker::call) gives `Inner` or `Rejected`, a
/// [`Policy`](crate::Policy) any of them. Use the `is_*` methods or a `match`
/// (the enum is `#[non_exhaustive]`: policies may add variants).
///
/// ```
/// use seawall::{CircuitBreaker, CircuitBreakerConfig, Error};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let cb = CircuitBreaker::new("db", CircuitBreakerConfig { failure_threshold: 1, ..Default::default() });
/// let first: Result<(), Error<&str>> = cb.call(|| async { Err("connection refused") }).await;
/// assert!(matches!(first, Err(Error::Inner("connection refused"))));
///
/// let second: Result<(), Error<&str>> = cb.call(|| async { Ok(()) }).await;
/// let error = second.unwrap_err();
/// assert!(error.is_rejected());
/// assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(60)));
/// assert_eq!(error.to_string(), "circuit breaker is open; retry after 60s");
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The call ran and returned this error.
    Inner(E),
    /// A circuit breaker did not let the call through (open, forced open, or
    /// half-open with every probe slot taken).
    Rejected(Rejection),
    /// The call did not finish in time; it was cancelled.
    Timeout(Elapsed),
    /// A bulkhead had no place free for the call within its maximum wait.
    BulkheadFull(BulkheadFull),
    /// A rate limiter refused the call (it would have had to wait longer than
    /// allowed).
    RateLimited(NotUntil),
}

impl<E> Error<E> {
    /// Whether a circuit breaker rejected the call.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Error::Rejected(_))
    }

    /// Whether the call timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// Whether a bulkhead had no place for the call.
    pub fn is_bulkhead_full(&self) -> bool {
        matches!(self, Error::BulkheadFull(_))
    }

    /// Whether a rate limiter refused the call.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited(_))
    }

    /// The breaker's rejection, if that is what this is.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Error::Rejected(rejection) => Some(rejection),
            _ => None,
        }
    }

    /// What a retry should know about this error: every error is worth
    /// retrying, an open breaker and a rate limiter no sooner than they say.
    pub fn failure(&self) -> Failure {
        match self.retry_after() {
            Some(after) => Failure::retryable().with_retry_after(after),
            None => Failure::retryable(),
        }
    }

    /// Whether the call itself failed (as opposed to a policy stopping it).
    pub fn is_inner(&self) -> bool {
        matches!(self, Error::Inner(_))
    }

    /// The call's own error, if that is what this is.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// A reference to the call's own error, if that is what this is.
    pub fn inner(&self) -> Option<&E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// How long to wait before trying again, when the policy that stopped the
    /// call knows: the rest of a breaker's open duration, or the wait a rate
    /// limiter asks for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Rejected(rejection) => rejection.retry_after(),
            Error::RateLimited(not_until) => Some(not_until.retry_after()),
            _ => None,
        }
    }

    /// Maps the call's own error, leaving the policies' errors as they are.
    pub fn map_inner<F, E2>(self, f: F) -> Error<E2>
    where
        F: FnOnce(E) -> E2,
    {
        match self {
            Error::Inner(e) => Error::Inner(f(e)),
            Error::Rejected(r) => Error::Rejected(r),
            Error::Timeout(t) => Error::Timeout(t),
            Error::BulkheadFull(b) => Error::BulkheadFull(b),
            Error::RateLimited(r) => Error::RateLimited(r),
        }
    }
}

impl<E> From<Rejection> for Error<E> {
    fn from(rejection: Rejection) -> Self {
        Error::Rejected(rejection)
    }
}

impl<E> From<BulkheadFull> for Error<E> {
    fn from(full: BulkheadFull) -> Self {
        Error::BulkheadFull(full)
    }
}

impl<E> From<NotUntil> for Error<E> {
    fn from(not_until: NotUntil) -> Self {
        Error::RateLimited(not_until)
    }
}

impl<E> From<Elapsed> for Error<E> {
    fn from(elapsed: Elapsed) -> Self {
        Error::Timeout(elapsed)
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Inner(e) => e.fmt(f),
            Error::Rejected(r) => r.fmt(f),
            Error::Timeout(t) => t.fmt(f),
            Error::BulkheadFull(b) => b.fmt(f),
            Error::RateLimited(r) => r.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Transparent: `Display` already shows the wrapped error, so chaining
        // it again would print it twice.
        match self {
            Error::Inner(e) => e.source(),
            _ => None,
        }
    }
}
