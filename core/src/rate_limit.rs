//! A rate limiter: the generic cell rate algorithm (GCRA) on one atomic word.
//!
//! GCRA keeps a single number, the theoretical arrival time (TAT): when the
//! limiter would be idle again if every admitted request had come exactly at the
//! rate. A request of `n` cells at `now` is admitted when
//! `max(TAT, now) + n * interval <= now + burst * interval`, and moves TAT there;
//! otherwise it is refused until that inequality holds. `interval` is the
//! emission interval `period / rate` (rounded up to the nanosecond, so the limiter
//! never admits more than its rate). Over any span of time `T` it admits at most
//! `burst + T / interval` cells, and a client that paces itself at the interval is
//! never refused.
//!
//! The TAT is one `AtomicU64` of nanoseconds; a check is one load and, when
//! admitted, one compare-and-swap. A clock that goes backwards leaves the limiter
//! as if its burst had just been used up at the new time: the next cell waits one
//! interval, not as long as the clock jumped, and no more than the burst is
//! admitted. So a refusal never asks to wait more than `n * interval`.

use core::fmt;
use core::time::Duration;

use crate::error::ConfigError;
use crate::sync::{AtomicU64, Ordering};
use crate::time::{Clock, Instant, duration_nanos};

/// The longest a limiter may book cells ahead of now (`burst * period /
/// rate`): 2^62 ns, about 146 years. Clocks start near zero or, in the tokio
/// adapter, at 2^62 ns, so a reading plus this stays far below `u64::MAX`.
pub const MAX_TOLERANCE: Duration = Duration::from_nanos(1 << 62);

/// How much a [`RateLimiter`] lets through: `rate` cells per `period`, with
/// bursts of up to `burst` cells.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::rate_limit::Quota;
///
/// let quota = Quota::new(100, Duration::from_secs(1), 10).unwrap();
/// assert_eq!(quota.interval(), Duration::from_millis(10));
/// assert_eq!(Quota::per_second(0).unwrap_err().to_string(), "invalid rate: must be at least 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    interval: u64,
    burst: u32,
    rate: u64,
    period: u64,
}

impl Quota {
    /// `rate` cells (at least 1) every `period` (more than zero), in bursts of up
    /// to `burst` cells (at least 1). `burst * period / rate`, how far ahead of
    /// now the limiter may book cells, must stay within [`MAX_TOLERANCE`]
    /// (146 years), so that no clock reading plus it can overflow and every
    /// refusal names a time to come back.
    pub const fn new(rate: u64, period: Duration, burst: u32) -> Result<Quota, ConfigError> {
        if rate == 0 {
            return Err(ConfigError::new("rate", "must be at least 1"));
        }
        if period.is_zero() {
            return Err(ConfigError::new("period", "must be greater than zero"));
        }
        if period.as_nanos() > MAX_TOLERANCE.as_nanos() {
            return Err(ConfigError::new("period", "must be at most 146 years"));
        }
        let period = duration_nanos(period);
        if burst == 0 {
            return Err(ConfigError::new("burst", "must be at least 1"));
        }
        let interval = period.div_ceil(rate);
        match interval.checked_mul(burst as u64) {
            Some(tolerance) if tolerance <= duration_nanos(MAX_TOLERANCE) => {}
            _ => {
                return Err(ConfigError::new(
                    "burst",
                    "must keep burst * period / rate within 146 years",
                ));
            }
        }
        Ok(Quota {
            interval,
            burst,
            rate,
            period,
        })
    }

    /// `rate` cells per second, in bursts of up to `rate` (at most `u32::MAX`).
    pub const fn per_second(rate: u32) -> Result<Quota, ConfigError> {
        Quota::new(rate as u64, Duration::from_secs(1), rate)
    }

    /// The cells allowed per period.
    pub const fn rate(&self) -> u64 {
        self.rate
    }

    /// The period of the rate.
    pub const fn period(&self) -> Duration {
        Duration::from_nanos(self.period)
    }

    /// The most cells admitted at once.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The emission interval: `period / rate`, rounded up to the nanosecond.
    pub const fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval)
    }
}

/// A request refused for now: when it would be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NotUntil {
    earliest: Instant,
    now: Instant,
}

impl NotUntil {
    /// A refusal at `now`, admitted from `earliest` on: for adapters whose
    /// decision was taken elsewhere (a shared limiter in Redis).
    pub const fn new(now: Instant, earliest: Instant) -> Self {
        Self { earliest, now }
    }

