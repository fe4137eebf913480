//! Composition: one policy made of timeout, retry, circuit breaker, bulkhead,
//! rate limiter and fallback, in a fixed, documented order.
//!
//! # The order, from the outside in
//!
//! ```text
//! fallback( retry( circuit breaker( rate limiter( bulkhead( timeout( call ))))))
//! ```
//!
//! 1. **Fallback** is outermost: it answers the error that remains once every
//!    other policy has done what it could.
//! 2. **Retry** wraps everything per attempt: each attempt asks the breaker
//!    again, so an open breaker stops the retries at once (a rejection is
//!    retried no sooner than the breaker's `retry_after`, capped by the
//!    backoff's maximum delay), and each attempt gets its own timeout, place and
//!    rate-limit token. Its delays are slept outside the bulkhead: a waiting
//!    retry holds no place.
//! 3. **Circuit breaker** counts what reaches the dependency: a timed-out attempt
//!    is a failure, a call refused by the rate limiter or the bulkhead counts as
//!    nothing (those protect *us*, they say nothing about the dependency), and an
//!    open breaker spends no rate-limit token and takes no place.
//! 4. **Rate limiter** before the bulkhead: a call waiting for its turn holds
//!    no place.
//! 5. **Bulkhead**: a place is held only while the attempt runs.
//! 6. **Timeout** innermost: it limits one attempt. For a limit on the whole
//!    call, retries included, use the retry policy's `deadline`.
//!
//! The breaker's classifier decides what a failure is, for the breaker and the
//! retry alike: a result it calls a success (a 404) or ignores is returned
//! without retry. Without a breaker every error is a failure.

mod builder;

use std::future::Future;
use std::time::Duration;

use seawall_core::breaker::Outcome;
use seawall_core::retry::{Failure, RetryDecision, RetryPolicy as CorePolicy};

pub use builder::PolicyBuilder;

use crate::breaker::{CircuitBreaker, Classify, ErrorsAreFailures};
use crate::bulkhead::Bulkhead;
use crate::clock::TokioClock;
use crate::error::Error;
use crate::fallback::{Fallback, NoFallback};
use crate::rate_limit::RateLimiter;
use crate::retry::{RetryPolicy, Shared};
use crate::timeout::Timeout;

#[derive(Debug, Clone)]
struct Retry {
    policy: CorePolicy,
    shared: Shared,
    source: RetryPolicy,
}

/// Timeout, retry, circuit breaker, bulkhead, rate limiter and fallback around
/// one call, in the order of the [module documentation](self); each is
/// optional.
///
/// ```
/// use std::time::Duration;
/// use seawall::{CircuitBreaker, CircuitBreakerConfig, FallbackValue, Policy, RetryPolicy, RetryStrategy};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let breaker = CircuitBreaker::new("inventory", CircuitBreakerConfig { failure_threshold: 3, ..Default::default() });
/// let policy = Policy::builder()
///     .timeout(Duration::from_secs(2))
///     .retry(RetryPolicy { max_attempts: 3, strategy: RetryStrategy::Fixed { delay: Duration::from_millis(100) }, ..Default::default() })
///     .circuit_breaker(breaker.clone())
///     .fallback(FallbackValue(0u32))
///     .build()?;
///
/// // Hangs: three attempts time out, the breaker opens, the fallback answers.
/// let stock = policy.execute(|| async {
///     tokio::time::sleep(Duration::from_secs(3600)).await;
///     Ok::<u32, std::io::Error>(12)
/// }).await;
/// assert_eq!(stock.unwrap(), 0);
/// assert_eq!(breaker.state(), seawall::State::Open);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Policy<K = ErrorsAreFailures, Fb = NoFallback> {
    timeout: Option<Duration>,
    retry: Option<Retry>,
    breaker: Option<CircuitBreaker<K>>,
    classifier: K,
    rate_limiter: Option<RateLimiter>,
    bulkhead: Option<Bulkhead>,
    fallback: Fb,
}

impl Policy {
    /// A builder with no policy yet.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::new()
    }
}

