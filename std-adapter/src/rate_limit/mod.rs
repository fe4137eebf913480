//! The rate limiter: the core's GCRA, waiting with tokio.
//!
//! The decision ("admitted", or "not until T") is the core's
//! [`RateLimiter`](seawall_core::rate_limit::RateLimiter) on one atomic word.
//! This module waits: when a call would have to wait no longer than
//! `max_wait`, it sleeps until its turn; otherwise it is refused at once with
//! [`NotUntil`], which says when to come back.

mod layer;
mod service;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use seawall_core::rate_limit::{InsufficientCapacity, NotUntil, Quota, RateLimiter as CoreLimiter};
use seawall_core::wait::{Turn, Wait};
use seawall_core::{Clock, ConfigError, Instant};

pub use layer::RateLimiterLayer;
pub use service::RateLimiterService;

use crate::clock::TokioClock;
use crate::error::Error;

/// A rate limiter's quota and patience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimiterConfig {
    /// Calls admitted per `period` (at least 1; default 50).
    pub rate: u64,
    /// The period of `rate` (default 1 s).
    pub period: Duration,
    /// Calls admitted at once after a quiet spell (at least 1; default 50).
    pub burst: u32,
    /// How long a call may wait for its turn before it is refused (default
    /// zero: refused at once; `Duration::MAX`: as long as it takes).
    pub max_wait: Duration,
}

impl Default for RateLimiterConfig {
    fn default() -> Self {
        Self {
            rate: 50,
            period: Duration::from_secs(1),
            burst: 50,
            max_wait: Duration::ZERO,
        }
    }
}

/// Limits the rate of calls to a dependency (or of requests a service
/// accepts): `rate` per `period`, with bursts of `burst`.
///
/// A handle: clones share the same quota.
///
/// ```
/// use std::time::Duration;
/// use seawall::{RateLimiter, RateLimiterConfig};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let limiter = RateLimiter::new(RateLimiterConfig { rate: 10, burst: 1, ..Default::default() });
/// assert!(limiter.call(|| async { Ok::<_, ()>(()) }).await.is_ok());
/// let refused = limiter.call(|| async { Ok::<_, ()>(()) }).await.unwrap_err();
/// assert_eq!(refused.retry_after(), Some(Duration::from_millis(100)));
///
/// // Willing to wait 100 ms: admitted after sleeping.
/// let patient = RateLimiter::new(RateLimiterConfig { rate: 10, burst: 1, max_wait: Duration::from_millis(100), ..Default::default() });
/// patient.acquire().await.unwrap();
/// let start = tokio::time::Instant::now();
/// patient.acquire().await.unwrap();
/// assert_eq!(start.elapsed(), Duration::from_millis(100));
/// # }
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    core: CoreLimiter,
    config: RateLimiterConfig,
    /// A clock chosen by the user; tokio's otherwise.
    clock: Option<Arc<dyn Clock + Send + Sync>>,
    /// Shadow mode ([`RateLimiter::shadow`]): decide, count, never refuse.
    shadow: bool,
    /// Calls refused in shadow mode (let through).
    shadow_refusals: AtomicU64,
}

impl Clock for Inner {
    fn now(&self) -> Instant {
        match &self.clock {
            Some(clock) => clock.now(),
            None => TokioClock.now(),
        }
    }
}

impl RateLimiter {
    /// A rate limiter with `config`.
    ///
    /// # Panics
    ///
    /// If `config` is invalid, with the message of the [`ConfigError`] that
    /// [`try_new`](Self::try_new) would return.
    #[track_caller]
    pub fn new(config: RateLimiterConfig) -> Self {
        match Self::try_new(config) {
            Ok(limiter) => limiter,
            Err(error) => panic!("{error}"),
        }
    }

    /// A rate limiter with `config`, or its first invalid option.
    pub fn try_new(config: RateLimiterConfig) -> Result<Self, ConfigError> {
        Self::build(config, None)
    }

    /// A rate limiter that reads `clock` instead of tokio's clock (a
    /// [`ManualClock`](seawall_core::ManualClock) in a test); waiting still
    /// sleeps on tokio's timer.
    pub fn with_clock(
        config: RateLimiterConfig,
        clock: Arc<dyn Clock + Send + Sync>,
    ) -> Result<Self, ConfigError> {
        Self::build(config, Some(clock))
    }

    fn build(
        config: RateLimiterConfig,
        clock: Option<Arc<dyn Clock + Send + Sync>>,
    ) -> Result<Self, ConfigError> {
        let quota = Quota::new(config.rate, config.period, config.burst)?;
        Ok(Self {
            inner: Arc::new(Inner {
                core: CoreLimiter::new(quota),
                config,
                clock,
                shadow: false,
                shadow_refusals: AtomicU64::new(0),
            }),
        })
    }

