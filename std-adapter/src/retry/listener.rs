//! The listener of a retry's decisions.

use std::time::Duration;

use seawall_core::retry::GiveUp;

/// Hears a retry's decisions as they are made: for logs and metrics, and for
/// tests. Every method does nothing by default. It runs on the calling task,
/// between the attempts: keep it quick.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use seawall::{GiveUp, RetryListener, RetryPolicy, RetryStrategy};
///
/// #[derive(Default)]
/// struct Log(Mutex<Vec<String>>);
///
/// impl RetryListener for Log {
///     fn on_retry(&self, attempt: u32, delay: Duration) {
///         self.0.lock().unwrap().push(format!("attempt {attempt} failed, next in {delay:?}"));
///     }
///     fn on_give_up(&self, attempt: u32, reason: GiveUp) {
///         self.0.lock().unwrap().push(format!("attempt {attempt} failed, giving up: {reason}"));
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let log = Arc::new(Log::default());
/// let policy = RetryPolicy {
///     max_attempts: 2,
///     strategy: RetryStrategy::Fixed { delay: Duration::from_millis(10) },
///     listener: Some(log.clone()),
///     ..Default::default()
/// };
/// let _ = policy.execute(|| async { Err::<(), _>("refused") }).await;
/// let lines = log.0.lock().unwrap();
/// assert_eq!(lines[0], "attempt 1 failed, next in 10ms");
/// assert!(lines[1].starts_with("attempt 2 failed, giving up"));
/// # }
/// ```
pub trait RetryListener: Send + Sync {
    /// Attempt `attempt` (1 for the first call) failed; the next one starts
    /// after `delay`.
    fn on_retry(&self, attempt: u32, delay: Duration) {
        let _ = (attempt, delay);
    }

    /// Attempt `attempt` failed and the policy gave up for `reason`.
    fn on_give_up(&self, attempt: u32, reason: GiveUp) {
        let _ = (attempt, reason);
    }

    /// Attempt `attempt` succeeded (1: without any retry).
    fn on_success(&self, attempt: u32) {
        let _ = attempt;
    }
}
