//! The adaptive concurrency limit for async calls: the core's
//! [`AdaptiveLimiter`](seawall_core::limit::AdaptiveLimiter) read with tokio's
//! clock.
//!
//! The limiter is a bulkhead whose maximum follows the dependency: it admits a
//! call while fewer than the current limit are in flight and learns from how
//! each one ends (its latency; an overload). A refusal is immediate and is the
//! same error as a full bulkhead's, [`Error::BulkheadFull`], carrying the limit
//! at the time. A call cancelled (its future dropped) gives its place back and
//! teaches nothing.

mod layer;
mod permit;
mod service;

use std::future::Future;
use std::sync::Arc;

use seawall_core::breaker::{Classify, Outcome as BreakerOutcome};
use seawall_core::bulkhead::BulkheadFull;
use seawall_core::limit::{AdaptiveLimiter as CoreLimiter, LimitConfig, LimiterStats, Outcome};

pub use layer::AdaptiveLimiterLayer;
pub use permit::LimiterPermit;
pub use service::AdaptiveLimiterService;

use crate::clock::TokioClock;
use crate::error::Error;

/// A concurrency limit that adapts to the dependency behind it (AIMD,
/// gradient or Vegas; see [`LimitConfig`]).
///
/// A handle: clones share the same limit.
///
/// ```
/// use std::time::Duration;
/// use seawall::AdaptiveLimiter;
/// use seawall::core::limit::{Aimd, Algorithm, LimitConfig};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let config = LimitConfig::builder()
///     .algorithm(Algorithm::Aimd(Aimd::DEFAULT))
///     .initial_limit(1)
///     .build()
///     .unwrap();
/// let limiter = AdaptiveLimiter::new(config);
/// let held = limiter.try_acquire().unwrap();
/// let refused = limiter.call(|| async { Ok::<_, ()>(()) }).await.unwrap_err();
/// assert!(refused.is_bulkhead_full());
/// held.success();
/// assert_eq!(limiter.call(|| async { Ok::<_, ()>(7) }).await, Ok(7));
/// # }
/// ```
#[derive(Clone)]
pub struct AdaptiveLimiter {
    core: Arc<CoreLimiter>,
}

impl AdaptiveLimiter {
    /// A limiter with `config` (validated when it was built).
    pub fn new(config: LimitConfig) -> Self {
        Self {
            core: Arc::new(CoreLimiter::new(config)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LimitConfig {
        self.core.config()
    }

    /// The limit now.
    pub fn limit(&self) -> u32 {
        self.core.limit()
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> u32 {
        self.core.in_flight()
    }

    /// The counters and the limit.
    pub fn stats(&self) -> LimiterStats {
        self.core.stats()
    }

    /// The core limiter.
    pub fn core(&self) -> &CoreLimiter {
        &self.core
    }

    /// Back to the initial limit (and a new baseline probe).
    pub fn reset(&self) {
        self.core.reset();
    }

    /// A place now, or [`BulkheadFull`] at the current limit; the permit
    /// records how the call ended.
    pub fn try_acquire(&self) -> Result<LimiterPermit, BulkheadFull> {
        let ticket = self.core.try_acquire_ticket(&TokioClock).map_err(full)?;
        Ok(LimiterPermit::new(Arc::clone(&self.core), ticket))
    }

    /// Runs the future made by `f` under the limit: an `Ok` is a success, an
    /// `Err` an overload (as a breaker counts errors as failures); refused at
    /// once with [`Error::BulkheadFull`] when the limit is reached.
    pub async fn call<F, Fut, T, E>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_with(seawall_core::breaker::ErrorsAreFailures, f)
            .await
    }

    /// [`call`](Self::call), with `classifier` deciding how each result counts
    /// (the breaker's classifiers): a failure is an overload, a success teaches
    /// the latency, `None` teaches nothing (an error that says nothing about
    /// load).
    pub async fn call_with<K, F, Fut, T, E>(&self, classifier: K, f: F) -> Result<T, Error<E>>
    where
        K: Classify<T, E>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire()?;
        let result = f().await;
        match classifier.classify(&result) {
            Some(outcome) => permit.record(outcome_of(outcome)),
            None => permit.release(),
        }
        result.map_err(Error::Inner)
    }
}

/// A breaker's verdict, as the limiter learns it: a failure is an overload.
pub(crate) fn outcome_of(outcome: BreakerOutcome) -> Outcome {
    match outcome {
        BreakerOutcome::Success => Outcome::Success,
        BreakerOutcome::Failure => Outcome::Overload,
    }
}

fn full(exceeded: seawall_core::limit::LimitExceeded) -> BulkheadFull {
    BulkheadFull {
        max_concurrent: exceeded.limit,
    }
}

impl std::fmt::Debug for AdaptiveLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptiveLimiter")
            .field("algorithm", &self.config().algorithm().as_str())
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}
