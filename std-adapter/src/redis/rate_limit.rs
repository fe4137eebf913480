//! The shared rate limiter: the core's GCRA in one Lua script, on Redis's clock.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use seawall_core::rate_limit::{InsufficientCapacity, NotUntil, Quota, RateLimiter as CoreLimiter};
use seawall_core::{Clock, ConfigError, Instant};

use super::scripts::{self, Arg};
use super::store::{RedisStore, StoreError, WhenUnavailable};
use crate::rate_limit::wait_for_turn;
use crate::{Error, RateLimiterConfig, TokioClock};

/// The most a shared limiter's TAT may run ahead of now (`burst * period /
/// rate`): Lua counts in doubles, exact to 2^53; this leaves room to add.
const MAX_TOLERANCE: u64 = 1 << 52;

/// A rate limiter whose quota holds for every process that uses the same
/// [`RedisStore`] prefix and name: `rate` per `period`, in bursts of `burst`,
/// for the fleet.
///
/// Each check is one script call (GCRA on one key, Redis's clock), with the
/// semantics of the core's [`RateLimiter`](seawall_core::rate_limit::RateLimiter):
/// over any span `T` the fleet is admitted at most `burst + T * rate / period`
/// cells, weighted requests take `n` cells at once, and `n` above the burst is
/// an error. While Redis is unreachable it follows
/// [`SharedConfig::when_unavailable`](super::SharedConfig::when_unavailable):
/// a local limiter with the same quota (per process), or refusal; it tries
/// Redis again after one sync interval.
///
/// ```no_run
/// use std::time::Duration;
/// use seawall::RateLimiterConfig;
/// use seawall::redis::{RedisStore, SharedConfig};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::new("redis://127.0.0.1:6379", SharedConfig::default())?;
/// // 100 calls per second to the payment API, for all our processes together.
/// let limiter = store.rate_limiter("payments-api", RateLimiterConfig {
///     rate: 100,
///     burst: 20,
///     max_wait: Duration::from_millis(50),
///     ..Default::default()
/// })?;
/// limiter.call(|| async { Ok::<_, std::io::Error>(()) }).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SharedRateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    store: RedisStore,
    key: String,
    config: RateLimiterConfig,
    quota: Quota,
    /// `burst * interval`, in nanoseconds.
    tolerance: u64,
    /// Used while Redis is unreachable, when failing open.
    local: CoreLimiter,
    /// Until when (core nanoseconds on tokio's clock) Redis is not asked again.
    down_until: AtomicU64,
    /// This process's requests, admitted and refused.
    admitted: AtomicU64,
    refused: AtomicU64,
    /// The fleet's clock when given (tests): replaces Redis's `TIME`.
    fleet_clock: Option<Arc<dyn Clock + Send + Sync>>,
}

