//! The adaptive limiter's configuration: the algorithm and its bounds, the
//! sampling window and the baseline probe, validated once.

use core::time::Duration;

use crate::error::ConfigError;
use crate::time::duration_nanos;

/// Additive increase, multiplicative decrease: the limit grows by `increase`
/// after each window of calls that used at least half of it, and is multiplied
/// by `backoff_ratio` after a window with an overload (a call reported as
/// [`overload`](super::LimitPermit::overload), or slower than `timeout`).
///
/// It reacts to errors only, not to latency, so it needs no baseline and never
/// probes. The defaults are those of Netflix's `AIMDLimit`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Aimd {
    /// The factor applied after an overload, in [0.5, 1) (default 0.9).
    pub backoff_ratio: f64,
    /// Added after a busy window without overload, at least 1 (default 1).
    pub increase: u32,
    /// A call slower than this counts as an overload (default 5 s; `None`: only
    /// reported overloads count).
    pub timeout: Option<Duration>,
}

impl Aimd {
    /// Backoff 0.9, increase 1, timeout 5 s.
    pub const DEFAULT: Aimd = Aimd {
        backoff_ratio: 0.9,
        increase: 1,
        timeout: Some(Duration::from_secs(5)),
    };
}

impl Default for Aimd {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The gradient of latency: the limit follows `tolerance * baseline / latency`
/// (clamped to [0.5, 1]) with a smoothing factor, and grows by `queue_size`
/// only while the gradient shows no queueing at all.
///
/// Netflix's `Gradient2Limit`, with two changes that keep it bounded: the
/// baseline is measured (see [`LimitConfig`]'s probe) instead of an average that
/// follows the latency up under sustained load, and the queue allowance is added
/// only at a gradient of 1 (so a moderate overload, a gradient around 0.8, can no
/// longer grow the limit a little every window).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Gradient {
    /// How much slower than the baseline calls may be before the limit shrinks,
    /// at least 1 (default 1.5: half again).
    pub tolerance: f64,
    /// How far each window moves the limit towards its new value, in (0, 1]
    /// (default 0.2).
    pub smoothing: f64,
    /// The calls the limit grows by, beyond what the latency justifies, while
    /// there is no queueing (default 4).
    pub queue_size: u32,
}

impl Gradient {
    /// Tolerance 1.5, smoothing 0.2, queue size 4.
    pub const DEFAULT: Gradient = Gradient {
        tolerance: 1.5,
        smoothing: 0.2,
        queue_size: 4,
    };
}

impl Default for Gradient {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// TCP Vegas on calls: the queue the limit implies, `limit * (1 - baseline /
/// latency)`, is kept between `alpha` and `beta` calls (both scaled by
/// `max(1, log10(limit))`): below `alpha` the limit grows, above `beta` it shrinks.
///
/// Netflix's `VegasLimit`, deciding once per window on the window's mean latency,
/// with a baseline that one unusually fast call cannot move: it is the mean of a
/// probe's calls, never the fastest single call. Its queue estimate multiplies
/// the baseline's error by the limit, so it wants steady latencies (or more
/// `probe_samples`); the gradient tolerates a long tail better.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Vegas {
    /// The queue below which the limit grows, per `log10(limit)`, at least 1
    /// (default 3).
    pub alpha: u32,
    /// The queue above which the limit shrinks, per `log10(limit)`, above `alpha`
    /// (default 6).
    pub beta: u32,
    /// How far each window moves the limit towards its new value, in (0, 1]
    /// (default 1).
    pub smoothing: f64,
}

impl Vegas {
    /// Alpha 3, beta 6, smoothing 1.
    pub const DEFAULT: Vegas = Vegas {
        alpha: 3,
        beta: 6,
        smoothing: 1.0,
    };
}

impl Default for Vegas {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How an [`AdaptiveLimiter`](super::AdaptiveLimiter) moves its limit.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum Algorithm {
    /// Additive increase, multiplicative decrease, on overloads.
    Aimd(Aimd),
    /// The gradient of latency against the baseline.
    Gradient(Gradient),
    /// TCP Vegas's queue estimate.
    Vegas(Vegas),
}

impl Algorithm {
    /// `aimd`, `gradient` or `vegas`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Algorithm::Aimd(_) => "aimd",
            Algorithm::Gradient(_) => "gradient",
            Algorithm::Vegas(_) => "vegas",
        }
    }

    /// Whether the algorithm compares latency with a measured baseline (and so
    /// probes for it).
    pub const fn needs_baseline(&self) -> bool {
        !matches!(self, Algorithm::Aimd(_))
    }
}

impl Default for Algorithm {
    fn default() -> Self {
        Algorithm::Gradient(Gradient::DEFAULT)
    }
}

