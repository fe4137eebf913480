//! The circuit breaker's configuration, validated once when it is built.

use core::time::Duration;

use crate::error::ConfigError;
use crate::time::duration_nanos;

/// The largest `failure_threshold`: the consecutive-failure count shares the
/// breaker's state word with the state and generation.
pub const MAX_FAILURE_THRESHOLD: u32 = (1 << 27) - 1;
/// The largest `success_threshold` and `half_open_max_calls`.
pub const MAX_HALF_OPEN_CALLS: u32 = (1 << 10) - 1;
/// Consecutive trips stop counting here; the open duration has long reached its
/// cap by then.
pub(crate) const MAX_TRIPS: u32 = (1 << 7) - 1;

const PPM: u64 = 1_000_000;
/// The open-duration multiplier is kept in 1/65536 units, so growth is integer
/// arithmetic: no floating-point code in firmware, the same result everywhere.
const FIXED_ONE: u32 = 1 << 16;

/// How a circuit breaker decides: when it trips, how long it stays open and how
/// it probes for recovery.
///
/// Built by [`BreakerConfig::builder`] (which validates every field) or
/// [`BreakerConfig::default`]. The builder is `const`, so firmware can keep a
/// configuration in a `static` and have an invalid one rejected at compile time.
///
/// Which trip rule applies depends on the breaker's window: without one
/// ([`CircuitBreaker::new`](super::CircuitBreaker::new)) the breaker trips on
/// `failure_threshold` consecutive failures; with a sliding window
/// ([`CircuitBreaker::with_window`](super::CircuitBreaker::with_window)) it trips
/// on the failure rate or the slow-call rate, once `minimum_calls` are in the window.
///
/// | option | default | rule |
/// |---|---|---|
/// | `failure_threshold` | 5 | consecutive failures that trip (no window) |
/// | `failure_rate_threshold` | 0.5 | failure rate that trips (window) |
/// | `slow_call_rate_threshold` | 1.0 | slow-call rate that trips (window) |
/// | `slow_call_duration` | 60 s | a call longer than this is slow |
/// | `minimum_calls` | 100 | calls in the window before a rate counts |
/// | `open_duration` | 60 s | how long Open lasts after the first trip |
/// | `open_duration_multiplier` | 1.0 | growth of Open on each consecutive trip |
/// | `max_open_duration` | none | cap of that growth |
/// | `half_open_max_calls` | 1 | probes admitted at once in HalfOpen |
/// | `success_threshold` | 2 | successful probes that close the breaker |
/// | `max_wait_in_half_open` | none | reopen when no probe answers for this long |
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "BreakerConfigBuilder", into = "BreakerConfigBuilder")
)]
pub struct BreakerConfig {
    failure_threshold: u32,
    success_threshold: u32,
    half_open_max_calls: u32,
    minimum_calls: u32,
    failure_rate_ppm: u32,
    slow_call_rate_ppm: u32,
    open_nanos: u64,
    /// `u64::MAX` when uncapped.
    max_open_nanos: u64,
    /// The longest Open the growth can reach: a bound used to detect a clock
    /// that went backwards.
    longest_open_nanos: u64,
    /// Zero when there is no limit.
    max_wait_in_half_open_nanos: u64,
    slow_call_nanos: u64,
    /// `open_duration_multiplier` in 1/65536 units.
    open_multiplier: u32,
}

impl BreakerConfig {
    /// The defaults of the classic breaker: 5 consecutive failures trip it, Open
    /// lasts 60 s, one probe at a time, 2 successes close it.
    pub const DEFAULT: BreakerConfig = match BreakerConfigBuilder::new().build() {
        Ok(config) => config,
        Err(_) => panic!("the default configuration is valid"),
    };

    /// A builder with every option at its default.
    pub const fn builder() -> BreakerConfigBuilder {
        BreakerConfigBuilder::new()
    }

