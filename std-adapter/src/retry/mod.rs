//! Retry with backoff: `RetryPolicy`, deciding with the core's
//! [`retry`](seawall_core::retry) and sleeping with tokio.
//!
//! The core decides after each failed attempt: retry after a delay (the
//! backoff's, raised to a server's Retry-After hint up to the maximum delay), or
//! give up because the attempts are exhausted, the deadline would pass, the
//! retry budget or quota is spent or the error is not worth retrying. With an
//! adaptive rate, every attempt first waits for its turn. This module sleeps
//! (`tokio::time::sleep`, so paused time applies) and calls again.

mod error;
mod jitter_seed;
mod layer;
mod listener;
mod retryable;
mod service;
mod shared;
mod strategy;

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use seawall_core::backoff::BackoffState;
use seawall_core::backoff::Jitter;
use seawall_core::retry::RetryState;
use seawall_core::retry::{
    AdaptiveRate, Failure, RetryBudget, RetryDecision, RetryPolicy as CorePolicy, RetryQuota,
};
use seawall_core::{Clock, ConfigError, Instant};

pub use error::RetryError;
pub use jitter_seed::JitterSeed;
pub use layer::RetryLayer;
pub use listener::RetryListener;
pub use retryable::Retryable;
pub use service::{RetryErrors, RetryService, ShouldRetry};
pub use strategy::RetryStrategy;

pub(crate) use shared::Shared;

use crate::clock::TokioClock;

/// When and how often to call again after a failure.
///
/// Attempts and a strategy, plus the core's jitter, deadline and retry budget.
/// The options are checked with the core's rules by [`validate`](Self::validate),
/// by [`RetryLayer::new`] and by [`Policy`](crate::Policy)'s `build`, which
/// return the [`ConfigError`]. A policy used directly
/// ([`execute`](Self::execute), [`execute_with`](Self::execute_with),
/// [`preview_delays`](Self::preview_delays)) is checked when it first has
/// to decide (after a failed first attempt; a first attempt that succeeds
/// needs nothing of it, and costs nothing more) and panics with that
/// error's message if invalid, as
/// [`CircuitBreaker::new`](crate::CircuitBreaker::new) does: an invalid policy
/// never retries silently.
///
/// ```
/// use std::time::Duration;
/// use seawall::{RetryPolicy, RetryStrategy};
///
/// # async fn external_api_call() -> Result<&'static str, std::io::Error> { Ok("pong") }
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = RetryPolicy {
///     max_attempts: 3,
///     strategy: RetryStrategy::Exponential {
///         initial_delay: Duration::from_secs(1),
///         max_delay: Duration::from_secs(30),
///         multiplier: 2.0,
///     },
///     ..Default::default()
/// };
/// let result = policy.execute(|| async { external_api_call().await }).await?;
/// assert_eq!(result, "pong");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first call included (at least 1; default 3).
    pub max_attempts: u32,
    /// How the delays grow (default: exponential from 1 s, doubling, up to 30 s).
    pub strategy: RetryStrategy,
    /// Randomness on each delay (default none).
    pub jitter: Jitter,
    /// The total time budget from the first call: no retry starts after it
    /// (default none).
    pub deadline: Option<Duration>,
    /// A token bucket shared by the calls to one dependency, so that retries
    /// cannot multiply the load during an outage (default none).
    pub budget: Option<Arc<RetryBudget>>,
    /// A retry quota shared by the calls to one dependency, charged by the kind
    /// of error (`Failure::kind`) for each retry made (default none; a policy
    /// has a budget or a quota, not both).
    pub quota: Option<Arc<RetryQuota>>,
    /// A client-side rate, paced by CUBIC on throttling errors, that every
    /// attempt (the first included) waits for (default none).
    pub adaptive_rate: Option<Arc<AdaptiveRate>>,
    /// The jitter's generator (default: a random seed per call).
    pub seed: JitterSeed,
    /// Hears each decision (default none).
    pub listener: Option<Arc<dyn RetryListener>>,
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("strategy", &self.strategy)
            .field("jitter", &self.jitter)
            .field("deadline", &self.deadline)
            .field("budget", &self.budget)
            .field("quota", &self.quota)
            .field("adaptive_rate", &self.adaptive_rate)
            .field("seed", &self.seed)
            .field("listener", &self.listener.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            strategy: RetryStrategy::default(),
            jitter: Jitter::None,
            deadline: None,
            budget: None,
            quota: None,
            adaptive_rate: None,
            seed: JitterSeed::random(),
            listener: None,
        }
    }
}

