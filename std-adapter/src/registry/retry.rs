//! How the calls of a registered retry policy ended, counted by a listener.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use seawall_core::retry::GiveUp;

use crate::retry::RetryListener;

/// How the calls of a retry policy ended, as counted since it was registered
/// (resilience4j's four kinds).
///
/// ```
/// use std::time::Duration;
/// use seawall::{Registry, RetryPolicy, RetryStrategy};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let registry = Registry::new();
/// let policy = RetryPolicy { strategy: RetryStrategy::Fixed { delay: Duration::from_millis(10) }, ..Default::default() };
/// let policy = registry.register_retry("api", policy).unwrap();
/// let mut attempts = 0;
/// let _ = policy.execute(|| { attempts += 1; let ok = attempts > 1; async move { if ok { Ok(()) } else { Err("flaky") } } }).await;
/// let stats = registry.retry_stats("api").unwrap();
/// assert_eq!(stats.successful_with_retry, 1);
/// assert_eq!(stats.total(), 1);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RetryStats {
    /// Calls that succeeded at the first attempt.
    pub successful_without_retry: u64,
    /// Calls that succeeded after one or more retries.
    pub successful_with_retry: u64,
    /// Calls that failed after one or more retries.
    pub failed_with_retry: u64,
    /// Calls that failed at the first attempt without being retried (the error
    /// was not worth retrying, or the budget or deadline allowed none).
    pub failed_without_retry: u64,
}

impl RetryStats {
    /// Calls counted, of every kind.
    pub fn total(&self) -> u64 {
        self.successful_without_retry
            .saturating_add(self.successful_with_retry)
            .saturating_add(self.failed_with_retry)
            .saturating_add(self.failed_without_retry)
    }

    /// The four kinds with their names, as the metrics label them.
    pub fn kinds(&self) -> [(&'static str, u64); 4] {
        [
            ("successful_without_retry", self.successful_without_retry),
            ("successful_with_retry", self.successful_with_retry),
            ("failed_with_retry", self.failed_with_retry),
            ("failed_without_retry", self.failed_without_retry),
        ]
    }
}

/// The registry's listener: counts, then passes every decision on to the
/// policy's own listener, if it had one.
pub(crate) struct RetryCounters {
    counts: [AtomicU64; 4],
    next: Option<Arc<dyn RetryListener>>,
}

impl RetryCounters {
    pub(crate) fn new(next: Option<Arc<dyn RetryListener>>) -> Self {
        Self {
            counts: Default::default(),
            next,
        }
    }

    fn count(&self, kind: usize) {
        self.counts[kind].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> RetryStats {
        let [a, b, c, d] = &self.counts;
        RetryStats {
            successful_without_retry: a.load(Ordering::Relaxed),
            successful_with_retry: b.load(Ordering::Relaxed),
            failed_with_retry: c.load(Ordering::Relaxed),
            failed_without_retry: d.load(Ordering::Relaxed),
        }
    }
}

impl RetryListener for RetryCounters {
    fn on_retry(&self, attempt: u32, delay: Duration) {
        if let Some(next) = &self.next {
            next.on_retry(attempt, delay);
        }
    }

    fn on_give_up(&self, attempt: u32, reason: GiveUp) {
        self.count(if attempt <= 1 { 3 } else { 2 });
        if let Some(next) = &self.next {
            next.on_give_up(attempt, reason);
        }
    }

    fn on_success(&self, attempt: u32) {
        self.count(if attempt <= 1 { 0 } else { 1 });
        if let Some(next) = &self.next {
            next.on_success(attempt);
        }
    }
}
