//! A per-attempt timeout that follows the latency observed: a percentile of
//! the recent attempts, times a margin, within bounds.

use core::time::Duration;

use crate::error::ConfigError;
use crate::histogram::RollingHistogram;
use crate::time::{Clock, duration_nanos};

/// How an [`AttemptTimeout`] sets the time limit of each attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct AttemptTimeoutConfig {
    /// The percentile of recent latencies the timeout starts from, in (0, 1]
    /// (default 0.99).
    pub percentile: f64,
    /// The margin it is multiplied by, at least 1 (default 1.5).
    pub multiplier: f64,
    /// The shortest timeout, more than zero (default 1 ms).
    pub min: Duration,
    /// The longest timeout, and the timeout while too few latencies are known
    /// (default 30 s).
    pub max: Duration,
    /// The latencies needed before the percentile is trusted, at least 1
    /// (default 100).
    pub min_samples: u32,
    /// How far back latencies count (default 60 s).
    pub window: Duration,
}

impl AttemptTimeoutConfig {
    /// The 99th percentile of the last minute, times 1.5, between 1 ms and 30 s,
    /// once 100 latencies are known.
    pub const DEFAULT: AttemptTimeoutConfig = AttemptTimeoutConfig {
        percentile: 0.99,
        multiplier: 1.5,
        min: Duration::from_millis(1),
        max: Duration::from_secs(30),
        min_samples: 100,
        window: Duration::from_secs(60),
    };

    /// Checks every option.
    pub const fn validate(&self) -> Result<(), ConfigError> {
        // Written so that NaN fails too.
        if !(self.percentile > 0.0 && self.percentile <= 1.0) {
            return Err(ConfigError::new("percentile", "must be in (0, 1]"));
        }
        if !(self.multiplier >= 1.0 && self.multiplier.is_finite()) {
            return Err(ConfigError::new(
                "multiplier",
                "must be a finite number of at least 1",
            ));
        }
        if duration_nanos(self.min) == 0 {
            return Err(ConfigError::new("min", "must be greater than zero"));
        }
        if duration_nanos(self.max) < duration_nanos(self.min) {
            return Err(ConfigError::new("max", "must be at least min"));
        }
        if self.min_samples == 0 {
            return Err(ConfigError::new("min_samples", "must be at least 1"));
        }
        if duration_nanos(self.window) < 2_000_000 {
            return Err(ConfigError::new("window", "must be at least 2 ms"));
        }
        Ok(())
    }
}

impl Default for AttemptTimeoutConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A time limit for each attempt, from the latency of recent attempts: the
/// configured percentile times the margin, between `min` and `max`; `max` until
/// `min_samples` latencies are known.
///
/// Record every attempt that finished with its latency, and every attempt that
/// timed out with the timeout it had: leaving the timed-out ones out would hide
/// the slow tail, and the timeout would shrink under a slowdown instead of
/// following it. Latencies are counted to the microsecond in `N` buckets (the
/// default 192 tell apart values up to 67 s).
///
/// ```
/// use core::time::Duration;
/// use seawall_core::retry::{AttemptTimeout, AttemptTimeoutConfig};
/// use seawall_core::time::ManualClock;
///
/// let config = AttemptTimeoutConfig { min_samples: 10, ..AttemptTimeoutConfig::DEFAULT };
/// let timeout = AttemptTimeout::<192>::new(config).unwrap();
/// let clock = ManualClock::new();
/// assert_eq!(timeout.timeout(&clock), Duration::from_secs(30), "nothing known yet");
/// for _ in 0..10 {
///     timeout.record(&clock, Duration::from_millis(4));
/// }
/// // The 99th percentile is 4 ms (to within its bucket), times 1.5.
/// assert_eq!(timeout.timeout(&clock), Duration::from_micros(4_095) * 3 / 2);
/// ```
#[derive(Debug)]
pub struct AttemptTimeout<const N: usize = 192> {
    config: AttemptTimeoutConfig,
    latencies: RollingHistogram<N>,
}

impl<const N: usize> AttemptTimeout<N> {
    /// A timeout set by `config`, knowing no latency yet.
    #[cfg(not(loom))]
    pub const fn new(config: AttemptTimeoutConfig) -> Result<Self, ConfigError> {
        if let Err(error) = config.validate() {
            return Err(error);
        }
        match RollingHistogram::new(Duration::from_micros(1), config.window) {
            Ok(latencies) => Ok(Self { config, latencies }),
            Err(error) => Err(error),
        }
    }

