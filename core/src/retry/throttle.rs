//! Adaptive client-side throttling, the rule of Google's SRE book ("Handling
//! Overload"): reject locally with probability
//! `max(0, (requests - k * accepts) / (requests + 1))` over a sliding window.

use core::fmt;
use core::time::Duration;

use crate::error::ConfigError;
use crate::rng::{Rng, unit};
use crate::slice::SliceCounter;
use crate::time::{Clock, duration_nanos};

/// The requests and accepts of one time slice of an [`AdaptiveThrottle`].
///
/// Each counter is one word, `epoch << 32 | count`, so a bucket from an older
/// slice resets itself in the same CAS that counts the new event.
#[derive(Debug, Default)]
pub struct ThrottleBucket {
    requests: SliceCounter,
    accepts: SliceCounter,
}

impl ThrottleBucket {
    loom_const_fn! {
        /// An empty bucket.
        pub fn new() -> Self {
            Self { requests: SliceCounter::new(), accepts: SliceCounter::new() }
        }
    }
}

/// A call rejected by the client itself, before it reached the backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttled {
    probability: f64,
}

impl Throttled {
    /// The rejection probability that applied.
    pub fn probability(&self) -> f64 {
        self.probability
    }
}

impl fmt::Display for Throttled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "throttled by the client (rejection probability {:.3})",
            self.probability
        )
    }
}

impl core::error::Error for Throttled {}

/// Client-side throttling that adapts to how many requests the backend accepts.
///
/// Over the last `window` (default storage: 10 buckets), the throttle counts the
/// requests the application attempted ([`try_acquire`](Self::try_acquire), which
/// counts locally rejected ones too) and those the backend accepted
/// ([`record_accepted`](Self::record_accepted)). While the backend accepts most
/// requests, nothing is rejected; once requests exceed `k` times the accepts, the
/// client rejects locally with probability
/// `max(0, (requests - k * accepts) / (requests + 1))`, so that the backend
/// sees a little more than `k` times what it can take. `k` is commonly 2; lower
/// is more aggressive.
///
/// The draw uses one [`unit()`] word from the injected generator, and only when the
/// probability is above zero, so a seed fixes every decision.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::retry::AdaptiveThrottle;
/// use seawall_core::rng::SplitMix64;
/// use seawall_core::time::Instant;
///
/// let throttle = AdaptiveThrottle::<[_; 10]>::new(2.0, Duration::from_secs(60)).unwrap();
/// let now = Instant::from_secs(1);
/// let mut rng = SplitMix64::new(3);
/// // A backend that accepts nothing: the rejection probability climbs.
/// for _ in 0..100 {
///     let _ = throttle.try_acquire(&now, &mut rng);
/// }
/// assert_eq!(throttle.rejection_probability(&now), 100.0 / 101.0);
/// // Once it accepts again, the probability falls back to zero.
/// for _ in 0..50 {
///     throttle.record_accepted(&now);
/// }
/// assert_eq!(throttle.rejection_probability(&now), 0.0);
/// ```
#[derive(Debug)]
pub struct AdaptiveThrottle<S = [ThrottleBucket; 10]> {
    buckets: S,
    bucket_nanos: u64,
    k: f64,
}

const MIN_BUCKET_NANOS: u64 = 1_000_000;

const fn validate(k: f64, window: Duration, buckets: usize) -> Result<u64, ConfigError> {
    if !k.is_finite() {
        return Err(ConfigError::new("k", "must be a finite number"));
    }
    if k < 1.0 {
        return Err(ConfigError::new("k", "must be at least 1.0"));
    }
    if buckets == 0 {
        return Err(ConfigError::new("window_buckets", "must be at least 1"));
    }
    if buckets > u32::MAX as usize {
        return Err(ConfigError::new(
            "window_buckets",
            "must be at most 4294967295",
        ));
    }
    let per_bucket = duration_nanos(window) / buckets as u64;
    if per_bucket < MIN_BUCKET_NANOS {
        return Err(ConfigError::new(
            "window",
            "must give each bucket at least 1 ms",
        ));
    }
    Ok(per_bucket)
}