    /// A builder holding this configuration, to change some options.
    pub const fn to_builder(&self) -> BreakerConfigBuilder {
        BreakerConfigBuilder {
            failure_threshold: self.failure_threshold,
            success_threshold: self.success_threshold,
            half_open_max_calls: self.half_open_max_calls,
            open_duration: Duration::from_nanos(self.open_nanos),
            open_duration_multiplier: self.open_duration_multiplier(),
            max_open_duration: if self.max_open_nanos == u64::MAX {
                None
            } else {
                Some(Duration::from_nanos(self.max_open_nanos))
            },
            max_wait_in_half_open: self.max_wait_in_half_open(),
            failure_rate_threshold: self.failure_rate_threshold(),
            slow_call_rate_threshold: self.slow_call_rate_threshold(),
            slow_call_duration: Duration::from_nanos(self.slow_call_nanos),
            minimum_calls: self.minimum_calls,
        }
    }

    /// Consecutive failures that trip a breaker without a window.
    pub const fn failure_threshold(&self) -> u32 {
        self.failure_threshold
    }

    /// Successful probes that close a half-open breaker.
    pub const fn success_threshold(&self) -> u32 {
        self.success_threshold
    }

    /// Probes admitted at once while half-open.
    pub const fn half_open_max_calls(&self) -> u32 {
        self.half_open_max_calls
    }

    /// Calls that must be in the window before its rates can trip the breaker.
    pub const fn minimum_calls(&self) -> u32 {
        self.minimum_calls
    }

    /// The failure rate (0 to 1) at or above which a windowed breaker trips.
    pub const fn failure_rate_threshold(&self) -> f64 {
        self.failure_rate_ppm as f64 / PPM as f64
    }

    /// The slow-call rate (0 to 1) at or above which a windowed breaker trips.
    pub const fn slow_call_rate_threshold(&self) -> f64 {
        self.slow_call_rate_ppm as f64 / PPM as f64
    }

    /// A call that takes longer than this is slow.
    pub const fn slow_call_duration(&self) -> Duration {
        Duration::from_nanos(self.slow_call_nanos)
    }

    /// How long the first Open lasts.
    pub const fn open_duration(&self) -> Duration {
        Duration::from_nanos(self.open_nanos)
    }

    /// The factor applied to the open duration on each consecutive trip (kept
    /// to 1/65536).
    pub const fn open_duration_multiplier(&self) -> f64 {
        self.open_multiplier as f64 / FIXED_ONE as f64
    }

    /// The cap of the open duration's growth, if any.
    pub const fn max_open_duration(&self) -> Option<Duration> {
        if self.max_open_nanos == u64::MAX {
            None
        } else {
            Some(Duration::from_nanos(self.max_open_nanos))
        }
    }

    /// The longest a probe may go unanswered before HalfOpen gives up and reopens.
    pub const fn max_wait_in_half_open(&self) -> Option<Duration> {
        if self.max_wait_in_half_open_nanos == 0 {
            None
        } else {
            Some(Duration::from_nanos(self.max_wait_in_half_open_nanos))
        }
    }

    /// How long Open lasts after `trips` consecutive trips (1 for the first).
    pub const fn open_duration_after(&self, trips: u32) -> Duration {
        Duration::from_nanos(self.open_nanos_after(trips))
    }

    /// Each consecutive trip multiplies the previous open duration by the
    /// multiplier, rounded down to the nanosecond, until it reaches the cap.
    pub(crate) const fn open_nanos_after(&self, trips: u32) -> u64 {
        let trips = if trips > MAX_TRIPS { MAX_TRIPS } else { trips };
        let mut nanos = self.open_nanos;
        if self.open_multiplier == FIXED_ONE {
            return nanos;
        }
        let mut step = 1;
        while step < trips && nanos < self.max_open_nanos {
            nanos = mul_fixed(nanos, self.open_multiplier);
            step += 1;
        }
        if nanos > self.max_open_nanos {
            self.max_open_nanos
        } else {
            nanos
        }
    }

    pub(crate) const fn longest_open_nanos(&self) -> u64 {
        self.longest_open_nanos
    }

    pub(crate) const fn max_wait_nanos(&self) -> u64 {
        self.max_wait_in_half_open_nanos
    }

    pub(crate) const fn slow_call_nanos(&self) -> u64 {
        self.slow_call_nanos
    }