    /// A timeout set by `config`, knowing no latency yet.
    #[cfg(loom)]
    pub fn new(config: AttemptTimeoutConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let latencies = RollingHistogram::new(Duration::from_micros(1), config.window)?;
        Ok(Self { config, latencies })
    }

    /// The configuration.
    pub fn config(&self) -> &AttemptTimeoutConfig {
        &self.config
    }

    /// The time limit for an attempt starting now.
    pub fn timeout<K: Clock + ?Sized>(&self, clock: &K) -> Duration {
        let config = &self.config;
        if self.latencies.count(clock) < u64::from(config.min_samples) {
            return config.max;
        }
        match self.latencies.percentile(clock, config.percentile) {
            Some(latency) => {
                let nanos = crate::math::scale_nanos(duration_nanos(latency), config.multiplier);
                Duration::from_nanos(nanos).clamp(config.min, config.max)
            }
            None => config.max,
        }
    }

    /// Counts the latency of an attempt that finished now (or its timeout, if
    /// it timed out).
    pub fn record<K: Clock + ?Sized>(&self, clock: &K, latency: Duration) {
        self.latencies.record(clock, latency);
    }

    /// The latencies known now.
    pub fn samples<K: Clock + ?Sized>(&self, clock: &K) -> u64 {
        self.latencies.count(clock)
    }

    /// Forgets every latency.
    pub fn reset(&self) {
        self.latencies.clear();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn config() -> AttemptTimeoutConfig {
        AttemptTimeoutConfig {
            percentile: 0.9,
            multiplier: 2.0,
            min: MS(5),
            max: MS(1000),
            min_samples: 10,
            window: Duration::from_secs(10),
        }
    }

    #[test]
    fn follows_the_percentile_within_bounds() {
        let timeout = AttemptTimeout::<192>::new(config()).unwrap();
        let clock = ManualClock::new();
        for ms in 1..=9 {
            timeout.record(&clock, MS(ms));
        }
        assert_eq!(timeout.timeout(&clock), MS(1000), "9 latencies are too few");
        timeout.record(&clock, MS(7));
        assert_eq!(timeout.samples(&clock), 10);
        // The 9th of 10 is 8 ms (its bucket: 7.680 to 8.191 ms), times 2.
        assert_eq!(timeout.timeout(&clock), Duration::from_micros(8_191) * 2);
        // A slowdown: timed-out attempts count at their timeout, and the timeout
        // follows, up to the maximum.
        for _ in 0..90 {
            timeout.record(&clock, MS(600));
        }
        assert_eq!(timeout.timeout(&clock), MS(1000));
        // Fast calls: never below the minimum.
        timeout.reset();
        for _ in 0..10 {
            timeout.record(&clock, Duration::from_micros(100));
        }
        assert_eq!(timeout.timeout(&clock), MS(5));
        // Old latencies leave the window.
        clock.advance(Duration::from_secs(10));
        assert_eq!(timeout.samples(&clock), 0);
        assert_eq!(timeout.timeout(&clock), MS(1000));
        assert_eq!(timeout.config(), &config());
    }

    #[test]
    fn every_invalid_field_is_named() {
        let c = config();
        let field =
            |config: AttemptTimeoutConfig| AttemptTimeout::<64>::new(config).unwrap_err().field();
        for bad in [0.0, 1.5, f64::NAN] {
            assert_eq!(
                field(AttemptTimeoutConfig {
                    percentile: bad,
                    ..c
                }),
                "percentile"
            );
        }
        for bad in [0.5, f64::INFINITY, f64::NAN] {
            assert_eq!(
                field(AttemptTimeoutConfig {
                    multiplier: bad,
                    ..c
                }),
                "multiplier"
            );
        }
        assert_eq!(
            field(AttemptTimeoutConfig {
                min: Duration::ZERO,
                ..c
            }),
            "min"
        );
        assert_eq!(field(AttemptTimeoutConfig { max: MS(1), ..c }), "max");
        assert_eq!(
            field(AttemptTimeoutConfig {
                min_samples: 0,
                ..c
            }),
            "min_samples"
        );
        assert_eq!(field(AttemptTimeoutConfig { window: MS(1), ..c }), "window");
        assert!(AttemptTimeout::<16>::new(AttemptTimeoutConfig::DEFAULT).is_ok());
        assert_eq!(
            AttemptTimeout::<8>::new(AttemptTimeoutConfig::DEFAULT)
                .unwrap_err()
                .field(),
            "buckets"
        );
    }
}
