//! A rate limiter: the core's GCRA, waited out with `embassy_time::Timer`.

use core::future::Future;
use core::time::Duration;

use embassy_time::Timer;
use seawall_core::rate_limit::{self as core_rate_limit, InsufficientCapacity, NotUntil, Quota};
use seawall_core::wait::{Turn, Wait};

use crate::clock::{EmbassyClock, to_embassy_duration};
use crate::error::Error;

/// A rate limiter shared by every task that calls the same dependency (a
/// `static`): at most the quota's rate, in bursts of at most its burst.
///
/// [`call`](Self::call) refuses a call over the rate at once
/// ([`Error::RateLimited`], with when it would be admitted);
/// [`call_waiting`](Self::call_waiting) sleeps until it is admitted, up to a
/// maximum wait.
///
/// ```
/// use core::time::Duration;
/// use seawall_embassy::core::rate_limit::Quota;
/// use seawall_embassy::{Error, RateLimiter};
///
/// // 10 messages a second, bursts of 3.
/// static UPLINK: RateLimiter = match Quota::new(10, Duration::from_secs(1), 3) {
///     Ok(quota) => RateLimiter::new(quota),
///     Err(_) => panic!("invalid quota"),
/// };
///
/// async fn send(message: &[u8]) -> Result<(), ()> { let _ = message; Ok(()) }
///
/// async fn publish(message: &[u8]) -> Result<(), Error<()>> {
///     UPLINK.call_waiting(Duration::from_millis(500), || send(message)).await
/// }
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    inner: core_rate_limit::RateLimiter,
}

impl RateLimiter {
    /// A limiter with `quota`, whose whole burst is available at once.
    pub const fn new(quota: Quota) -> Self {
        Self {
            inner: core_rate_limit::RateLimiter::new(quota),
        }
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.inner.quota()
    }

    /// Admits one call now, or says when it would be admitted.
    pub fn check(&self) -> Result<(), NotUntil> {
        self.inner.check(&EmbassyClock)
    }

    /// Admits a request of `n` cells now (all or none), or says when it would
    /// be admitted; `n` above the burst could never be, an error.
    pub fn check_n(&self, n: u32) -> Result<Result<(), NotUntil>, InsufficientCapacity> {
        self.inner.check_n(n, &EmbassyClock)
    }

    /// Forgets every request: the whole burst is available again.
    pub fn reset(&self) {
        self.inner.reset();
    }

    /// Runs the call `f` makes if the rate allows it now;
    /// [`Error::RateLimited`] at once otherwise.
    pub async fn call<T, E, F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.check()?;
        f().await.map_err(Error::Inner)
    }

    /// Runs the call `f` makes once the rate allows it, sleeping up to
    /// `max_wait` for that; [`Error::RateLimited`] at once when the limiter
    /// says the wait would be longer.
    pub async fn call_waiting<T, E, F, Fut>(&self, max_wait: Duration, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.acquire(max_wait).await?;
        f().await.map_err(Error::Inner)
    }

    /// Sleeps until one call is admitted (and counts it), unless the limiter
    /// says that would take longer than `max_wait` from now (`Duration::MAX`:
    /// as long as it takes). The core's [`Wait`] decides, measured on the
    /// embassy clock; this only sleeps.
    pub async fn acquire(&self, max_wait: Duration) -> Result<(), NotUntil> {
        let wait = Wait::start(max_wait, &EmbassyClock);
        loop {
            let not_until = match self.check() {
                Ok(()) => return Ok(()),
                Err(not_until) => not_until,
            };
            // Another task may take the cell first: the loop checks again after waking.
            match wait.next(Some(not_until.retry_after()), &EmbassyClock) {
                Turn::Sleep(delay) => Timer::after(to_embassy_duration(delay)).await,
                Turn::GiveUp => return Err(not_until),
            }
        }
    }
}