    /// The earliest time at which the same request would be admitted (if no other
    /// request comes first).
    pub fn earliest_possible(&self) -> Instant {
        self.earliest
    }

    /// How long from the time of the check until then.
    pub fn retry_after(&self) -> Duration {
        self.earliest - self.now
    }

    /// How long from `now` until then (zero if it has passed).
    pub fn wait_time_from(&self, now: Instant) -> Duration {
        self.earliest - now
    }

    /// Whether a limiter in shadow mode counts this refusal of its check: it
    /// lets every call through at once, and counts the calls that enforcing
    /// would have held back: a turn later than `max_wait`, which enforcing
    /// refuses, or, with no `max_wait` (waiting as long as it takes), any
    /// wait at all. One rule for every binding's shadow limiter.
    ///
    /// ```
    /// use core::time::Duration;
    /// use seawall_core::rate_limit::NotUntil;
    /// use seawall_core::time::Instant;
    ///
    /// let refusal = NotUntil::new(Instant::from_nanos(0), Instant::from_nanos(50_000_000));
    /// assert!(refusal.counts_in_shadow(Some(Duration::from_millis(10))));
    /// assert!(!refusal.counts_in_shadow(Some(Duration::from_millis(50))));
    /// assert!(refusal.counts_in_shadow(None));
    /// ```
    pub fn counts_in_shadow(&self, max_wait: Option<Duration>) -> bool {
        max_wait.is_none_or(|limit| self.retry_after() > limit)
    }
}

impl fmt::Display for NotUntil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limited; retry after {:?}", self.retry_after())
    }
}

impl core::error::Error for NotUntil {}

/// A request of more cells than the burst: it could never be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InsufficientCapacity {
    /// The cells asked for.
    pub requested: u32,
    /// The limiter's burst.
    pub burst: u32,
}

impl fmt::Display for InsufficientCapacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cells requested, more than the burst of {}",
            self.requested, self.burst
        )
    }
}

impl core::error::Error for InsufficientCapacity {}

/// A GCRA rate limiter over one atomic word (see the [module documentation](self)).
///
/// ```
/// use core::time::Duration;
/// use seawall_core::rate_limit::{Quota, RateLimiter};
/// use seawall_core::time::ManualClock;
///
/// // 2 per second, bursts of 2.
/// static LIMITER: RateLimiter = match Quota::per_second(2) {
///     Ok(quota) => RateLimiter::new(quota),
///     Err(_) => panic!("invalid quota"),
/// };
/// let clock = ManualClock::new();
/// assert!(LIMITER.check(&clock).is_ok());
/// assert!(LIMITER.check(&clock).is_ok());
/// let refused = LIMITER.check(&clock).unwrap_err();
/// assert_eq!(refused.retry_after(), Duration::from_millis(500));
/// clock.advance(Duration::from_millis(500));
/// assert!(LIMITER.check(&clock).is_ok());
///
/// // Weighted requests; more than the burst is an error, not a wait.
/// assert!(LIMITER.check_n(3, &clock).is_err());
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    /// The theoretical arrival time, in nanoseconds.
    tat: AtomicU64,
    quota: Quota,
    /// `burst * interval`: how far ahead of now the TAT may run.
    tolerance: u64,
}

