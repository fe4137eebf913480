//! How [`RetryPolicy::execute`](super::RetryPolicy::execute) sees an error:
//! worth another attempt or not, and no sooner than when.

use seawall_core::breaker::Rejection;
use seawall_core::bulkhead::BulkheadFull;
use seawall_core::call::Elapsed;
use seawall_core::rate_limit::NotUntil;
use seawall_core::retry::Failure;

use crate::compose::{failure_of, stop_in_chain};
use crate::error::Error;

/// What a retry knows of an error: whether it is worth another attempt, and
/// no sooner than when (the core's [`Failure`]).
///
/// A seawall policy's stop answers by the core's
/// [composition table](seawall_core::compose): a [`seawall::Error`](Error)
/// or a [`BoxError`](crate::BoxError) from a tower layer is retried, except a
/// breaker forced open by hand, and an open breaker or a rate limiter no
/// sooner than it says. Every other error is worth retrying; that is the
/// default method, so a type of your own takes one line:
///
/// ```
/// use std::time::Duration;
/// use seawall::{Retryable, RetryPolicy, RetryStrategy};
///
/// #[derive(Debug, PartialEq)]
/// struct ApiError(u16);
/// impl Retryable for ApiError {}
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let policy = RetryPolicy { strategy: RetryStrategy::Fixed { delay: Duration::from_millis(10) }, ..Default::default() };
/// let mut attempts = 0;
/// let result: Result<(), ApiError> = policy.execute(|| { attempts += 1; async { Err(ApiError(503)) } }).await;
/// assert_eq!((result, attempts), (Err(ApiError(503)), 3));
/// # }
/// ```
///
/// For an error type of another crate, classify with
/// [`execute_with`](super::RetryPolicy::execute_with).
pub trait Retryable {
    /// What is known about this failed attempt (default: worth retrying).
    fn failure(&self) -> Failure {
        Failure::retryable()
    }
}

/// By the composition table: the call's own error is retried; a policy's
/// stop as the table says.
impl<E> Retryable for Error<E> {
    fn failure(&self) -> Failure {
        Error::failure(self)
    }
}

impl Retryable for crate::BoxError {
    fn failure(&self) -> Failure {
        match stop_in_chain(&**self) {
            Some((stop, retry_after)) => stop.retry_failure(retry_after),
            None => Failure::retryable(),
        }
    }
}

impl Retryable for Box<dyn std::error::Error + 'static> {
    fn failure(&self) -> Failure {
        match stop_in_chain(&**self) {
            Some((stop, retry_after)) => stop.retry_failure(retry_after),
            None => Failure::retryable(),
        }
    }
}

macro_rules! stops {
    ($($stop:ty),*) => {$(
        /// By the composition table.
        impl Retryable for $stop {
            fn failure(&self) -> Failure {
                failure_of(self)
            }
        }
    )*};
}

stops!(Rejection, NotUntil, BulkheadFull, Elapsed);

macro_rules! always {
    ($($error:ty),*) => {$(
        impl Retryable for $error {}
    )*};
}

always!(std::io::Error, String, &str, ());
