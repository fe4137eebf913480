//! A time limit for one call.

use core::future::Future;
use core::time::Duration;

use crate::clock::to_embassy_duration;

pub use seawall_core::call::Elapsed;

/// Runs the call `f` makes with a time limit: its output, or [`Elapsed`] once
/// `limit` has passed, when the call is dropped.
///
/// The same shape as the tokio adapter's `seawall::with_timeout` (and
/// `tokio::time::timeout`): a call returning `Result<T, E>` gives
/// `Result<Result<T, E>, Elapsed>`, hence the `??` below. The limit is rounded
/// up to whole embassy-time ticks, so the call is never cut short. Inside a
/// breaker, prefer
/// [`CircuitBreaker::call_with_timeout`](crate::CircuitBreaker::call_with_timeout),
/// which counts the timeout as a failure and returns one level of error.
///
/// ```
/// use core::time::Duration;
/// use seawall_embassy::{Error, with_timeout};
///
/// async fn read_sensor() -> Result<u16, Error<()>> { Ok(42) }
///
/// async fn sample() -> Result<u16, Error<()>> {
///     let value = with_timeout(Duration::from_millis(50), || read_sensor()).await??;
///     Ok(value)
/// }
/// ```
pub fn with_timeout<F, Fut>(
    limit: Duration,
    f: F,
) -> impl Future<Output = Result<Fut::Output, Elapsed>>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let call = embassy_time::with_timeout(to_embassy_duration(limit), f());
    async move {
        call.await
            .map_err(|embassy_time::TimeoutError| Elapsed::new(limit))
    }
}
