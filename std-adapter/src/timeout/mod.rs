//! Timeouts: limit how long a call may take.
//!
//! [`with_timeout`] limits one call; [`TimeoutLayer`] limits every request of a
//! tower service; [`with_attempt_timeout`] limits a call by the latency
//! observed. They use tokio's timer, so paused time applies, and drop (cancel)
//! the call when its time is up.

mod adaptive;
mod error;
mod future;
mod layer;
mod service;

use std::future::Future;
use std::time::Duration;

pub use adaptive::with_attempt_timeout;
pub use error::Elapsed;
pub use future::Timeout;
pub use layer::TimeoutLayer;
pub use service::{ResponseFuture, TimeoutService};

/// Runs the future made by `f`, giving up after `limit`: its output, or
/// [`Elapsed`] if the limit passes first (the future is then dropped, which
/// cancels it).
///
/// ```
/// use std::time::Duration;
/// use seawall::with_timeout;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let result = with_timeout(Duration::from_secs(5), || async { 42 }).await?;
/// assert_eq!(result, 42);
///
/// let slow = with_timeout(Duration::from_secs(5), || async {
///     tokio::time::sleep(Duration::from_secs(30)).await;
/// });
/// assert_eq!(slow.await.unwrap_err().to_string(), "timed out after 5s");
/// # Ok(())
/// # }
/// ```
#[inline]
pub fn with_timeout<F, Fut>(limit: Duration, f: F) -> Timeout<Fut>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    Timeout::new(limit, f())
}