impl SharedRateLimiter {
    pub(crate) fn new(
        store: RedisStore,
        name: &str,
        config: RateLimiterConfig,
        fleet_clock: Option<Arc<dyn Clock + Send + Sync>>,
    ) -> Result<Self, ConfigError> {
        let quota = Quota::new(config.rate, config.period, config.burst)?;
        let interval = u64::try_from(quota.interval().as_nanos()).unwrap_or(u64::MAX);
        let tolerance = interval.saturating_mul(config.burst.into());
        if tolerance > MAX_TOLERANCE {
            return Err(ConfigError::new(
                "burst",
                "must keep burst * period / rate within 52 days for a shared limiter",
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                key: store.key("rate", name),
                store,
                config,
                quota,
                tolerance,
                local: CoreLimiter::new(quota),
                down_until: AtomicU64::new(0),
                admitted: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                fleet_clock,
            }),
        })
    }

    /// Makes the whole burst available again, for the fleet (a manual
    /// operation: it forgets every process's requests).
    pub async fn reset(&self) -> Result<(), StoreError> {
        let inner = &*self.inner;
        inner.local.reset();
        inner.store.delete(&inner.key).await
    }

    /// The configuration.
    pub fn config(&self) -> RateLimiterConfig {
        self.inner.config
    }

    /// Whether Redis was unreachable at the last attempt (the limiter decides
    /// locally, or refuses, until it tries again).
    pub fn is_fallback(&self) -> bool {
        self.inner.down_until.load(Ordering::Relaxed) > TokioClock.now().as_nanos()
    }

    /// This process's requests so far: (admitted, refused).
    pub fn counts(&self) -> (u64, u64) {
        (
            self.inner.admitted.load(Ordering::Relaxed),
            self.inner.refused.load(Ordering::Relaxed),
        )
    }

    /// Admits one call now, or says when it would be admitted; never waits
    /// for its turn (only for Redis, within the store's timeout).
    pub async fn check(&self) -> Result<(), NotUntil> {
        self.take(1).await
    }

    /// Admits a request of `n` cells at once (all or none). `n` above the
    /// burst is an [`InsufficientCapacity`] error; `n` of zero is always
    /// admitted, without asking Redis.
    pub async fn check_n(&self, n: u32) -> Result<Result<(), NotUntil>, InsufficientCapacity> {
        let burst = self.inner.quota.burst();
        if n > burst {
            return Err(InsufficientCapacity {
                requested: n,
                burst,
            });
        }
        if n == 0 {
            return Ok(Ok(()));
        }
        Ok(self.take(n).await)
    }

    /// Admits one call, sleeping until its turn if that comes within
    /// `max_wait`; otherwise refuses it at once.
    pub async fn acquire(&self) -> Result<(), NotUntil> {
        wait_for_turn(self.inner.config.max_wait, || self.check()).await
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

    /// `n` cells (1 to the burst), counted as admitted or refused.
    async fn take(&self, n: u32) -> Result<(), NotUntil> {
        let result = self.take_uncounted(n).await;
        let counter = match result {
            Ok(()) => &self.inner.admitted,
            Err(_) => &self.inner.refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// `n` cells (1 to the burst), from Redis or, while it is unreachable, as
    /// the policy says.
    async fn take_uncounted(&self, n: u32) -> Result<(), NotUntil> {
        let inner = &*self.inner;
        let now = TokioClock.now();
        if inner.down_until.load(Ordering::Relaxed) <= now.as_nanos() {
            let interval = u64::try_from(inner.quota.interval().as_nanos()).unwrap_or(u64::MAX);
            let increment = interval.saturating_mul(n.into());
            let (now_s, now_ns) = match &inner.fleet_clock {
                Some(clock) => {
                    let nanos = clock.now().as_nanos();
                    (
                        Arg::Uint(nanos / 1_000_000_000),
                        Arg::Uint(nanos % 1_000_000_000),
                    )
                }
                None => (Arg::from(""), Arg::from("")),
            };
            let args = [
                Arg::Uint(inner.tolerance),
                Arg::Uint(increment),
                now_s,
                now_ns,
            ];
            let reply = inner
                .store
                .eval::<Vec<i64>>(&scripts::GCRA, &[&inner.key], &args)
                .await;
            if let Ok(reply) = reply {
                match reply[..] {
                    [1, _] => return Ok(()),
                    [0, wait] => {
                        let now = TokioClock.now();
                        let wait = Duration::from_nanos(wait.max(1).unsigned_abs());
                        return Err(NotUntil::new(now, now + wait));
                    }
                    _ => {}
                }
            }
            // No usable answer: decide locally until the next try.
            let retry = TokioClock.now() + inner.store.config().sync_interval;
            inner.down_until.store(retry.as_nanos(), Ordering::Relaxed);
        }
        match inner.store.config().when_unavailable {
            WhenUnavailable::FailOpen => match inner.local.check_n(n, &TokioClock) {
                Ok(result) => result,
                // `n` was checked against the same burst.
                Err(_) => Err(self.refusal()),
            },
            WhenUnavailable::FailClosed => Err(self.refusal()),
        }
    }

    /// Refused until Redis is tried again.
    fn refusal(&self) -> NotUntil {
        let now = TokioClock.now();
        let retry = Instant::from_nanos(self.inner.down_until.load(Ordering::Relaxed));
        NotUntil::new(now, retry.max(now + Duration::from_nanos(1)))
    }
}

impl std::fmt::Debug for SharedRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRateLimiter")
            .field("key", &self.inner.key)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds a [`SharedRateLimiter`]: its configuration and, for tests, the
/// fleet's clock. Made by [`RedisStore::rate_limiter_builder`].
pub struct SharedRateLimiterBuilder {
    store: RedisStore,
    name: String,
    config: RateLimiterConfig,
    fleet_clock: Option<Arc<dyn Clock + Send + Sync>>,
}

impl SharedRateLimiterBuilder {
    pub(crate) fn new(store: RedisStore, name: String) -> Self {
        Self {
            store,
            name,
            config: RateLimiterConfig::default(),
            fleet_clock: None,
        }
    }

    /// The quota and `max_wait` (default: [`RateLimiterConfig::default`]).
    pub fn config(mut self, config: RateLimiterConfig) -> Self {
        self.config = config;
        self
    }

    /// The fleet's clock, in place of Redis's `TIME`: for tests and
    /// simulations that run a fleet on virtual time (every process of the
    /// fleet must use the same one).
    pub fn fleet_clock(mut self, clock: Arc<dyn Clock + Send + Sync>) -> Self {
        self.fleet_clock = Some(clock);
        self
    }

    /// Validates the configuration and builds the limiter.
    pub fn build(self) -> Result<SharedRateLimiter, ConfigError> {
        SharedRateLimiter::new(self.store, &self.name, self.config, self.fleet_clock)
    }
}

impl std::fmt::Debug for SharedRateLimiterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRateLimiterBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
