//! An adaptive limit on the calls in flight: a bulkhead whose size follows the
//! dependency.

use core::future::Future;

use seawall_core::breaker::{Classify, ErrorsAreFailures, Outcome as BreakerOutcome};
use seawall_core::bulkhead::BulkheadFull;
use seawall_core::limit::{self as core_limit, LimitConfig, LimitPermit, LimiterStats, Outcome};

use crate::clock::EmbassyClock;
use crate::error::Error;

/// An adaptive concurrency limit (AIMD, gradient or Vegas; see
/// [`LimitConfig`]) across every task that shares it (a `static`), read on
/// embassy-time's clock.
///
/// A call that finds the limit reached is refused at once with
/// [`Error::BulkheadFull`] (carrying the limit at the time): an adaptive limit
/// is a bulkhead whose size moves. A call's latency teaches the limit; an error
/// is an overload (the classifier of [`call_with`](Self::call_with) decides
/// otherwise); a call whose future is dropped teaches nothing.
///
/// ```
/// use seawall_embassy::{AdaptiveLimiter, Error};
/// use seawall_embassy::core::limit::{Aimd, Algorithm, LimitConfig};
///
/// static UPLINK: AdaptiveLimiter = AdaptiveLimiter::new(
///     match LimitConfig::builder()
///         .algorithm(Algorithm::Aimd(Aimd::DEFAULT))
///         .initial_limit(4)
///         .max_limit(16)
///         .build()
///     {
///         Ok(config) => config,
///         Err(_) => panic!("invalid limit"),
///     },
/// );
///
/// async fn send(frame: &[u8]) -> Result<usize, ()> { Ok(frame.len()) }
///
/// async fn report(frame: &[u8]) -> Result<usize, Error<()>> {
///     UPLINK.call(|| send(frame)).await
/// }
/// ```
#[derive(Debug)]
pub struct AdaptiveLimiter {
    inner: core_limit::AdaptiveLimiter,
}

impl AdaptiveLimiter {
    /// A limiter at `config`'s initial limit.
    pub const fn new(config: LimitConfig) -> Self {
        Self {
            inner: core_limit::AdaptiveLimiter::new(config),
        }
    }

    /// Runs the call `f` makes under the limit: an `Ok` teaches its latency, an
    /// `Err` is an overload; [`Error::BulkheadFull`] at once when the limit is
    /// reached.
    pub async fn call<T, E, F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_with(ErrorsAreFailures, f).await
    }

    /// [`call`](Self::call), with `classifier` deciding how each result counts:
    /// a failure is an overload, `None` teaches nothing.
    pub async fn call_with<T, E, F, Fut, K>(&self, classifier: K, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
    {
        let permit = self.try_acquire()?;
        let result = f().await;
        match classifier.classify(&result) {
            Some(BreakerOutcome::Success) => permit.record(Outcome::Success, &EmbassyClock),
            Some(BreakerOutcome::Failure) => permit.record(Outcome::Overload, &EmbassyClock),
            None => drop(permit),
        }
        result.map_err(Error::Inner)
    }

    /// Takes a place by hand; record the call's end on the permit (dropped, it
    /// gives the place back unrecorded).
    pub fn try_acquire(&self) -> Result<LimitPermit<'_>, BulkheadFull> {
        self.inner
            .try_acquire(&EmbassyClock)
            .map_err(|exceeded| BulkheadFull {
                max_concurrent: exceeded.limit,
            })
    }

    /// The limit now.
    pub fn limit(&self) -> u32 {
        self.inner.limit()
    }

    /// The calls in flight now.
    pub fn in_flight(&self) -> u32 {
        self.inner.in_flight()
    }

    /// The counters and the limit.
    pub fn stats(&self) -> LimiterStats {
        self.inner.stats()
    }

    /// Back to the initial limit (and a new baseline probe).
    pub fn reset(&self) {
        self.inner.reset();
    }
}