impl<const B: usize> AdaptiveThrottle<[ThrottleBucket; B]> {
    /// A throttle with multiplier `k` (finite, at least 1) over the last
    /// `window`, in `B` buckets of at least 1 ms.
    #[cfg(not(loom))]
    pub const fn new(k: f64, window: Duration) -> Result<Self, ConfigError> {
        match validate(k, window, B) {
            Ok(bucket_nanos) => Ok(Self {
                buckets: [const { ThrottleBucket::new() }; B],
                bucket_nanos,
                k,
            }),
            Err(error) => Err(error),
        }
    }

    /// A throttle with multiplier `k` over the last `window`, in `B` buckets.
    #[cfg(loom)]
    pub fn new(k: f64, window: Duration) -> Result<Self, ConfigError> {
        let bucket_nanos = validate(k, window, B)?;
        Ok(Self {
            buckets: core::array::from_fn(|_| ThrottleBucket::new()),
            bucket_nanos,
            k,
        })
    }
}

impl<S: AsRef<[ThrottleBucket]>> AdaptiveThrottle<S> {
    /// A throttle over `window` in `buckets.len()` buckets kept in `buckets` (for
    /// adapters that size the window at run time).
    pub fn with_storage(buckets: S, k: f64, window: Duration) -> Result<Self, ConfigError> {
        let bucket_nanos = validate(k, window, buckets.as_ref().len())?;
        Ok(Self {
            buckets,
            bucket_nanos,
            k,
        })
    }

    /// The multiplier `k`.
    pub fn k(&self) -> f64 {
        self.k
    }

    /// The duration the window covers.
    pub fn window(&self) -> Duration {
        Duration::from_nanos(
            self.bucket_nanos
                .saturating_mul(self.buckets.as_ref().len() as u64),
        )
    }

    /// Asks to send a request: counts it, then rejects it locally with the
    /// current probability. Reads the clock once; draws from `rng` only when the
    /// probability is above zero.
    pub fn try_acquire<K: Clock + ?Sized, R: Rng + ?Sized>(
        &self,
        clock: &K,
        rng: &mut R,
    ) -> Result<(), Throttled> {
        let (index, epoch) = self.slice(clock);
        // The probability of the requests before this one, as in the SRE formula.
        let probability = self.probability_at(epoch);
        self.bucket(index).requests.bump(epoch);
        if probability > 0.0 && unit(rng) < probability {
            Err(Throttled { probability })
        } else {
            Ok(())
        }
    }

    /// Counts a request the backend accepted (it answered, even with an error
    /// that is not about overload).
    pub fn record_accepted<K: Clock + ?Sized>(&self, clock: &K) {
        let (index, epoch) = self.slice(clock);
        self.bucket(index).accepts.bump(epoch);
    }

    /// The probability that a request is rejected now.
    pub fn rejection_probability<K: Clock + ?Sized>(&self, clock: &K) -> f64 {
        self.probability_at(self.slice(clock).1)
    }

    /// Requests and accepts in the window now.
    pub fn totals<K: Clock + ?Sized>(&self, clock: &K) -> (u64, u64) {
        self.totals_at(self.slice(clock).1)
    }

    /// Forgets every request and accept.
    pub fn reset(&self) {
        for bucket in self.buckets.as_ref() {
            bucket.requests.clear();
            bucket.accepts.clear();
        }
    }

    fn slice<K: Clock + ?Sized>(&self, clock: &K) -> (u64, u32) {
        let index = clock.now().as_nanos() / self.bucket_nanos;
        (index, index as u32)
    }

    fn bucket(&self, index: u64) -> &ThrottleBucket {
        let buckets = self.buckets.as_ref();
        &buckets[(index % buckets.len() as u64) as usize]
    }

    fn totals_at(&self, epoch: u32) -> (u64, u64) {
        let buckets = self.buckets.as_ref();
        let len = buckets.len() as u32;
        let (mut requests, mut accepts) = (0u64, 0u64);
        for bucket in buckets {
            requests += u64::from(bucket.requests.count_in(epoch, len));
            accepts += u64::from(bucket.accepts.count_in(epoch, len));
        }
        (requests, accepts)
    }

