//! The error of a call made through seawall.

use core::fmt;
use core::time::Duration;

use seawall_core::breaker::Rejection;

/// Why a call through a breaker, a timeout or a retry did not return a value.
///
/// A call either ran and failed with its own error ([`Error::Inner`]), was
/// never started because the breaker refused it ([`Error::Rejected`], with when
/// to try again), or did not finish in time ([`Error::TimedOut`]).
///
/// ```
/// use core::time::Duration;
/// use seawall_embassy::Error;
///
/// let error: Error<&str> = Error::TimedOut(Duration::from_millis(50));
/// assert_eq!(error.to_string(), "timed out after 50ms");
/// assert_eq!(Error::Inner("bus fault").to_string(), "bus fault");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error<E> {
    /// The call ran and returned this error.
    Inner(E),
    /// The breaker did not let the call through; see
    /// [`Rejection::retry_after`] for when it may.
    Rejected(Rejection),
    /// The call did not finish within this timeout and was dropped.
    TimedOut(Duration),
}

impl<E> Error<E> {
    /// The call's own error, if it ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(error) => Some(error),
            _ => None,
        }
    }

    /// The rejection, if the breaker refused the call.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Error::Rejected(rejection) => Some(rejection),
            _ => None,
        }
    }

    /// Whether the breaker refused the call.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Error::Rejected(_))
    }

    /// Whether the call timed out.
    pub fn is_timed_out(&self) -> bool {
        matches!(self, Error::TimedOut(_))
    }

    /// How long to wait before trying again, when the breaker said so.
    pub fn retry_after(&self) -> Option<Duration> {
        self.rejection().and_then(Rejection::retry_after)
    }

    /// Maps the call's own error, keeping rejections and timeouts.
    pub fn map_inner<F, E2>(self, f: F) -> Error<E2>
    where
        F: FnOnce(E) -> E2,
    {
        match self {
            Error::Inner(error) => Error::Inner(f(error)),
            Error::Rejected(rejection) => Error::Rejected(rejection),
            Error::TimedOut(after) => Error::TimedOut(after),
        }
    }
}

impl<E> Error<Error<E>> {
    /// One level of error from two nested ones, as when a [`with_timeout`]
    /// call runs inside a breaker call.
    ///
    /// [`with_timeout`]: crate::with_timeout
    pub fn flatten(self) -> Error<E> {
        match self {
            Error::Inner(inner) => inner,
            Error::Rejected(rejection) => Error::Rejected(rejection),
            Error::TimedOut(after) => Error::TimedOut(after),
        }
    }
}

impl<E> From<Rejection> for Error<E> {
    fn from(rejection: Rejection) -> Self {
        Error::Rejected(rejection)
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Inner(error) => error.fmt(f),
            Error::Rejected(rejection) => rejection.fmt(f),
            Error::TimedOut(after) => write!(f, "timed out after {after:?}"),
        }
    }
}

/// Transparent for [`Error::Inner`]: its message is the inner error's, so the
/// source is the inner error's source, and no message is printed twice.
impl<E: core::error::Error> core::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Inner(error) => error.source(),
            Error::Rejected(_) | Error::TimedOut(_) => None,
        }
    }
}