impl RetryPolicy {
    /// Checks every option, with the core's rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.budget.is_some() && self.quota.is_some() {
            return Err(ConfigError::new(
                "quota",
                "must not be set with a budget: one of the two bounds retries",
            ));
        }
        self.to_core().map(drop)
    }

    /// The budget, quota and adaptive rate, as the calls share them.
    pub(crate) fn shared(&self) -> Shared {
        Shared {
            budget: self.budget.clone(),
            quota: self.quota.clone(),
            rate: self.adaptive_rate.clone(),
        }
    }

    /// The core's policy for these options.
    pub fn to_core(&self) -> Result<CorePolicy, ConfigError> {
        let mut builder = CorePolicy::builder()
            .max_attempts(self.max_attempts)
            .strategy(self.strategy)
            .jitter(self.jitter);
        if let Some(deadline) = self.deadline {
            builder = builder.deadline(deadline);
        }
        builder.build()
    }

    /// Calls `f` until it succeeds or the policy gives up, asking each error
    /// whether it is worth retrying ([`Retryable`]: a seawall policy's stop
    /// as the core's composition table says, so a breaker forced open is not
    /// retried; any other error is). Returns the value or the last error.
    ///
    /// ```
    /// use std::time::Duration;
    /// use seawall::{CircuitBreaker, CircuitBreakerConfig, RetryPolicy, RetryStrategy};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let cb = CircuitBreaker::new("db", CircuitBreakerConfig::default());
    /// cb.force_open();
    /// let policy = RetryPolicy { strategy: RetryStrategy::Fixed { delay: Duration::from_secs(1) }, ..Default::default() };
    /// let start = tokio::time::Instant::now();
    /// let error = policy.execute(|| cb.call(|| async { Ok::<_, std::io::Error>(1) })).await.unwrap_err();
    /// // Forced open by hand: not worth another attempt, so no waiting either.
    /// assert!(error.is_rejected());
    /// assert_eq!((cb.stats().rejected, start.elapsed()), (1, Duration::ZERO));
    /// # }
    /// ```
    pub async fn execute<F, Fut, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Retryable,
    {
        self.execute_with(E::failure, f)
            .await
            .map_err(RetryError::into_inner)
    }

    /// Calls `f` until it succeeds or the policy gives up, asking `classify`
    /// about each error: whether it is worth retrying, and the server's hint of
    /// when to try again (`Failure::retryable().with_retry_after(d)`). The error
    /// says why the policy gave up.
    ///
    /// ```
    /// use std::time::Duration;
    /// use seawall::{RetryPolicy, RetryStrategy};
    /// use seawall::core::retry::{Failure, GiveUp};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let policy = RetryPolicy { strategy: RetryStrategy::Fixed { delay: Duration::from_millis(10) }, ..Default::default() };
    /// let error = policy
    ///     .execute_with(
    ///         |status: &u16| if *status == 404 { Failure::not_retryable() } else { Failure::retryable() },
    ///         || async { Err::<(), u16>(404) },
    ///     )
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!((error.error, error.attempts, error.reason), (404, 1, GiveUp::NotRetryable));
    /// # }
    /// ```
    pub async fn execute_with<C, F, Fut, T, E>(
        &self,
        classify: C,
        mut f: F,
    ) -> Result<T, RetryError<E>>
    where
        C: Fn(&E) -> Failure,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let shared = self.shared();
        let listener = self.listener.as_deref();
        let succeeded = |state: &RetryState| {
            shared.allowance().record_success(state);
            if let Some(listener) = listener {
                listener.on_success(state.attempt());
            }
        };
        // The first attempt needs nothing of the policy but its start (read only
        // with a deadline): a call that succeeds at once costs no more.
        let started = self.deadline.map(|_| TokioClock.now());
        if shared.paces() {
            shared.pace().await;
        }
        let mut error = match f().await {
            Ok(value) => {
                shared.observe(None);
                succeeded(&RetryState::new());
                return Ok(value);
            }
            Err(error) => error,
        };
        let core = self.checked();
        let mut state = core.start(&started.unwrap_or(Instant::ZERO));
        let mut rng = self.seed.draw();
        loop {
            let attempt = state.attempt();
            let failure = classify(&error);
            shared.observe(Some(&failure));
            match core.on_failure(
                &mut state,
                failure,
                shared.allowance(),
                &TokioClock,
                &mut rng,
            ) {
                RetryDecision::Retry { delay } => {
                    if let Some(listener) = listener {
                        listener.on_retry(attempt, delay);
                    }
                    tokio::time::sleep(delay).await;
                }
                RetryDecision::GiveUp(reason) => {
                    if let Some(listener) = listener {
                        listener.on_give_up(attempt, reason);
                    }
                    return Err(RetryError {
                        error,
                        attempts: attempt,
                        reason,
                    });
                }
            }
            if shared.paces() {
                shared.pace().await;
            }
            error = match f().await {
                Ok(value) => {
                    shared.observe(None);
                    succeeded(&state);
                    return Ok(value);
                }
                Err(error) => error,
            };
        }
    }

    /// The first `n` delays of the policy's backoff, jitter included, drawn
    /// from its generator (without server hints): what a call that keeps failing
    /// would wait, for a log line or a test. A seeded policy's calls then go on
    /// from where these draws left its generator.
    pub fn preview_delays(&self, n: usize) -> Vec<Duration> {
        let core = self.checked();
        let mut rng = self.seed.draw();
        let mut state = BackoffState::new();
        (0..n)
            .map(|_| core.backoff().next_delay(&mut state, &mut rng))
            .collect()
    }
}

impl RetryPolicy {
    /// The core's policy, or a panic naming the invalid option.
    #[track_caller]
    fn checked(&self) -> CorePolicy {
        match self.validate().and_then(|()| self.to_core()) {
            Ok(policy) => policy,
            Err(error) => panic!("invalid RetryPolicy: {error}"),
        }
    }
}

/// A seed that differs between calls and processes.
pub(crate) fn random_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state: &RandomState = &RANDOM;
    state.hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

static RANDOM: std::sync::LazyLock<RandomState> = std::sync::LazyLock::new(RandomState::new);