    fn probability_at(&self, epoch: u32) -> f64 {
        let (requests, accepts) = self.totals_at(epoch);
        let requests = requests as f64;
        let excess = requests - self.k * accepts as f64;
        if excess > 0.0 {
            excess / (requests + 1.0)
        } else {
            0.0
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::time::Instant;

    type Throttle = AdaptiveThrottle<[ThrottleBucket; 4]>;

    #[test]
    fn a_healthy_backend_is_never_throttled() {
        let throttle = Throttle::new(2.0, Duration::from_secs(4)).unwrap();
        let now = Instant::from_secs(10);
        let mut rng = SplitMix64::new(1);
        for _ in 0..1000 {
            throttle.try_acquire(&now, &mut rng).unwrap();
            throttle.record_accepted(&now);
        }
        assert_eq!(rng, SplitMix64::new(1), "no draw at probability zero");
        assert_eq!(throttle.totals(&now), (1000, 1000));
    }

    #[test]
    fn the_probability_follows_the_sre_formula() {
        let throttle = Throttle::new(2.0, Duration::from_secs(4)).unwrap();
        let now = Instant::from_secs(1);
        let mut rng = SplitMix64::new(1);
        for _ in 0..10 {
            let _ = throttle.try_acquire(&now, &mut rng);
        }
        for _ in 0..3 {
            throttle.record_accepted(&now);
        }
        // (10 - 2 * 3) / 11
        assert_eq!(throttle.rejection_probability(&now), 4.0 / 11.0);
        let mut throttled = 0;
        let tries = 10_000;
        for _ in 0..tries {
            if let Err(t) = throttle.try_acquire(&now, &mut rng) {
                assert!(t.probability() > 0.0 && t.probability() < 1.0);
                throttled += 1;
            }
        }
        // With no accepts, the probability climbs towards 1.
        assert!(throttled > tries * 9 / 10, "{throttled}");
        assert!(throttle.rejection_probability(&now) > 0.99);
    }

    #[test]
    fn the_decision_is_fixed_by_the_seed() {
        let run = |seed| {
            let throttle = Throttle::new(1.5, Duration::from_secs(4)).unwrap();
            let now = Instant::ZERO;
            let mut rng = SplitMix64::new(seed);
            let mut outcomes = [false; 64];
            for (i, outcome) in outcomes.iter_mut().enumerate() {
                *outcome = throttle.try_acquire(&now, &mut rng).is_ok();
                if i % 3 == 0 {
                    throttle.record_accepted(&now);
                }
            }
            outcomes
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn old_slices_leave_the_window() {
        let throttle = Throttle::new(2.0, Duration::from_secs(4)).unwrap();
        let mut rng = SplitMix64::new(1);
        for _ in 0..20 {
            let _ = throttle.try_acquire(&Instant::from_millis(500), &mut rng);
        }
        assert_eq!(throttle.totals(&Instant::from_millis(3999)), (20, 0));
        assert_eq!(throttle.totals(&Instant::from_millis(4000)), (0, 0));
        assert_eq!(throttle.rejection_probability(&Instant::from_secs(4)), 0.0);
        throttle.reset();
        assert_eq!(throttle.totals(&Instant::from_millis(500)), (0, 0));
    }

    #[test]
    fn every_invalid_field_is_named() {
        let field = |k, window| Throttle::new(k, window).unwrap_err().field();
        for bad in [0.5, f64::NAN, f64::INFINITY, -2.0] {
            assert_eq!(field(bad, Duration::from_secs(4)), "k");
        }
        assert_eq!(field(2.0, Duration::from_millis(3)), "window");
        assert_eq!(field(2.0, Duration::ZERO), "window");
        let empty: [ThrottleBucket; 0] = [];
        assert_eq!(
            AdaptiveThrottle::with_storage(empty, 2.0, Duration::from_secs(1))
                .unwrap_err()
                .field(),
            "window_buckets"
        );
        let throttle = Throttle::new(1.0, Duration::from_secs(8)).unwrap();
        assert_eq!(throttle.k(), 1.0);
        assert_eq!(throttle.window(), Duration::from_secs(8));
    }
}