impl<K, Fb> Policy<K, Fb> {
    /// The circuit breaker, if any.
    pub fn circuit_breaker(&self) -> Option<&CircuitBreaker<K>> {
        self.breaker.as_ref()
    }

    /// The retry policy, if any.
    pub fn retry(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref().map(|retry| &retry.source)
    }

    /// Runs the future made by `f` through every policy (calling `f` again for
    /// each retry) and returns its value, or the error left once the fallback
    /// has had its say.
    pub async fn execute<F, Fut, T, E>(&self, mut f: F) -> Result<T, Error<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
        Fb: Fallback<T, E>,
    {
        match self.retrying(&mut f).await {
            Ok(value) => Ok(value),
            Err(error) => self.fallback.recover(error).await,
        }
    }

    async fn retrying<F, Fut, T, E>(&self, f: &mut F) -> Result<T, Error<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
    {
        let Some(retry) = &self.retry else {
            return self.attempt(f).await.0;
        };
        let shared = &retry.shared;
        let mut state = retry.policy.start(&TokioClock);
        let mut rng = None;
        loop {
            shared.pace().await;
            let (result, failure) = self.attempt(f).await;
            let error = match result {
                Ok(value) => {
                    shared.observe(None);
                    retry.policy.on_success(&state, shared.allowance());
                    return Ok(value);
                }
                Err(error) => error,
            };
            shared.observe(Some(&failure));
            let rng = rng.get_or_insert_with(|| retry.source.seed.draw());
            let attempt = state.attempt();
            let listener = retry.source.listener.as_deref();
            match retry
                .policy
                .on_failure(&mut state, failure, shared.allowance(), &TokioClock, rng)
            {
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
                    return Err(error);
                }
            }
        }
    }

    /// One attempt through the breaker, the rate limiter, the bulkhead and the
    /// timeout; with what a retry should know of its error.
    async fn attempt<F, Fut, T, E>(&self, f: &mut F) -> (Result<T, Error<E>>, Failure)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
    {
        let permit = match self.breaker.as_ref().map(CircuitBreaker::try_acquire) {
            // Shadow mode: what the breaker would reject goes on, unrecorded.
            Some(Err(_)) if self.breaker.as_ref().is_some_and(CircuitBreaker::is_shadow) => None,
            Some(Err(rejection)) => {
                let error = Error::Rejected(rejection);
                let failure = error.failure();
                return (Err(error), failure);
            }
            Some(Ok(permit)) => Some(permit),
            None => None,
        };
        let (result, outcome) = match self.guarded(f).await {
            Ok(result) => {
                let outcome = self.classifier.classify(&result);
                (result.map_err(Error::Inner), outcome)
            }
            // A policy's stop counts for the breaker as the core's table
            // says: a refusal is nothing, a timeout a failure.
            Err(stop) => {
                let outcome = stop.outcome(|_| None);
                (Err(stop), outcome)
            }
        };
        if let Some(permit) = permit {
            match outcome {
                Some(outcome) => {
                    permit.record(outcome);
                }
                None => permit.release(),
            }
        }
        let failure = match &result {
            Err(Error::Inner(_)) if outcome == Some(Outcome::Failure) => Failure::retryable(),
            Err(Error::Inner(_)) => Failure::not_retryable(),
            Err(stop) => stop.failure(),
            Ok(_) => Failure::not_retryable(),
        };
        (result, failure)
    }

    /// The call through the rate limiter, the bulkhead and the timeout: the
    /// call's own result, or the stop of one of them (never `Error::Inner`).
    async fn guarded<F, Fut, T, E>(&self, f: &mut F) -> Result<Result<T, E>, Error<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(limiter) = &self.rate_limiter {
            limiter.acquire().await?;
        }
        let _place = match &self.bulkhead {
            Some(bulkhead) => Some(bulkhead.enter().await?),
            None => None,
        };
        match self.timeout {
            Some(limit) => Ok(Timeout::new(limit, f()).await?),
            None => Ok(f().await),
        }
    }
}