    /// Whether `failed` or `slow` out of `calls` reach a rate threshold, with
    /// `calls` at least `minimum` (the window's own cap of `minimum_calls`).
    pub(crate) const fn rates_trip(
        &self,
        calls: u32,
        failed: u32,
        slow: u32,
        minimum: u32,
    ) -> bool {
        if calls == 0 || calls < minimum {
            return false;
        }
        // Integer arithmetic: exact, and cheap on soft-float targets.
        let calls = calls as u64;
        failed as u64 * PPM >= self.failure_rate_ppm as u64 * calls
            || slow as u64 * PPM >= self.slow_call_rate_ppm as u64 * calls
    }
}

impl BreakerConfig {
    /// Whether `slow` of `calls` reach the slow-call rate threshold.
    pub(crate) const fn slow_rate_reached(&self, slow: u32, calls: u32) -> bool {
        calls != 0 && slow as u64 * PPM >= self.slow_call_rate_ppm as u64 * calls as u64
    }
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Builds a [`BreakerConfig`]; [`build`](Self::build) validates every option.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::breaker::BreakerConfig;
///
/// let config = BreakerConfig::builder()
///     .failure_threshold(3)
///     .open_duration(Duration::from_secs(10))
///     .open_duration_multiplier(2.0)
///     .max_open_duration(Duration::from_secs(300))
///     .build()
///     .unwrap();
/// assert_eq!(config.open_duration_after(3), Duration::from_secs(40));
///
/// let error = BreakerConfig::builder().failure_threshold(0).build().unwrap_err();
/// assert_eq!(error.to_string(), "invalid failure_threshold: must be at least 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct BreakerConfigBuilder {
    failure_threshold: u32,
    success_threshold: u32,
    half_open_max_calls: u32,
    open_duration: Duration,
    open_duration_multiplier: f64,
    max_open_duration: Option<Duration>,
    max_wait_in_half_open: Option<Duration>,
    failure_rate_threshold: f64,
    slow_call_rate_threshold: f64,
    slow_call_duration: Duration,
    minimum_calls: u32,
}

impl Default for BreakerConfigBuilder {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub const fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl BreakerConfigBuilder {
    /// Every option at its default.
    pub const fn new() -> Self {
        Self {
            failure_threshold: 5,
            success_threshold: 2,
            half_open_max_calls: 1,
            open_duration: Duration::from_secs(60),
            open_duration_multiplier: 1.0,
            max_open_duration: None,
            max_wait_in_half_open: None,
            failure_rate_threshold: 0.5,
            slow_call_rate_threshold: 1.0,
            slow_call_duration: Duration::from_secs(60),
            minimum_calls: 100,
        }
    }

    setter!(
        /// Consecutive failures that trip a breaker without a window
        /// (1 to 134,217,727; default 5).
        failure_threshold: u32
    );
    setter!(
        /// Successful probes that close a half-open breaker (1 to 1023; default 2).
        success_threshold: u32
    );
    setter!(
        /// Probes admitted at once while half-open (1 to 1023; default 1).
        half_open_max_calls: u32
    );
    setter!(
        /// How long Open lasts after the first trip (more than zero; default 60 s).
        open_duration: Duration
    );
    setter!(
        /// Factor applied to the open duration on each consecutive trip, that is
        /// each reopening without a close in between (1.0 to 1000, kept to 1/65536;
        /// default 1.0, no growth).
        open_duration_multiplier: f64
    );
    setter!(
        /// Rate at or above which a windowed breaker trips (in (0, 1]; default 0.5).
        failure_rate_threshold: f64
    );
    setter!(
        /// Slow-call rate at or above which a windowed breaker trips (in (0, 1];
        /// default 1.0).
        slow_call_rate_threshold: f64
    );
    setter!(
        /// A call longer than this is slow (more than zero; default 60 s).
        slow_call_duration: Duration
    );
    setter!(
        /// Calls in the window before its rates count (at least 1; default 100;
        /// a count window smaller than this uses its size instead).
        minimum_calls: u32
    );

