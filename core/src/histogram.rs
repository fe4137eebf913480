//! Latency histograms of fixed, logarithmic buckets: record from many threads,
//! ask for a percentile, never allocate.
//!
//! A [`Histogram`] counts durations in `N` buckets, each an atomic counter. The
//! buckets are log-linear, as in HdrHistogram: a duration is first counted in
//! whole `unit`s (1 µs, say), values below 8 units get a bucket each, and every
//! doubling above is cut into 8 equal buckets. A bucket is therefore never wider
//! than 1/8 of the values it holds, and a percentile read from it overstates the
//! true one by less than 12.5 % (it reports the largest value of its bucket, so a
//! timeout or a hedging delay built on it errs on the long side). Values beyond
//! the last bucket are counted in it.
//!
//! | buckets `N` | largest value tracked, in units |
//! |---|---|
//! | 64 | 8 · 2⁷ − 1 (1 023) |
//! | 128 | 8 · 2¹⁵ − 1 (262 143: 262 ms at 1 µs) |
//! | 192 | 8 · 2²³ − 1 (67 108 863: 67 s at 1 µs) |
//!
//! A [`RollingHistogram`] keeps only the recent past: two histograms, each
//! covering half of the window in turn, so a percentile reflects between half a
//! window and a whole window of samples.
//!
//! Recording is three relaxed `fetch_add`s. A percentile reads every bucket
//! once; under concurrent recording it sees each bucket at some moment during the
//! read, which is all a percentile of live traffic can mean.

use core::time::Duration;

use crate::error::ConfigError;
use crate::sync::{AtomicU64, Ordering};
use crate::time::{Clock, duration_nanos};

/// Buckets per doubling of the value (and the count of exact buckets below 8).
const SUB: u64 = 8;
/// The most buckets a `u64` count of units can use.
const MAX_BUCKETS: usize = 496;

/// The bucket of `value` (in units), among `n` buckets.
const fn index_of(value: u64, n: usize) -> usize {
    let index = if value < SUB {
        value as usize
    } else {
        let exponent = 63 - value.leading_zeros() as u64; // at least 3
        let sub = (value >> (exponent - 3)) - SUB;
        (SUB + (exponent - 3) * SUB + sub) as usize
    };
    if index < n { index } else { n - 1 }
}

/// The largest value (in units) that falls in bucket `index`.
const fn upper_of(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB {
        return index;
    }
    let exponent = (index - SUB) / SUB + 3;
    let sub = (index - SUB) % SUB;
    let width = 1u64 << (exponent - 3);
    ((SUB + sub) << (exponent - 3)) + (width - 1)
}

const fn validate(unit: Duration, buckets: usize) -> Result<u64, ConfigError> {
    if buckets < 16 || buckets > MAX_BUCKETS {
        return Err(ConfigError::new("buckets", "must be between 16 and 496"));
    }
    let unit = duration_nanos(unit);
    if unit == 0 {
        return Err(ConfigError::new("unit", "must be at least 1 ns"));
    }
    Ok(unit)
}

/// A histogram of durations in `N` fixed buckets (16 to 496; 192 by default),
/// shared by reference between threads.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::histogram::Histogram;
///
/// static LATENCY: Histogram = match Histogram::new(Duration::from_micros(1)) {
///     Ok(histogram) => histogram,
///     Err(_) => panic!("invalid histogram"),
/// };
/// for ms in 1..=100 {
///     LATENCY.record(Duration::from_millis(ms));
/// }
/// assert_eq!(LATENCY.count(), 100);
/// // The 99th of 100 samples is 99 ms; its bucket holds values up to 106.5 ms.
/// let p99 = LATENCY.percentile(0.99).unwrap();
/// assert!(p99 >= Duration::from_millis(99) && p99 < Duration::from_millis(99) * 9 / 8);
/// assert_eq!(LATENCY.mean(), Some(Duration::from_micros(50_500)));
/// ```
#[derive(Debug)]
pub struct Histogram<const N: usize = 192> {
    buckets: [AtomicU64; N],
    count: AtomicU64,
    /// Nanoseconds, saturating.
    sum: AtomicU64,
    unit: u64,
}

impl<const N: usize> Histogram<N> {
    /// An empty histogram counting in whole `unit`s (at least 1 ns).
    #[cfg(not(loom))]
    pub const fn new(unit: Duration) -> Result<Self, ConfigError> {
        match validate(unit, N) {
            Ok(unit) => Ok(Self {
                buckets: [const { AtomicU64::new(0) }; N],
                count: AtomicU64::new(0),
                sum: AtomicU64::new(0),
                unit,
            }),
            Err(error) => Err(error),
        }
    }

