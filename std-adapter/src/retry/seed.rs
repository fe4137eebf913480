//! The jitter's random generator, and the listener of a retry's decisions.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use seawall_core::retry::GiveUp;
use seawall_core::rng::{Rng, SharedSplitMix64, SplitMix64};

use super::random_seed;

/// Where a retry policy draws its jitter from: a seeded generator, shared by
/// every call of the policy and of its clones (so a seed fixes every delay, in
/// the order the calls draw them, as in every seawall binding), or a random
/// seed per call (the default).
///
/// ```
/// use std::time::Duration;
/// use seawall::{Jitter, RetryPolicy, Seed};
///
/// let policy = RetryPolicy { jitter: Jitter::Full, seed: Seed::new(7), ..Default::default() };
/// let again = RetryPolicy { jitter: Jitter::Full, seed: Seed::new(7), ..Default::default() };
/// assert_eq!(policy.preview_delays(5), again.preview_delays(5));
/// assert!(policy.preview_delays(5).iter().all(|d| *d <= Duration::from_secs(30)));
/// ```
#[derive(Clone, Default)]
pub struct Seed(Option<Arc<SharedSplitMix64>>);

impl Seed {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Seed(Some(Arc::new(SharedSplitMix64::new(seed))))
    }

    /// A random seed for each call (the default).
    pub fn random() -> Self {
        Seed(None)
    }

    /// The generator one call draws from.
    pub(crate) fn draw(&self) -> Draw<'_> {
        match &self.0 {
            Some(shared) => Draw::Shared(shared),
            None => Draw::Own(SplitMix64::new(random_seed())),
        }
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(_) => f.write_str("Seed(seeded)"),
            None => f.write_str("Seed(random)"),
        }
    }
}

/// The generator of one call.
pub(crate) enum Draw<'a> {
    Shared(&'a SharedSplitMix64),
    Own(SplitMix64),
}

impl Rng for Draw<'_> {
    fn next_u64(&mut self) -> u64 {
        match self {
            Draw::Shared(shared) => shared.next(),
            Draw::Own(own) => own.next_u64(),
        }
    }
}

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