    /// Caps the growth of the open duration (at least `open_duration`; default none).
    pub const fn max_open_duration(mut self, value: Duration) -> Self {
        self.max_open_duration = Some(value);
        self
    }

    /// Reopens a half-open breaker when no probe was admitted or answered for
    /// this long while every probe slot is taken, for example by a call that hangs
    /// (more than zero; default none: wait for the probes).
    pub const fn max_wait_in_half_open(mut self, value: Duration) -> Self {
        self.max_wait_in_half_open = Some(value);
        self
    }

    /// Validates every option and builds the configuration.
    pub const fn build(self) -> Result<BreakerConfig, ConfigError> {
        if self.failure_threshold == 0 {
            return Err(ConfigError::new("failure_threshold", "must be at least 1"));
        }
        if self.failure_threshold > MAX_FAILURE_THRESHOLD {
            return Err(ConfigError::new(
                "failure_threshold",
                "must be at most 134217727",
            ));
        }
        if self.success_threshold == 0 {
            return Err(ConfigError::new("success_threshold", "must be at least 1"));
        }
        if self.success_threshold > MAX_HALF_OPEN_CALLS {
            return Err(ConfigError::new(
                "success_threshold",
                "must be at most 1023",
            ));
        }
        if self.half_open_max_calls == 0 {
            return Err(ConfigError::new(
                "half_open_max_calls",
                "must be at least 1",
            ));
        }
        if self.half_open_max_calls > MAX_HALF_OPEN_CALLS {
            return Err(ConfigError::new(
                "half_open_max_calls",
                "must be at most 1023",
            ));
        }
        let open_nanos = duration_nanos(self.open_duration);
        if open_nanos == 0 {
            return Err(ConfigError::new(
                "open_duration",
                "must be greater than zero",
            ));
        }
        let multiplier = self.open_duration_multiplier;
        if !multiplier.is_finite() {
            return Err(ConfigError::new(
                "open_duration_multiplier",
                "must be a finite number",
            ));
        }
        if multiplier < 1.0 {
            return Err(ConfigError::new(
                "open_duration_multiplier",
                "must be at least 1.0",
            ));
        }
        if multiplier > 1000.0 {
            return Err(ConfigError::new(
                "open_duration_multiplier",
                "must be at most 1000",
            ));
        }
        let max_open_nanos = match self.max_open_duration {
            Some(max) => {
                let max = duration_nanos(max);
                if max < open_nanos {
                    return Err(ConfigError::new(
                        "max_open_duration",
                        "must not be below open_duration",
                    ));
                }
                max
            }
            None => u64::MAX,
        };
        let max_wait_in_half_open_nanos = match self.max_wait_in_half_open {
            Some(wait) => {
                let wait = duration_nanos(wait);
                if wait == 0 {
                    return Err(ConfigError::new(
                        "max_wait_in_half_open",
                        "must be greater than zero",
                    ));
                }
                wait
            }
            None => 0,
        };
        let failure_rate_ppm = match rate_ppm(self.failure_rate_threshold) {
            Some(ppm) => ppm,
            None => {
                return Err(ConfigError::new(
                    "failure_rate_threshold",
                    "must be a number in (0, 1]",
                ));
            }
        };
        let slow_call_rate_ppm = match rate_ppm(self.slow_call_rate_threshold) {
            Some(ppm) => ppm,
            None => {
                return Err(ConfigError::new(
                    "slow_call_rate_threshold",
                    "must be a number in (0, 1]",
                ));
            }
        };
        let slow_call_nanos = duration_nanos(self.slow_call_duration);
        if slow_call_nanos == 0 {
            return Err(ConfigError::new(
                "slow_call_duration",
                "must be greater than zero",
            ));
        }
        if self.minimum_calls == 0 {
            return Err(ConfigError::new("minimum_calls", "must be at least 1"));
        }
        let mut config = BreakerConfig {
            failure_threshold: self.failure_threshold,
            success_threshold: self.success_threshold,
            half_open_max_calls: self.half_open_max_calls,
            minimum_calls: self.minimum_calls,
            failure_rate_ppm,
            slow_call_rate_ppm,
            open_nanos,
            max_open_nanos,
            longest_open_nanos: open_nanos,
            max_wait_in_half_open_nanos,
            slow_call_nanos,
            open_multiplier: (multiplier * FIXED_ONE as f64 + 0.5) as u32,
        };
        config.longest_open_nanos = config.open_nanos_after(MAX_TRIPS);
        Ok(config)
    }
}

/// `value * factor / 65536`, saturating, with 32x32-bit multiplies only (no
/// 128-bit or division helpers on 32-bit targets).
const fn mul_fixed(value: u64, factor: u32) -> u64 {
    let low = (value & 0xFFFF_FFFF) * factor as u64;
    let high = (value >> 32) * factor as u64;
    if high >> 48 != 0 {
        return u64::MAX;
    }
    (high << 16).saturating_add(low >> 16)
}

/// A rate in (0, 1] as parts per million, at least 1 ppm; `None` when invalid
/// (NaN included: every comparison with NaN is false).
const fn rate_ppm(rate: f64) -> Option<u32> {
    if !(rate > 0.0 && rate <= 1.0) {
        return None;
    }
    let ppm = (rate * PPM as f64 + 0.5) as u32;
    Some(if ppm == 0 { 1 } else { ppm })
}

impl TryFrom<BreakerConfigBuilder> for BreakerConfig {
    type Error = ConfigError;
    fn try_from(builder: BreakerConfigBuilder) -> Result<Self, ConfigError> {
        builder.build()
    }
}

impl From<BreakerConfig> for BreakerConfigBuilder {
    fn from(config: BreakerConfig) -> Self {
        config.to_builder()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn field_of(builder: BreakerConfigBuilder) -> &'static str {
        builder.build().unwrap_err().field()
    }