    /// An empty histogram counting in whole `unit`s.
    #[cfg(loom)]
    pub fn new(unit: Duration) -> Result<Self, ConfigError> {
        let unit = validate(unit, N)?;
        Ok(Self {
            buckets: core::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            unit,
        })
    }

    /// The unit values are counted in.
    pub fn unit(&self) -> Duration {
        Duration::from_nanos(self.unit)
    }

    /// The largest duration told apart from longer ones: longer values are
    /// counted in the last bucket and reported as this.
    pub fn max_tracked(&self) -> Duration {
        Duration::from_nanos(upper_of(N - 1).saturating_mul(self.unit))
    }

    /// Counts one duration.
    #[inline]
    pub fn record(&self, value: Duration) {
        let nanos = duration_nanos(value);
        let index = index_of(nanos / self.unit, N);
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        // A saturating add: a sum that reached u64::MAX ns (584 years) stays there.
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |sum| {
                Some(sum.saturating_add(nanos))
            });
    }

    /// The durations counted.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The mean of the durations counted (exact, to the nanosecond), or `None`
    /// when there are none.
    pub fn mean(&self) -> Option<Duration> {
        let count = self.count();
        (count > 0).then(|| Duration::from_nanos(self.sum.load(Ordering::Relaxed) / count))
    }

    /// The `q`-quantile (`q` in 0..=1; 0.99 for the 99th percentile) of the
    /// durations counted: the largest value of the bucket that holds the
    /// `ceil(q * count)`-th smallest one. `None` when empty; `q` outside 0..=1 is
    /// clamped, NaN answers `None`.
    pub fn percentile(&self, q: f64) -> Option<Duration> {
        percentile(&[self], q)
    }

    /// Forgets every duration.
    pub fn clear(&self) {
        for bucket in &self.buckets {
            bucket.store(0, Ordering::Relaxed);
        }
        self.count.store(0, Ordering::Relaxed);
        self.sum.store(0, Ordering::Relaxed);
    }
}

/// The `q`-quantile of the sum of `parts` (all with the same unit).
fn percentile<const N: usize>(parts: &[&Histogram<N>], q: f64) -> Option<Duration> {
    if q.is_nan() {
        return None;
    }
    let q = q.clamp(0.0, 1.0);
    let count: u64 = parts.iter().map(|part| part.count()).sum();
    if count == 0 {
        return None;
    }
    // The rank of the sample asked for, 1-based: ceil(q * count), at least 1.
    let rank = ((q * count as f64) as u64).max(1);
    let rank = if (rank as f64) < q * count as f64 {
        rank + 1
    } else {
        rank
    };
    let mut seen = 0u64;
    for index in 0..N {
        for part in parts {
            seen += part.buckets[index].load(Ordering::Relaxed);
        }
        if seen >= rank {
            return Some(Duration::from_nanos(
                upper_of(index).saturating_mul(parts[0].unit),
            ));
        }
    }
    // Buckets read after the count went up: the largest bucket seen answers.
    (0..N)
        .rev()
        .find(|&index| {
            parts
                .iter()
                .any(|part| part.buckets[index].load(Ordering::Relaxed) > 0)
        })
        .map(|index| Duration::from_nanos(upper_of(index).saturating_mul(parts[0].unit)))
}

/// A histogram of the recent past: the durations recorded over the last
/// `window` (at least half of it, at most all of it).
///
/// Two [`Histogram`]s take turns: each half-window, the one holding the oldest
/// half is cleared and takes the new samples, so a percentile always covers the
/// current half-window and the one before. A sample recorded by a thread at the
/// very moment of a turn may land in the half being cleared and be lost; the
/// counts are otherwise exact.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::histogram::RollingHistogram;
/// use seawall_core::time::ManualClock;
///
/// let recent = RollingHistogram::<64>::new(Duration::from_millis(1), Duration::from_secs(10)).unwrap();
/// let clock = ManualClock::new();
/// recent.record(&clock, Duration::from_millis(20));
/// clock.advance(Duration::from_secs(6));
/// recent.record(&clock, Duration::from_millis(5));
/// assert_eq!(recent.count(&clock), 2);
/// clock.advance(Duration::from_secs(5)); // the first half-window has passed
/// assert_eq!(recent.count(&clock), 1);
/// assert_eq!(recent.percentile(&clock, 1.0), Some(Duration::from_millis(5)));
/// ```
#[derive(Debug)]
pub struct RollingHistogram<const N: usize = 192> {
    halves: [Histogram<N>; 2],
    /// The half-window the newest samples belong to, plus one (0: none yet).
    epoch: AtomicU64,
    half: u64,
}