/// The configuration of an [`AdaptiveLimiter`](super::AdaptiveLimiter), built by
/// [`LimitConfig::builder`].
///
/// Besides the algorithm and the bounds of the limit, two mechanisms are
/// common to all algorithms:
///
/// - **The window.** Calls are aggregated over `window` (their count, mean
///   latency, overloads and the most calls in flight) and the algorithm decides
///   once per window, when the window has at least `min_samples` calls (a window
///   with an overload always counts; a quieter one is dropped).
/// - **The probe** (gradient and vegas). The baseline, the latency of a call
///   when nothing queues, is measured, not guessed: at the start, and every
///   `probe_interval`, the limiter admits at most `probe_limit` calls at once
///   until `probe_samples` calls admitted that way have finished, and their mean
///   latency is the baseline (from 3 calls on, a call more than four times
///   faster or slower than the others' mean is left out). Between probes the baseline never moves, so
///   neither sustained load (which would drag an average up) nor one lucky fast
///   call (which would drag a minimum down) can mislead the algorithm.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::limit::{Algorithm, Gradient, LimitConfig};
///
/// let config = LimitConfig::builder()
///     .algorithm(Algorithm::Gradient(Gradient { tolerance: 2.0, ..Gradient::DEFAULT }))
///     .initial_limit(10)
///     .max_limit(500)
///     .build()
///     .unwrap();
/// assert_eq!(config.window(), Duration::from_millis(100));
///
/// let error = LimitConfig::builder().min_limit(50).initial_limit(20).build().unwrap_err();
/// assert_eq!(error.to_string(), "invalid initial_limit: must be between min_limit and max_limit");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "LimitConfigBuilder", into = "LimitConfigBuilder")
)]
pub struct LimitConfig {
    algorithm: Algorithm,
    initial_limit: u32,
    min_limit: u32,
    max_limit: u32,
    window_nanos: u64,
    min_samples: u32,
    probe_interval_nanos: u64,
    probe_limit: u32,
    probe_samples: u32,
}

impl LimitConfig {
    /// Every option at its default (see [`LimitConfigBuilder`]).
    pub const DEFAULT: LimitConfig = match LimitConfigBuilder::new().build() {
        Ok(config) => config,
        Err(_) => panic!("the default limit configuration is valid"),
    };

    /// A builder with every option at its default.
    pub const fn builder() -> LimitConfigBuilder {
        LimitConfigBuilder::new()
    }

    /// A builder holding this configuration, to change some options.
    pub const fn to_builder(&self) -> LimitConfigBuilder {
        LimitConfigBuilder {
            algorithm: self.algorithm,
            initial_limit: self.initial_limit,
            min_limit: self.min_limit,
            max_limit: self.max_limit,
            window: Duration::from_nanos(self.window_nanos),
            min_samples: self.min_samples,
            probe_interval: Duration::from_nanos(self.probe_interval_nanos),
            probe_limit: self.probe_limit,
            probe_samples: self.probe_samples,
        }
    }

    /// How the limit moves.
    pub const fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }

    /// The limit before the first decision.
    pub const fn initial_limit(&self) -> u32 {
        self.initial_limit
    }

    /// The lowest the limit goes.
    pub const fn min_limit(&self) -> u32 {
        self.min_limit
    }

    /// The highest the limit goes.
    pub const fn max_limit(&self) -> u32 {
        self.max_limit
    }

    /// The span of calls each decision is made on.
    pub const fn window(&self) -> Duration {
        Duration::from_nanos(self.window_nanos)
    }

    /// The calls a window needs for a decision (unless one was an overload).
    pub const fn min_samples(&self) -> u32 {
        self.min_samples
    }

    /// The time from the end of one baseline probe to the start of the next.
    pub const fn probe_interval(&self) -> Duration {
        Duration::from_nanos(self.probe_interval_nanos)
    }

    /// The most calls admitted at once during a probe.
    pub const fn probe_limit(&self) -> u32 {
        self.probe_limit
    }

    /// The calls a probe measures.
    pub const fn probe_samples(&self) -> u32 {
        self.probe_samples
    }

    pub(crate) const fn window_nanos(&self) -> u64 {
        self.window_nanos
    }

    pub(crate) const fn probe_interval_nanos(&self) -> u64 {
        self.probe_interval_nanos
    }
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Builds a [`LimitConfig`]; [`build`](Self::build) validates every option.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct LimitConfigBuilder {
    algorithm: Algorithm,
    initial_limit: u32,
    min_limit: u32,
    max_limit: u32,
    window: Duration,
    min_samples: u32,
    probe_interval: Duration,
    probe_limit: u32,
    probe_samples: u32,
}