impl RateLimiter {
    loom_const_fn! {
        /// A limiter with `quota`, whose whole burst is available at once.
        pub fn new(quota: Quota) -> Self {
            Self {
                tat: AtomicU64::new(0),
                quota,
                tolerance: quota.interval * quota.burst as u64,
            }
        }
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Asks to admit one request: `Ok`, or when it would be admitted.
    #[inline]
    pub fn check<K: Clock + ?Sized>(&self, clock: &K) -> Result<(), NotUntil> {
        self.take(self.quota.interval, clock.now())
    }

    /// Asks to admit a request of `n` cells at once (all or none). `n` above the
    /// burst is an [`InsufficientCapacity`] error; `n` of zero is always admitted.
    #[inline]
    pub fn check_n<K: Clock + ?Sized>(
        &self,
        n: u32,
        clock: &K,
    ) -> Result<Result<(), NotUntil>, InsufficientCapacity> {
        if n > self.quota.burst {
            return Err(InsufficientCapacity {
                requested: n,
                burst: self.quota.burst,
            });
        }
        if n == 0 {
            return Ok(Ok(()));
        }
        // At most the tolerance, which was checked to fit when the quota was built.
        Ok(self.take(self.quota.interval * n as u64, clock.now()))
    }

    /// Forgets every request: the whole burst is available again.
    pub fn reset(&self) {
        self.tat.store(0, Ordering::Relaxed);
    }

    /// The cells a request could take now without waiting: the burst, less the
    /// cells taken that the rate has not yet made up for. A reading for metrics
    /// and reports; it reserves nothing, so a `check` right after it may find
    /// fewer if other callers took some in between.
    pub fn available<K: Clock + ?Sized>(&self, clock: &K) -> u32 {
        let now = clock.now().as_nanos();
        let ahead = self.tat.load(Ordering::Relaxed).saturating_sub(now);
        let free = self.tolerance.saturating_sub(ahead) / self.quota.interval;
        free.min(self.quota.burst as u64) as u32
    }

    #[inline]
    fn take(&self, increment: u64, now: Instant) -> Result<(), NotUntil> {
        let now_nanos = now.as_nanos();
        // Relaxed: the word guards no other memory, and the CAS orders the
        // updates of the word itself.
        let mut tat = self.tat.load(Ordering::Relaxed);
        let limit = now_nanos.saturating_add(self.tolerance);
        loop {
            if tat > limit {
                // Only a clock that went backwards gets here: restart from a
                // used-up burst now rather than refuse for as long as it jumped.
                match self.tat.compare_exchange_weak(
                    tat,
                    limit,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => tat = limit,
                    Err(actual) => {
                        tat = actual;
                        continue;
                    }
                }
            }
            // Past the end of time (584 years) nothing is admitted any more.
            let next = tat.max(now_nanos).saturating_add(increment);
            if next - now_nanos > self.tolerance || next == u64::MAX {
                return Err(NotUntil {
                    earliest: Instant::from_nanos(next - self.tolerance),
                    now,
                });
            }
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => tat = actual,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn limiter(rate: u64, period_ms: u64, burst: u32) -> RateLimiter {
        RateLimiter::new(Quota::new(rate, MS(period_ms), burst).unwrap())
    }

    #[test]
    fn available_counts_the_cells_a_check_would_admit() {
        let limiter = limiter(10, 1000, 3);
        let clock = ManualClock::starting_at(Instant::from_secs(100));
        assert_eq!(limiter.available(&clock), 3);
        limiter.check(&clock).unwrap();
        limiter.check(&clock).unwrap();
        assert_eq!(limiter.available(&clock), 1);
        limiter.check(&clock).unwrap();
        assert_eq!(limiter.available(&clock), 0);
        assert!(limiter.check(&clock).is_err());
        // One interval makes up one cell; a partial interval none.
        clock.advance(MS(150));
        assert_eq!(limiter.available(&clock), 1);
        clock.advance(MS(1000));
        assert_eq!(limiter.available(&clock), 3);
        // A clock that went backwards reads nothing free, as `check` refuses.
        limiter.check_n(3, &clock).unwrap().unwrap();
        clock.set(Instant::from_secs(50));
        assert_eq!(limiter.available(&clock), 0);
    }

    #[test]
    fn the_burst_is_admitted_at_once_then_the_rate() {
        let limiter = limiter(10, 1000, 3);
        let clock = ManualClock::starting_at(Instant::from_secs(100));
        for _ in 0..3 {
            assert_eq!(limiter.check(&clock), Ok(()));
        }
        let refused = limiter.check(&clock).unwrap_err();
        assert_eq!(refused.retry_after(), MS(100));
        assert_eq!(refused.earliest_possible(), Instant::from_millis(100_100));
        assert_eq!(
            refused.wait_time_from(Instant::from_millis(100_060)),
            MS(40)
        );
        assert_eq!(refused.wait_time_from(Instant::from_secs(200)), MS(0));
        clock.advance(MS(99));
        assert!(limiter.check(&clock).is_err());
        clock.advance(MS(1));
        assert_eq!(limiter.check(&clock), Ok(()));
        assert!(limiter.check(&clock).is_err());
        // Idle for long: only the burst is available, not the idle time's worth.
        clock.advance(Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limiter.check(&clock), Ok(()));
        }
        assert!(limiter.check(&clock).is_err());
    }

    #[test]
    fn a_refused_request_takes_nothing() {
        let limiter = limiter(1, 1000, 1);
        let t0 = Instant::from_secs(1);
        assert_eq!(limiter.check(&t0), Ok(()));
        for _ in 0..10 {
            assert_eq!(
                limiter.check(&t0).unwrap_err().earliest_possible(),
                Instant::from_secs(2)
            );
        }
        assert_eq!(limiter.check(&Instant::from_secs(2)), Ok(()));
    }

    #[test]
    fn weighted_requests() {
        let limiter = limiter(10, 1000, 5);
        let now = Instant::from_secs(1);
        assert_eq!(limiter.check_n(4, &now), Ok(Ok(())));
        let refused = limiter.check_n(2, &now).unwrap().unwrap_err();
        assert_eq!(refused.retry_after(), MS(100));
        assert_eq!(limiter.check_n(1, &now), Ok(Ok(())));
        assert_eq!(limiter.check_n(0, &now), Ok(Ok(())));
        assert_eq!(
            limiter.check_n(6, &now),
            Err(InsufficientCapacity {
                requested: 6,
                burst: 5
            })
        );
        let later = Instant::from_millis(1500);
        assert_eq!(limiter.check_n(5, &later), Ok(Ok(())));
        assert_eq!(limiter.check_n(u32::MAX, &later).unwrap_err().burst, 5);
    }

    #[test]
    fn uneven_intervals_round_up() {
        let quota = Quota::new(3, Duration::from_secs(1), 1).unwrap();
        assert_eq!(quota.interval(), Duration::from_nanos(333_333_334));
        let limiter = RateLimiter::new(quota);
        let mut t = 0;
        for _ in 0..3 {
            assert_eq!(limiter.check(&Instant::from_nanos(t)), Ok(()));
            t += 333_333_334;
        }
        // A client pacing at the interval is admitted; a nanosecond early is not.
        assert!(limiter.check(&Instant::from_nanos(t - 1)).is_err());
        assert_eq!(limiter.check(&Instant::from_nanos(t)), Ok(()));
    }

    #[test]
    fn a_clock_going_backwards_neither_admits_more_nor_waits_for_the_jump() {
        let limiter = limiter(1, 1000, 2);
        let clock = ManualClock::starting_at(Instant::from_secs(10));
        assert_eq!(limiter.check(&clock), Ok(()));
        assert_eq!(limiter.check(&clock), Ok(()));
        // Back to 5 s: the burst counts as used up now, so the next cell waits
        // one interval (until 6 s), not until 11 s.
        clock.set(Instant::from_secs(5));
        let refused = limiter.check(&clock).unwrap_err();
        assert_eq!(refused.earliest_possible(), Instant::from_secs(6));
        assert_eq!(limiter.check(&clock).unwrap_err(), refused);
        clock.set(Instant::from_secs(6));
        assert_eq!(limiter.check(&clock), Ok(()));
        assert!(limiter.check(&clock).is_err());
        limiter.reset();
        clock.set(Instant::ZERO);
        assert_eq!(limiter.check(&clock), Ok(()));
    }

    #[test]
    fn the_end_of_time_admits_nothing_rather_than_everything() {
        let limiter = limiter(1, 1000, 2);
        let near_the_end = Instant::MAX - Duration::from_secs(3);
        assert_eq!(limiter.check(&near_the_end), Ok(()));
        assert_eq!(limiter.check(&near_the_end), Ok(()));
        assert!(limiter.check(&near_the_end).is_err());
        for _ in 0..3 {
            let refused = limiter.check(&Instant::MAX).unwrap_err();
            assert_eq!(refused.retry_after(), Duration::ZERO);
        }
    }

    #[test]
    fn every_invalid_field_is_named() {
        let field = |r, p, b| Quota::new(r, p, b).unwrap_err().field();
        assert_eq!(field(0, MS(1000), 1), "rate");
        assert_eq!(field(1, MS(0), 1), "period");
        assert_eq!(field(1, MS(1000), 0), "burst");
        assert_eq!(field(1, Duration::MAX, 2), "period");
        assert_eq!(field(1, MAX_TOLERANCE + MS(1), 1), "period");
        assert_eq!(field(1, MAX_TOLERANCE, 2), "burst");
        assert!(Quota::new(1, MAX_TOLERANCE, 1).is_ok());
        // 634 years: refused, not a limiter whose refusals never name a time.
        assert_eq!(field(1, Duration::from_secs(20_000_000_000), 1), "period");
        assert_eq!(Quota::per_second(0).unwrap_err().field(), "rate");
        let quota = Quota::new(5, MS(250), 7).unwrap();
        assert_eq!(
            (quota.rate(), quota.period(), quota.burst()),
            (5, MS(250), 7)
        );
        assert_eq!(
            Quota::new(u64::MAX, MS(1), 1).unwrap().interval(),
            Duration::from_nanos(1)
        );
    }
}