impl<const N: usize> RollingHistogram<N> {
    /// An empty histogram counting in whole `unit`s over the last `window` (at
    /// least 2 ns; its halves are whole nanoseconds).
    #[cfg(not(loom))]
    pub const fn new(unit: Duration, window: Duration) -> Result<Self, ConfigError> {
        let half = match validate_window(window) {
            Ok(half) => half,
            Err(error) => return Err(error),
        };
        let first = match Histogram::new(unit) {
            Ok(histogram) => histogram,
            Err(error) => return Err(error),
        };
        let second = match Histogram::new(unit) {
            Ok(histogram) => histogram,
            Err(error) => return Err(error),
        };
        Ok(Self {
            halves: [first, second],
            epoch: AtomicU64::new(0),
            half,
        })
    }

    /// An empty histogram counting in whole `unit`s over the last `window`.
    #[cfg(loom)]
    pub fn new(unit: Duration, window: Duration) -> Result<Self, ConfigError> {
        let half = validate_window(window)?;
        Ok(Self {
            halves: [Histogram::new(unit)?, Histogram::new(unit)?],
            epoch: AtomicU64::new(0),
            half,
        })
    }

    /// The span of time the histogram keeps.
    pub fn window(&self) -> Duration {
        Duration::from_nanos(self.half.saturating_mul(2))
    }

    /// The unit values are counted in.
    pub fn unit(&self) -> Duration {
        self.halves[0].unit()
    }

    /// Counts one duration at the clock's time.
    pub fn record<K: Clock + ?Sized>(&self, clock: &K, value: Duration) {
        let epoch = clock.now().as_nanos() / self.half + 1;
        let mut current = self.epoch.load(Ordering::Acquire);
        while epoch > current {
            match self
                .epoch
                .compare_exchange(current, epoch, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    // This thread turned the window: the half about to take the
                    // samples holds epoch - 2 or older. If more than one half
                    // passed, the other half is stale too.
                    self.halves[(epoch % 2) as usize].clear();
                    if epoch > current + 1 {
                        self.halves[((epoch + 1) % 2) as usize].clear();
                    }
                    current = epoch;
                }
                Err(actual) => current = actual,
            }
        }
        // A clock that went back records into the newest half.
        self.halves[(current % 2) as usize].record(value);
    }

    /// The durations counted over the window at the clock's time.
    pub fn count<K: Clock + ?Sized>(&self, clock: &K) -> u64 {
        let mut count = 0;
        self.for_live(clock, |half| count += half.count());
        count
    }

    /// The `q`-quantile of the durations of the window at the clock's time (see
    /// [`Histogram::percentile`]).
    pub fn percentile<K: Clock + ?Sized>(&self, clock: &K, q: f64) -> Option<Duration> {
        let mut live: [&Histogram<N>; 2] = [&self.halves[0], &self.halves[1]];
        let mut len = 0;
        self.for_live(clock, |half| {
            live[len] = half;
            len += 1;
        });
        if len == 0 {
            return None;
        }
        percentile(&live[..len], q)
    }

    /// Forgets every duration.
    pub fn clear(&self) {
        self.epoch.store(0, Ordering::Release);
        self.halves[0].clear();
        self.halves[1].clear();
    }

    /// Calls `f` on each half whose samples are within the window at `now`.
    fn for_live<'a, K: Clock + ?Sized>(&'a self, clock: &K, mut f: impl FnMut(&'a Histogram<N>)) {
        let now = clock.now().as_nanos() / self.half + 1;
        let newest = self.epoch.load(Ordering::Acquire);
        if newest == 0 {
            return;
        }
        // The newest half, and the one before it, while within the window
        // (a clock that went back still sees the newest samples).
        if newest + 1 >= now {
            f(&self.halves[(newest % 2) as usize]);
        }
        if newest >= now && newest > 1 {
            f(&self.halves[((newest + 1) % 2) as usize]);
        }
    }
}