impl Default for LimitConfigBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LimitConfigBuilder {
    /// Every option at its default.
    pub const fn new() -> Self {
        Self {
            algorithm: Algorithm::Gradient(Gradient::DEFAULT),
            initial_limit: 20,
            min_limit: 1,
            max_limit: 1000,
            window: Duration::from_millis(100),
            min_samples: 10,
            probe_interval: Duration::from_secs(60),
            probe_limit: 2,
            probe_samples: 40,
        }
    }

    /// How the limit moves (default: [`Gradient::DEFAULT`]).
    pub const fn algorithm(mut self, value: Algorithm) -> Self {
        self.algorithm = value;
        self
    }

    /// The limit before the first decision, between `min_limit` and `max_limit`
    /// (default 20).
    pub const fn initial_limit(mut self, value: u32) -> Self {
        self.initial_limit = value;
        self
    }

    /// The lowest the limit goes, at least 1 (default 1).
    pub const fn min_limit(mut self, value: u32) -> Self {
        self.min_limit = value;
        self
    }

    /// The highest the limit goes, at least `min_limit` (default 1000).
    pub const fn max_limit(mut self, value: u32) -> Self {
        self.max_limit = value;
        self
    }

    /// The span of calls each decision is made on, at least 1 ms (default 100 ms).
    pub const fn window(mut self, value: Duration) -> Self {
        self.window = value;
        self
    }

    /// The calls a window needs for a decision, at least 1 (default 10).
    pub const fn min_samples(mut self, value: u32) -> Self {
        self.min_samples = value;
        self
    }

    /// The time from one baseline probe to the next, more than zero (default 60 s).
    pub const fn probe_interval(mut self, value: Duration) -> Self {
        self.probe_interval = value;
        self
    }

    /// The most calls admitted at once during a probe, between 1 and `max_limit`
    /// (default 2). Low, so that nothing queues while the baseline is measured.
    pub const fn probe_limit(mut self, value: u32) -> Self {
        self.probe_limit = value;
        self
    }

    /// The calls a probe measures, at least 1 (default 40: latencies vary, and
    /// the mean of fewer can be a third off, which the algorithms would take
    /// for queueing).
    pub const fn probe_samples(mut self, value: u32) -> Self {
        self.probe_samples = value;
        self
    }

    /// Validates every option and builds the configuration.
    pub const fn build(self) -> Result<LimitConfig, ConfigError> {
        if let Err(error) = validate_algorithm(&self.algorithm) {
            return Err(error);
        }
        if self.min_limit == 0 {
            return Err(ConfigError::new("min_limit", "must be at least 1"));
        }
        if self.max_limit < self.min_limit {
            return Err(ConfigError::new("max_limit", "must be at least min_limit"));
        }
        if self.initial_limit < self.min_limit || self.initial_limit > self.max_limit {
            return Err(ConfigError::new(
                "initial_limit",
                "must be between min_limit and max_limit",
            ));
        }
        let window_nanos = duration_nanos(self.window);
        if window_nanos < 1_000_000 {
            return Err(ConfigError::new("window", "must be at least 1 ms"));
        }
        if self.min_samples == 0 {
            return Err(ConfigError::new("min_samples", "must be at least 1"));
        }
        let probe_interval_nanos = duration_nanos(self.probe_interval);
        if probe_interval_nanos == 0 {
            return Err(ConfigError::new(
                "probe_interval",
                "must be greater than zero",
            ));
        }
        if self.probe_limit == 0 || self.probe_limit > self.max_limit {
            return Err(ConfigError::new(
                "probe_limit",
                "must be between 1 and max_limit",
            ));
        }
        if self.probe_samples == 0 {
            return Err(ConfigError::new("probe_samples", "must be at least 1"));
        }
        Ok(LimitConfig {
            algorithm: self.algorithm,
            initial_limit: self.initial_limit,
            min_limit: self.min_limit,
            max_limit: self.max_limit,
            window_nanos,
            min_samples: self.min_samples,
            probe_interval_nanos,
            probe_limit: self.probe_limit,
            probe_samples: self.probe_samples,
        })
    }
}

const fn validate_algorithm(algorithm: &Algorithm) -> Result<(), ConfigError> {
    match *algorithm {
        Algorithm::Aimd(Aimd {
            backoff_ratio,
            increase,
            timeout,
        }) => {
            // Written so that NaN fails too.
            if !(backoff_ratio >= 0.5 && backoff_ratio < 1.0) {
                return Err(ConfigError::new("backoff_ratio", "must be in [0.5, 1)"));
            }
            if increase == 0 {
                return Err(ConfigError::new("increase", "must be at least 1"));
            }
            if let Some(timeout) = timeout
                && duration_nanos(timeout) == 0
            {
                return Err(ConfigError::new("timeout", "must be greater than zero"));
            }
        }
        Algorithm::Gradient(Gradient {
            tolerance,
            smoothing,
            queue_size: _,
        }) => {
            if !(tolerance >= 1.0 && tolerance.is_finite()) {
                return Err(ConfigError::new(
                    "tolerance",
                    "must be a finite number of at least 1",
                ));
            }
            if !(smoothing > 0.0 && smoothing <= 1.0) {
                return Err(ConfigError::new("smoothing", "must be in (0, 1]"));
            }
        }
        Algorithm::Vegas(Vegas {
            alpha,
            beta,
            smoothing,
        }) => {
            if alpha == 0 {
                return Err(ConfigError::new("alpha", "must be at least 1"));
            }
            if beta <= alpha {
                return Err(ConfigError::new("beta", "must be greater than alpha"));
            }
            if !(smoothing > 0.0 && smoothing <= 1.0) {
                return Err(ConfigError::new("smoothing", "must be in (0, 1]"));
            }
        }
    }
    Ok(())
}