    #[test]
    fn defaults_are_the_classic_breaker() {
        let config = BreakerConfig::default();
        assert_eq!(config.failure_threshold(), 5);
        assert_eq!(config.success_threshold(), 2);
        assert_eq!(config.half_open_max_calls(), 1);
        assert_eq!(config.open_duration(), Duration::from_secs(60));
        assert_eq!(config.open_duration_multiplier(), 1.0);
        assert_eq!(config.max_open_duration(), None);
        assert_eq!(config.max_wait_in_half_open(), None);
        assert_eq!(config.failure_rate_threshold(), 0.5);
        assert_eq!(config.slow_call_rate_threshold(), 1.0);
        assert_eq!(config.slow_call_duration(), Duration::from_secs(60));
        assert_eq!(config.minimum_calls(), 100);
    }

    #[test]
    fn every_invalid_field_is_named() {
        let b = BreakerConfig::builder;
        assert_eq!(field_of(b().failure_threshold(0)), "failure_threshold");
        assert_eq!(
            field_of(b().failure_threshold(MAX_FAILURE_THRESHOLD + 1)),
            "failure_threshold"
        );
        assert_eq!(field_of(b().success_threshold(0)), "success_threshold");
        assert_eq!(field_of(b().success_threshold(1024)), "success_threshold");
        assert_eq!(field_of(b().half_open_max_calls(0)), "half_open_max_calls");
        assert_eq!(
            field_of(b().half_open_max_calls(1024)),
            "half_open_max_calls"
        );
        assert_eq!(field_of(b().open_duration(Duration::ZERO)), "open_duration");
        assert_eq!(
            field_of(b().open_duration_multiplier(0.5)),
            "open_duration_multiplier"
        );
        assert_eq!(
            field_of(b().open_duration_multiplier(f64::NAN)),
            "open_duration_multiplier"
        );
        assert_eq!(
            field_of(b().open_duration_multiplier(f64::INFINITY)),
            "open_duration_multiplier"
        );
        assert_eq!(
            field_of(b().open_duration_multiplier(1000.5)),
            "open_duration_multiplier"
        );
        assert_eq!(
            field_of(b().max_open_duration(Duration::from_secs(59))),
            "max_open_duration"
        );
        assert_eq!(
            field_of(b().max_wait_in_half_open(Duration::ZERO)),
            "max_wait_in_half_open"
        );
        for bad in [0.0, -0.1, 1.01, f64::NAN, f64::INFINITY] {
            assert_eq!(
                field_of(b().failure_rate_threshold(bad)),
                "failure_rate_threshold"
            );
            assert_eq!(
                field_of(b().slow_call_rate_threshold(bad)),
                "slow_call_rate_threshold"
            );
        }
        assert_eq!(
            field_of(b().slow_call_duration(Duration::ZERO)),
            "slow_call_duration"
        );
        assert_eq!(field_of(b().minimum_calls(0)), "minimum_calls");
    }

