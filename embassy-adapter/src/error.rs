//! The error of a call made through seawall's policies.

use core::fmt;
use core::time::Duration;

use seawall_core::breaker::{RejectReason, Rejection};
use seawall_core::bulkhead::BulkheadFull;
use seawall_core::rate_limit::NotUntil;
use seawall_core::retry::Failure;

use crate::retry::Retryable;
use crate::timeout::Elapsed;

/// Why a call made through a policy did not return a value: the call's own
/// error, or a policy that stopped it.
///
/// The same words as the tokio adapter's `seawall::Error`. Each policy produces
/// only some of the variants: a breaker's [`call`](crate::CircuitBreaker::call)
/// gives `Inner` or `Rejected`, [`call_with_timeout`] adds `Timeout`, a
/// [`Bulkhead`](crate::Bulkhead) gives `BulkheadFull` and a
/// [`RateLimiter`](crate::RateLimiter) `RateLimited`.
///
/// [`call_with_timeout`]: crate::CircuitBreaker::call_with_timeout
///
/// ```
/// use core::time::Duration;
/// use seawall_embassy::{Elapsed, Error};
///
/// let error: Error<&str> = Error::Timeout(Elapsed::new(Duration::from_millis(50)));
/// assert_eq!(error.to_string(), "timed out after 50ms");
/// assert_eq!(Error::Inner("bus fault").to_string(), "bus fault");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error<E> {
    /// The call ran and returned this error.
    Inner(E),
    /// A circuit breaker did not let the call through (open, forced open, or
    /// half-open with every probe slot taken).
    Rejected(Rejection),
    /// The call did not finish in time; it was dropped.
    Timeout(Elapsed),
    /// A bulkhead had no place free for the call.
    BulkheadFull(BulkheadFull),
    /// A rate limiter refused the call for now.
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

    /// Whether the call itself failed (as opposed to a policy stopping it).
    pub fn is_inner(&self) -> bool {
        matches!(self, Error::Inner(_))
    }

    /// The call's own error, if that is what this is.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(error) => Some(error),
            _ => None,
        }
    }

    /// A reference to the call's own error, if that is what this is.
    pub fn inner(&self) -> Option<&E> {
        match self {
            Error::Inner(error) => Some(error),
            _ => None,
        }
    }

    /// The breaker's rejection, if that is what this is.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Error::Rejected(rejection) => Some(rejection),
            _ => None,
        }
    }

    /// How long to wait before trying again, when the policy that stopped the
    /// call knows: the rest of a breaker's open duration, or when a rate
    /// limiter would admit the call.
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
            Error::Inner(error) => Error::Inner(f(error)),
            Error::Rejected(rejection) => Error::Rejected(rejection),
            Error::Timeout(elapsed) => Error::Timeout(elapsed),
            Error::BulkheadFull(full) => Error::BulkheadFull(full),
            Error::RateLimited(not_until) => Error::RateLimited(not_until),
        }
    }
}

impl<E> From<Rejection> for Error<E> {
    fn from(rejection: Rejection) -> Self {
        Error::Rejected(rejection)
    }
}

impl<E> From<Elapsed> for Error<E> {
    fn from(elapsed: Elapsed) -> Self {
        Error::Timeout(elapsed)
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

/// How a retry treats each error: the call's own errors, timeouts, full
/// bulkheads and open breakers are worth another try, an open breaker or a
/// rate limiter no sooner than it says; a breaker forced open by hand is not.
impl<E> Retryable for Error<E> {
    fn failure(&self) -> Failure {
        match self {
            Error::Rejected(rejection) if rejection.reason() == RejectReason::ForcedOpen => {
                Failure::not_retryable()
            }
            _ => match self.retry_after() {
                Some(after) => Failure::retryable().with_retry_after(after),
                None => Failure::retryable(),
            },
        }
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Inner(error) => error.fmt(f),
            Error::Rejected(rejection) => rejection.fmt(f),
            Error::Timeout(elapsed) => elapsed.fmt(f),
            Error::BulkheadFull(full) => full.fmt(f),
            Error::RateLimited(not_until) => not_until.fmt(f),
        }
    }
}

impl<E: core::error::Error> core::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        // Transparent: `Display` already shows the wrapped error, so chaining
        // it again would print it twice.
        match self {
            Error::Inner(error) => error.source(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Io;
    impl fmt::Display for Io {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("i/o error")
        }
    }
    impl core::error::Error for Io {}

    #[test]
    fn errors_print_their_cause_once() {
        extern crate std;
        use std::string::ToString;
        let inner: Error<Io> = Error::Inner(Io);
        assert_eq!(inner.to_string(), "i/o error");
        assert!(core::error::Error::source(&inner).is_none());
        let full: Error<Io> = BulkheadFull { max_concurrent: 2 }.into();
        assert_eq!(full.to_string(), "bulkhead is full (2 calls in flight)");
        assert_eq!(full.retry_after(), None);
        assert!(full.failure().retryable);
        let timeout: Error<Io> = Elapsed::new(Duration::from_millis(20)).into();
        assert!(timeout.is_timeout() && !timeout.is_inner());
        assert_eq!(
            timeout.map_inner(|_| 1u8),
            Error::Timeout(Elapsed::new(Duration::from_millis(20)))
        );
        assert_eq!(Error::<u8>::Inner(3).inner(), Some(&3));
    }
}