    /// A fresh limiter with the same configuration and clock, in shadow mode:
    /// it decides but does not enforce. [`acquire`](Self::acquire), `call` and
    /// the tower layer never wait and never refuse; a call it would have
    /// refused goes on at once, takes no cell (as a refused call takes none)
    /// and is counted ([`shadow_refusals`](Self::shadow_refusals), the
    /// registry's `seawall_ratelimiter_shadow_refusals_total`). For trying a
    /// quota on production traffic before switching it on.
    ///
    /// ```
    /// use seawall::{RateLimiter, RateLimiterConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let limiter = RateLimiter::new(RateLimiterConfig { rate: 10, burst: 2, ..Default::default() }).shadow();
    /// for _ in 0..5 {
    ///     limiter.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
    /// }
    /// assert_eq!(limiter.shadow_refusals(), 3);
    /// # }
    /// ```
    pub fn shadow(self) -> Self {
        let quota = self.inner.core.quota();
        Self {
            inner: Arc::new(Inner {
                core: CoreLimiter::new(quota),
                config: self.inner.config,
                clock: self.inner.clock.clone(),
                shadow: true,
                shadow_refusals: AtomicU64::new(0),
            }),
        }
    }

    /// Whether the limiter is in [shadow mode](Self::shadow).
    pub fn is_shadow(&self) -> bool {
        self.inner.shadow
    }

    /// The calls a limiter in [shadow mode](Self::shadow) would have refused
    /// (and let through); zero otherwise.
    pub fn shadow_refusals(&self) -> u64 {
        self.inner.shadow_refusals.load(Ordering::Relaxed)
    }

    /// The configuration.
    pub fn config(&self) -> RateLimiterConfig {
        self.inner.config
    }

    /// Admits one call now, or says when it would be admitted; never waits.
    pub fn check(&self) -> Result<(), NotUntil> {
        self.inner.core.check(&*self.inner)
    }

    /// Admits a request of `n` cells at once (all or none) now, or says when it
    /// would be admitted; `n` above the burst can never be admitted.
    pub fn check_n(&self, n: u32) -> Result<Result<(), NotUntil>, InsufficientCapacity> {
        self.inner.core.check_n(n, &*self.inner)
    }

    /// Forgets every request: the whole burst is available again.
    pub fn reset(&self) {
        self.inner.core.reset();
    }

    /// The calls that would be admitted now without waiting (a reading; it
    /// reserves nothing).
    pub fn available(&self) -> u32 {
        self.inner.core.available(&*self.inner)
    }

    /// Admits one call, sleeping until its turn if that comes within
    /// `max_wait`; otherwise refuses it at once. Dropping the future stops
    /// waiting (nothing was reserved).
    pub async fn acquire(&self) -> Result<(), NotUntil> {
        if self.inner.shadow {
            // One decision, counted, never enforced: a refusal it would have
            // waited out within max_wait is let through as well.
            if let Err(not_until) = self.check()
                && not_until.counts_in_shadow(Some(self.inner.config.max_wait))
            {
                self.inner.shadow_refusals.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
        wait_for_turn(self.inner.config.max_wait, || {
            std::future::ready(self.check())
        })
        .await
    }

    /// Runs the future made by `f` once the limiter admits it (see
    /// [`acquire`](Self::acquire)); [`Error::RateLimited`] when it does not.
    pub async fn call<F, Fut, T, E>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.acquire().await?;
        f().await.map_err(Error::Inner)
    }
}

/// Asks `check` until it admits, sleeping on tokio's timer for the wait each
/// refusal names while the core's [`Wait`] allows (within `max_wait` of the
/// start, measured on tokio's clock); the refusal it gives up on is the
/// answer. Dropping the future stops waiting.
pub(crate) async fn wait_for_turn<F, Fut>(max_wait: Duration, mut check: F) -> Result<(), NotUntil>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), NotUntil>>,
{
    let wait = Wait::start(max_wait, &TokioClock);
    loop {
        let not_until = match check().await {
            Ok(()) => return Ok(()),
            Err(not_until) => not_until,
        };
        match wait.next(Some(not_until.retry_after()), &TokioClock) {
            Turn::Sleep(delay) => tokio::time::sleep(delay).await,
            Turn::GiveUp => return Err(not_until),
        }
    }
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("config", &self.inner.config)
            .finish()
    }
}