const fn validate_window(window: Duration) -> Result<u64, ConfigError> {
    let half = duration_nanos(window) / 2;
    if half == 0 {
        return Err(ConfigError::new("window", "must be at least 2 ns"));
    }
    Ok(half)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::time::{Instant, ManualClock};

    #[test]
    fn buckets_are_contiguous_and_narrow() {
        assert_eq!(index_of(0, 496), 0);
        assert_eq!(index_of(7, 496), 7);
        assert_eq!(index_of(8, 496), 8);
        assert_eq!(index_of(15, 496), 15);
        assert_eq!(index_of(16, 496), 16);
        assert_eq!(index_of(17, 496), 16);
        assert_eq!(index_of(u64::MAX, 496), 495);
        assert_eq!(index_of(u64::MAX, 64), 63, "saturates in the last bucket");
        for index in 0..495 {
            // Each bucket ends right before the next begins.
            let upper = upper_of(index);
            assert_eq!(index_of(upper, 496), index, "{index}");
            assert_eq!(index_of(upper + 1, 496), index + 1, "{index}");
            // And is at most 1/8 as wide as its values.
            let lower = if index == 0 {
                0
            } else {
                upper_of(index - 1) + 1
            };
            assert!((upper - lower) * 8 <= lower.max(1), "{index}");
        }
        assert_eq!(upper_of(495), u64::MAX);
        assert_eq!(upper_of(127), 8 * (1 << 15) - 1);
        assert_eq!(upper_of(191), 8 * (1 << 23) - 1);
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let histogram = Histogram::<192>::new(Duration::from_micros(1)).unwrap();
        assert_eq!(histogram.percentile(0.5), None);
        assert_eq!(histogram.mean(), None);
        for us in 1..=1000u64 {
            histogram.record(Duration::from_micros(us));
        }
        for (q, exact) in [
            (0.0, 1),
            (0.001, 1),
            (0.5, 500),
            (0.9, 900),
            (0.99, 990),
            (1.0, 1000),
        ] {
            let reported = histogram.percentile(q).unwrap().as_micros() as u64;
            assert!(
                reported >= exact && reported * 8 <= exact * 9,
                "q {q}: {reported} for {exact}"
            );
        }
        assert_eq!(histogram.percentile(7.0), histogram.percentile(1.0));
        assert_eq!(histogram.percentile(-1.0), histogram.percentile(0.0));
        assert_eq!(histogram.percentile(f64::NAN), None);
        assert_eq!(histogram.mean(), Some(Duration::from_nanos(500_500)));
        histogram.clear();
        assert_eq!(histogram.count(), 0);
        assert_eq!(histogram.percentile(0.5), None);
    }

    #[test]
    fn small_values_are_exact_and_large_ones_saturate() {
        let histogram = Histogram::<16>::new(Duration::from_millis(1)).unwrap();
        histogram.record(Duration::from_micros(2_999)); // 2 whole units
        assert_eq!(histogram.percentile(1.0), Some(Duration::from_millis(2)));
        histogram.record(Duration::MAX);
        assert_eq!(histogram.max_tracked(), Duration::from_millis(15));
        assert_eq!(histogram.percentile(1.0), Some(histogram.max_tracked()));
        assert_eq!(histogram.unit(), Duration::from_millis(1));
    }

    #[test]
    fn every_invalid_field_is_named() {
        assert_eq!(
            Histogram::<15>::new(Duration::from_micros(1))
                .unwrap_err()
                .field(),
            "buckets"
        );
        assert_eq!(
            Histogram::<497>::new(Duration::from_micros(1))
                .unwrap_err()
                .field(),
            "buckets"
        );
        assert_eq!(
            Histogram::<16>::new(Duration::ZERO).unwrap_err().field(),
            "unit"
        );
        let error = RollingHistogram::<16>::new(Duration::from_micros(1), Duration::from_nanos(1));
        assert_eq!(error.unwrap_err().field(), "window");
        assert!(Histogram::<496>::new(Duration::from_nanos(1)).is_ok());
    }

    #[test]
    fn the_rolling_histogram_forgets_old_halves() {
        let recent =
            RollingHistogram::<64>::new(Duration::from_millis(1), Duration::from_secs(2)).unwrap();
        assert_eq!(recent.window(), Duration::from_secs(2));
        let clock = ManualClock::starting_at(Instant::from_millis(500));
        assert_eq!(recent.count(&clock), 0);
        assert_eq!(recent.percentile(&clock, 0.5), None);
        recent.record(&clock, Duration::from_millis(7)); // half 0
        clock.set(Instant::from_millis(1500));
        recent.record(&clock, Duration::from_millis(5)); // half 1
        assert_eq!(recent.count(&clock), 2);
        assert_eq!(
            recent.percentile(&clock, 1.0),
            Some(Duration::from_millis(7))
        );
        clock.set(Instant::from_millis(2000)); // half 2: half 0 has left
        assert_eq!(recent.count(&clock), 1);
        recent.record(&clock, Duration::from_millis(6));
        assert_eq!(recent.count(&clock), 2);
        assert_eq!(
            recent.percentile(&clock, 1.0),
            Some(Duration::from_millis(6))
        );
        // Three halves later, nothing is left; a record clears both halves.
        clock.set(Instant::from_millis(5000));
        assert_eq!(recent.count(&clock), 0);
        recent.record(&clock, Duration::from_millis(3));
        assert_eq!(recent.count(&clock), 1);
        // A clock that went back still sees (and records into) the newest half.
        clock.set(Instant::from_millis(100));
        assert_eq!(recent.count(&clock), 1);
        recent.record(&clock, Duration::from_millis(3));
        assert_eq!(recent.count(&clock), 2);
        recent.clear();
        assert_eq!(recent.count(&clock), 0);
    }
}
