//! How a call made through seawall's policies can end, in the words every
//! adapter uses: the call's own error, or the policy that stopped it.
//!
//! The tokio adapter (`seawall::Error`) and the embassy adapter
//! (`seawall_embassy::Error`) both re-export these types, so code and
//! documentation read the same everywhere.

use core::fmt;
use core::time::Duration;

use crate::breaker::{Outcome, Rejection};
use crate::bulkhead::BulkheadFull;
use crate::compose::Stop;
use crate::rate_limit::NotUntil;
use crate::retry::Failure;

/// A call did not finish within its time limit and was cancelled.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::call::Elapsed;
///
/// let elapsed = Elapsed::new(Duration::from_secs(5));
/// assert_eq!(elapsed.limit(), Duration::from_secs(5));
/// assert_eq!(format!("{elapsed}"), "timed out after 5s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed {
    limit: Duration,
}

impl Elapsed {
    /// A timeout of a call limited to `limit`.
    pub const fn new(limit: Duration) -> Self {
        Self { limit }
    }

    /// The time limit that was exceeded.
    pub const fn limit(&self) -> Duration {
        self.limit
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?}", self.limit)
    }
}

impl core::error::Error for Elapsed {}

/// Why a call made through a policy did not return a value: the call's own
/// error, or a policy that stopped it.
///
/// Each policy produces only some of the variants: a breaker gives `Inner` or
/// `Rejected`, a timeout `Timeout`, a bulkhead `BulkheadFull`, a rate limiter
/// `RateLimited`, and a composition any of them. Use the `is_*` methods or a
/// `match` (the enum is `#[non_exhaustive]`: policies may add variants).
///
/// ```
/// use core::time::Duration;
/// use seawall_core::breaker::{RejectReason, Rejection};
/// use seawall_core::call::Error;
///
/// let error: Error<&str> = Rejection::new(RejectReason::Open, Some(Duration::from_secs(60))).into();
/// assert!(error.is_rejected());
/// assert_eq!(error.retry_after(), Some(Duration::from_secs(60)));
/// assert_eq!(format!("{error}"), "circuit breaker is open; retry after 60s");
/// assert_eq!(format!("{}", Error::Inner("connection refused")), "connection refused");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error<E> {
    /// The call ran and returned this error.
    Inner(E),
    /// A circuit breaker did not let the call through (open, forced open, or
    /// half-open with every probe slot taken).
    Rejected(Rejection),
    /// The call did not finish in time; it was cancelled.
    Timeout(Elapsed),
    /// A bulkhead had no place free for the call (within its maximum wait,
    /// where the adapter queues).
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

    /// Whether the call itself failed (as opposed to a policy stopping it).
    pub fn is_inner(&self) -> bool {
        matches!(self, Error::Inner(_))
    }

    /// The breaker's rejection, if that is what this is.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Error::Rejected(rejection) => Some(rejection),
            _ => None,
        }
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

    /// Which policy stopped the call, or `None` for the call's own error.
    pub fn stop(&self) -> Option<Stop> {
        match self {
            Error::Inner(_) => None,
            Error::Rejected(rejection) => Some(Stop::rejected(rejection.reason())),
            Error::Timeout(_) => Some(Stop::Timeout),
            Error::BulkheadFull(_) => Some(Stop::BulkheadFull),
            Error::RateLimited(_) => Some(Stop::RateLimited),
        }
    }

    /// What a retry should know about this error, by the
    /// [composition table](crate::compose): the call's own errors, timeouts,
    /// full bulkheads and open breakers are worth another try (an open breaker
    /// or a rate limiter no sooner than it says); a breaker forced open by
    /// hand is not.
    pub fn failure(&self) -> Failure {
        match self.stop() {
            Some(stop) => stop.retry_failure(self.retry_after()),
            None => Failure::retryable(),
        }
    }

    /// How a circuit breaker around the policies that returned this error
    /// counts it, by the [composition table](crate::compose): `inner` decides
    /// for the call's own error (the breaker's classifier), a timeout is a
    /// failure, and a refusal counts as nothing (`None`: released).
    pub fn outcome(&self, inner: impl FnOnce(&E) -> Option<Outcome>) -> Option<Outcome> {
        match self {
            Error::Inner(error) => inner(error),
            _ => self.stop().and_then(Stop::breaker_outcome),
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

impl<E> Error<Error<E>> {
    /// The error of a call nested through several policies, as one level:
    /// the inner call's own error, or whichever policy stopped it.
    ///
    /// ```
    /// use seawall_core::call::{Elapsed, Error};
    /// use core::time::Duration;
    ///
    /// let nested: Error<Error<&str>> = Error::Inner(Error::Inner("refused"));
    /// assert_eq!(nested.flatten(), Error::Inner("refused"));
    /// let timeout: Error<Error<&str>> = Elapsed::new(Duration::from_secs(1)).into();
    /// assert!(timeout.flatten().is_timeout());
    /// ```
    pub fn flatten(self) -> Error<E> {
        match self {
            Error::Inner(inner) => inner,
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

impl<E: core::error::Error + 'static> core::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        // Transparent: `Display` already shows the wrapped error, so chaining
        // it again would print it twice.
        match self {
            Error::Inner(error) => error.source(),
            _ => None,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;
    use crate::breaker::RejectReason;
    use crate::time::Instant;

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
        let inner: Error<Io> = Error::Inner(Io);
        assert_eq!(inner.to_string(), "i/o error");
        assert!(core::error::Error::source(&inner).is_none());
        let full: Error<Io> = BulkheadFull { max_concurrent: 2 }.into();
        assert!(full.is_bulkhead_full());
        let timeout: Error<Io> = Elapsed::new(Duration::from_millis(50)).into();
        assert_eq!(timeout.to_string(), "timed out after 50ms");
    }

    #[test]
    fn retries_know_what_each_error_allows() {
        let open: Error<Io> =
            Rejection::new(RejectReason::Open, Some(Duration::from_secs(3))).into();
        assert!(open.failure().retryable);
        assert_eq!(open.failure().retry_after, Some(Duration::from_secs(3)));
        let forced: Error<Io> = Rejection::new(RejectReason::ForcedOpen, None).into();
        assert!(!forced.failure().retryable);
        assert_eq!(forced.stop(), Some(Stop::ForcedOpen));
        assert!(Error::Inner(Io).failure().retryable);
        assert_eq!(Error::Inner(Io).stop(), None);
        let limited: Error<Io> = NotUntil::new(Instant::ZERO, Instant::from_secs(1)).into();
        assert_eq!(limited.failure().retry_after, Some(Duration::from_secs(1)));
        assert_eq!(limited.outcome(|_| Some(Outcome::Failure)), None);
        let timeout: Error<Io> = Elapsed::new(Duration::from_secs(1)).into();
        assert_eq!(timeout.outcome(|_| None), Some(Outcome::Failure));
        assert_eq!(Error::Inner(Io).outcome(|_| None), None);
        assert_eq!(Error::Inner(1).map_inner(|n| n + 1).into_inner(), Some(2));
    }
}
