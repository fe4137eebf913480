//! A timeout whose limit follows the latency observed.

use std::future::Future;

use seawall_core::retry::AttemptTimeout;
use seawall_core::time::Clock;

use super::{Elapsed, Timeout};
use crate::clock::TokioClock;

/// Runs the future made by `f` under the time limit `timeout` gives now (a
/// percentile of the recent latencies, times a margin), and teaches `timeout`
/// how long the call took: its latency, or the limit if it timed out. Put it
/// inside a retry, so that each attempt gets a limit of its own.
///
/// A call whose future is dropped before it ends teaches nothing.
///
/// ```
/// use std::time::Duration;
/// use seawall::{AttemptTimeout, AttemptTimeoutConfig, RetryPolicy, RetryStrategy, with_attempt_timeout};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let config = AttemptTimeoutConfig { min_samples: 10, ..AttemptTimeoutConfig::DEFAULT };
/// let timeout = AttemptTimeout::<192>::new(config).unwrap();
/// for _ in 0..10 {
///     // Calls of 20 ms teach the limit: their 99th percentile, times 1.5.
///     with_attempt_timeout(&timeout, || tokio::time::sleep(Duration::from_millis(20))).await.unwrap();
/// }
/// let slow = with_attempt_timeout(&timeout, || tokio::time::sleep(Duration::from_secs(1)));
/// assert!(slow.await.unwrap_err().limit() < Duration::from_millis(33));
///
/// let policy = RetryPolicy { strategy: RetryStrategy::Fixed { delay: Duration::from_millis(10) }, ..Default::default() };
/// let result = policy
///     .execute(|| with_attempt_timeout(&timeout, || async { Ok::<_, ()>(7) }))
///     .await;
/// assert_eq!(result, Ok(Ok(7)));
/// # }
/// ```
pub async fn with_attempt_timeout<F, Fut, const N: usize>(
    timeout: &AttemptTimeout<N>,
    f: F,
) -> Result<Fut::Output, Elapsed>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let limit = timeout.timeout(&TokioClock);
    let start = TokioClock.now();
    let result = Timeout::new(limit, f()).await;
    let latency = match &result {
        Ok(_) => TokioClock.now().saturating_duration_since(start),
        Err(_) => limit,
    };
    timeout.record(&TokioClock, latency);
    result
}
