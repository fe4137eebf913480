//! Composition: one policy made of timeout, retry, hedge, circuit breaker,
//! bulkhead, rate limiter and fallback, in a fixed, documented order.
//!
//! # The order, from the outside in
//!
//! ```text
//! fallback( retry( hedge( circuit breaker( rate limiter( bulkhead( timeout( call )))))))
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
//! 3. **Hedge** inside the retry: each attempt of the retry is a hedged group
//!    (Polly's standard hedging pipeline has the same shape). Every hedged
//!    attempt passes the breaker and takes its own rate-limit token, place and
//!    time limit; a hedge that loses is dropped, which releases its breaker
//!    permit unrecorded and gives its place back. A failure worth retrying
//!    sends the next hedged attempt at once; the group's last failure goes to
//!    the retry. Give the hedge and the retry the same
//!    [`RetryBudget`](crate::RetryBudget) so that together they stay within
//!    it: a success pays it back once (by the retry), and the failure that
//!    ends a group is counted by the group and by the retry alike.
//! 4. **Circuit breaker** counts what reaches the dependency: a timed-out attempt
//!    is a failure, a call refused by the rate limiter or the bulkhead counts as
//!    nothing (those protect *us*, they say nothing about the dependency), and an
//!    open breaker spends no rate-limit token and takes no place.
//! 5. **Rate limiter** before the bulkhead: a call waiting for its turn holds
//!    no place.
//! 6. **Bulkhead**: a place is held only while the attempt runs.
//! 7. **Timeout** innermost: it limits one attempt. For a limit on the whole
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
use crate::hedge::Hedge;
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
    hedge: Option<Hedge>,
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

    /// The hedge, if any.
    pub fn hedge(&self) -> Option<&Hedge> {
        self.hedge.as_ref()
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
            return self.hedged(f).await.0;
        };
        let shared = &retry.shared;
        let mut state = retry.policy.start(&TokioClock);
        let mut rng = None;
        loop {
            shared.pace().await;
            let (result, failure) = self.hedged(f).await;
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

    /// One attempt of the retry: a hedged group of attempts, or one attempt
    /// without a hedge; with what a retry should know of its error.
    async fn hedged<F, Fut, T, E>(&self, f: &mut F) -> (Result<T, Error<E>>, Failure)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
    {
        let Some(hedge) = &self.hedge else {
            return self.attempt(f).await;
        };
        // Each hedged attempt is one attempt through the policies below; its
        // failure, as the breaker's classifier and the stops say, decides
        // whether the next one goes at once.
        let attempt = || {
            let mut call = Some(f());
            async move {
                let mut once = || call.take().expect("an attempt makes its call once");
                match self.attempt(&mut once).await {
                    (Ok(value), _) => Ok(value),
                    (Err(error), failure) => Err((error, failure)),
                }
            }
        };
        let classify = |result: &Result<T, (Error<E>, Failure)>| {
            result.as_ref().err().map(|(_, failure)| *failure)
        };
        let events = hedge.events();
        // A retry sharing the hedge's budget or quota pays it back for the
        // call's success itself: once.
        let shared = self.retry.as_ref().is_some_and(|retry| {
            same(hedge.budget(), retry.shared.budget.as_ref())
                || same(hedge.quota(), retry.shared.quota.as_ref())
        });
        let allowance = hedge.allowance();
        match crate::hedge::run::run(
            hedge.core(),
            allowance,
            !shared,
            &classify,
            &events,
            attempt,
        )
        .await
        {
            Ok(value) => (Ok(value), Failure::not_retryable()),
            Err((error, failure)) => (Err(error), failure),
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

/// Whether `a` and `b` are the same shared value.
fn same<T>(a: Option<&std::sync::Arc<T>>, b: Option<&std::sync::Arc<T>>) -> bool {
    a.zip(b).is_some_and(|(a, b)| std::sync::Arc::ptr_eq(a, b))
}