impl TryFrom<LimitConfigBuilder> for LimitConfig {
    type Error = ConfigError;
    fn try_from(builder: LimitConfigBuilder) -> Result<Self, ConfigError> {
        builder.build()
    }
}

impl From<LimitConfig> for LimitConfigBuilder {
    fn from(config: LimitConfig) -> Self {
        config.to_builder()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn defaults_build_and_round_trip() {
        let config = LimitConfig::DEFAULT;
        assert_eq!(config.algorithm(), &Algorithm::Gradient(Gradient::DEFAULT));
        assert_eq!(
            (
                config.initial_limit(),
                config.min_limit(),
                config.max_limit()
            ),
            (20, 1, 1000)
        );
        assert_eq!(config.min_samples(), 10);
        assert_eq!(config.probe_interval(), Duration::from_secs(60));
        assert_eq!((config.probe_limit(), config.probe_samples()), (2, 40));
        assert_eq!(config.to_builder().build(), Ok(config));
        assert_eq!(Algorithm::default().as_str(), "gradient");
        assert!(!Algorithm::Aimd(Aimd::default()).needs_baseline());
        assert!(Algorithm::Vegas(Vegas::default()).needs_baseline());
    }

    #[test]
    fn every_invalid_field_is_named() {
        let field = |builder: LimitConfigBuilder| builder.build().unwrap_err().field();
        let b = LimitConfig::builder;
        let aimd = |a: Aimd| b().algorithm(Algorithm::Aimd(a));
        let gradient = |g: Gradient| b().algorithm(Algorithm::Gradient(g));
        let vegas = |v: Vegas| b().algorithm(Algorithm::Vegas(v));
        for bad in [0.4, 1.0, f64::NAN] {
            let a = Aimd {
                backoff_ratio: bad,
                ..Aimd::DEFAULT
            };
            assert_eq!(field(aimd(a)), "backoff_ratio");
        }
        assert_eq!(
            field(aimd(Aimd {
                increase: 0,
                ..Aimd::DEFAULT
            })),
            "increase"
        );
        let a = Aimd {
            timeout: Some(Duration::ZERO),
            ..Aimd::DEFAULT
        };
        assert_eq!(field(aimd(a)), "timeout");
        for bad in [0.9, f64::INFINITY, f64::NAN] {
            let g = Gradient {
                tolerance: bad,
                ..Gradient::DEFAULT
            };
            assert_eq!(field(gradient(g)), "tolerance");
        }
        for bad in [0.0, 1.1, f64::NAN] {
            let g = Gradient {
                smoothing: bad,
                ..Gradient::DEFAULT
            };
            assert_eq!(field(gradient(g)), "smoothing");
            let v = Vegas {
                smoothing: bad,
                ..Vegas::DEFAULT
            };
            assert_eq!(field(vegas(v)), "smoothing");
        }
        assert_eq!(
            field(vegas(Vegas {
                alpha: 0,
                ..Vegas::DEFAULT
            })),
            "alpha"
        );
        assert_eq!(
            field(vegas(Vegas {
                beta: 3,
                ..Vegas::DEFAULT
            })),
            "beta"
        );
        assert_eq!(field(b().min_limit(0)), "min_limit");
        assert_eq!(
            field(b().max_limit(10).initial_limit(10).min_limit(11)),
            "max_limit"
        );
        assert_eq!(field(b().initial_limit(0)), "initial_limit");
        assert_eq!(field(b().initial_limit(1001)), "initial_limit");
        assert_eq!(field(b().window(Duration::from_micros(999))), "window");
        assert_eq!(field(b().min_samples(0)), "min_samples");
        assert_eq!(field(b().probe_interval(Duration::ZERO)), "probe_interval");
        assert_eq!(field(b().probe_limit(0)), "probe_limit");
        assert_eq!(field(b().probe_limit(1001)), "probe_limit");
        assert_eq!(field(b().probe_samples(0)), "probe_samples");
    }
}