    #[test]
    fn limits_are_accepted() {
        let config = BreakerConfig::builder()
            .failure_threshold(MAX_FAILURE_THRESHOLD)
            .success_threshold(MAX_HALF_OPEN_CALLS)
            .half_open_max_calls(MAX_HALF_OPEN_CALLS)
            .failure_rate_threshold(1.0)
            .slow_call_rate_threshold(1e-9)
            .open_duration(Duration::MAX)
            .build()
            .unwrap();
        assert_eq!(config.open_duration(), Duration::from_nanos(u64::MAX));
        assert!(config.slow_call_rate_threshold() > 0.0);
    }

    #[test]
    fn open_duration_grows_and_caps() {
        let config = BreakerConfig::builder()
            .open_duration(Duration::from_secs(1))
            .open_duration_multiplier(2.0)
            .max_open_duration(Duration::from_secs(10))
            .build()
            .unwrap();
        let after: [u64; 6] =
            core::array::from_fn(|i| config.open_duration_after(i as u32).as_secs());
        assert_eq!(after, [1, 1, 2, 4, 8, 10]);
        assert_eq!(
            config.open_duration_after(u32::MAX),
            Duration::from_secs(10)
        );
        assert_eq!(config.longest_open_nanos(), 10_000_000_000);

        let fractional = BreakerConfig::builder()
            .open_duration(Duration::from_secs(1))
            .open_duration_multiplier(1.5)
            .build()
            .unwrap();
        let after: [u128; 4] =
            core::array::from_fn(|i| fractional.open_duration_after(i as u32 + 1).as_millis());
        assert_eq!(after, [1000, 1500, 2250, 3375]);
        assert_eq!(fractional.open_duration_multiplier(), 1.5);

        let uncapped = BreakerConfig::builder()
            .open_duration_multiplier(3.0)
            .build()
            .unwrap();
        assert_eq!(
            uncapped.open_duration_after(u32::MAX),
            Duration::from_nanos(u64::MAX)
        );
    }

    #[test]
    fn fixed_point_growth_saturates() {
        assert_eq!(mul_fixed(1_000, FIXED_ONE), 1_000);
        assert_eq!(mul_fixed(1_000, 3 * FIXED_ONE / 2), 1_500);
        assert_eq!(mul_fixed(u64::MAX / 2, 2 * FIXED_ONE), u64::MAX - 1);
        assert_eq!(mul_fixed(u64::MAX, 2 * FIXED_ONE), u64::MAX);
        assert_eq!(mul_fixed(u64::MAX, 1000 * FIXED_ONE), u64::MAX);
    }

    #[test]
    fn builder_round_trips() {
        let config = BreakerConfig::builder()
            .max_open_duration(Duration::from_secs(600))
            .max_wait_in_half_open(Duration::from_secs(5))
            .failure_rate_threshold(0.25)
            .build()
            .unwrap();
        assert_eq!(config.to_builder().build(), Ok(config));
    }

    #[test]
    fn rates_use_the_minimum_and_thresholds() {
        let config = BreakerConfig::builder()
            .failure_rate_threshold(0.5)
            .slow_call_rate_threshold(0.8)
            .build()
            .unwrap();
        assert!(!config.rates_trip(9, 9, 0, 10));
        assert!(config.rates_trip(10, 5, 0, 10));
        assert!(!config.rates_trip(10, 4, 7, 10));
        assert!(config.rates_trip(10, 0, 8, 10));
        assert!(!config.rates_trip(0, 0, 0, 0));
    }
}
