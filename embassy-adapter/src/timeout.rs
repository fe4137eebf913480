//! A deadline for one call.

use core::future::Future;
use core::time::Duration;

use crate::clock::to_embassy_duration;
use crate::error::Error;

/// Runs the call `f` makes, and drops it if it has not finished after
/// `timeout` ([`Error::TimedOut`]); its own error is [`Error::Inner`].
///
/// The timeout is rounded up to whole ticks of embassy-time, so the call is
/// never cut short. Inside a breaker, prefer
/// [`CircuitBreaker::call_with_timeout`](crate::CircuitBreaker::call_with_timeout),
/// which counts the timeout as a failure and returns one level of error.
///
/// ```
/// use core::time::Duration;
/// use seawall_embassy::{Error, with_timeout};
///
/// async fn read_sensor() -> Result<u16, ()> { Ok(42) }
///
/// async fn sample() -> Result<u16, Error<()>> {
///     with_timeout(Duration::from_millis(50), || read_sensor()).await
/// }
/// ```
pub async fn with_timeout<T, E, F, Fut>(timeout: Duration, f: F) -> Result<T, Error<E>>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match embassy_time::with_timeout(to_embassy_duration(timeout), f()).await {
        Ok(result) => result.map_err(Error::Inner),
        Err(embassy_time::TimeoutError) => Err(Error::TimedOut(timeout)),
    }
}
