//! The hedging options: how many attempts, and when each is sent.

use core::time::Duration;

use crate::error::ConfigError;
use crate::time::duration_nanos;

/// When a hedge is sent: how long after the previous attempt, if no answer has
/// come.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)
)]
pub enum HedgeDelay {
    /// Always this long (zero sends every attempt at once).
    Fixed {
        /// The delay.
        delay: Duration,
    },
    /// A percentile of the latencies of recent calls, within bounds: a call
    /// slower than most gets a hedge, the others none ("The Tail at Scale").
    Percentile {
        /// The percentile, in (0, 1] (0.95: a hedge for the slowest 5 % of
        /// calls).
        percentile: f64,
        /// The shortest delay.
        min: Duration,
        /// The longest delay, and the delay while too few latencies are known.
        max: Duration,
        /// The latencies needed before the percentile is trusted, at least 1.
        min_samples: u32,
        /// How far back latencies count, at least 2 ms.
        window: Duration,
    },
}

impl HedgeDelay {
    /// The 95th percentile of the last minute's latencies, between 1 ms and
    /// 2 s, once 100 are known (2 s until then: Polly's fixed default).
    pub const DEFAULT: HedgeDelay = HedgeDelay::Percentile {
        percentile: 0.95,
        min: Duration::from_millis(1),
        max: Duration::from_secs(2),
        min_samples: 100,
        window: Duration::from_secs(60),
    };

    /// The same delay every time.
    pub const fn fixed(delay: Duration) -> HedgeDelay {
        HedgeDelay::Fixed { delay }
    }

    /// The `percentile` of recent latencies, with the other options at their
    /// defaults.
    pub const fn percentile(percentile: f64) -> HedgeDelay {
        match HedgeDelay::DEFAULT {
            HedgeDelay::Percentile {
                min,
                max,
                min_samples,
                window,
                ..
            } => HedgeDelay::Percentile {
                percentile,
                min,
                max,
                min_samples,
                window,
            },
            fixed => fixed,
        }
    }

    const fn validate(&self) -> Result<(), ConfigError> {
        match *self {
            HedgeDelay::Fixed { .. } => Ok(()),
            HedgeDelay::Percentile {
                percentile,
                min,
                max,
                min_samples,
                window,
            } => {
                // Written so that NaN fails too.
                if !(percentile > 0.0 && percentile <= 1.0) {
                    return Err(ConfigError::new("percentile", "must be in (0, 1]"));
                }
                if duration_nanos(max) < duration_nanos(min) {
                    return Err(ConfigError::new("max", "must be at least min"));
                }
                if min_samples == 0 {
                    return Err(ConfigError::new("min_samples", "must be at least 1"));
                }
                if duration_nanos(window) < 2_000_000 {
                    return Err(ConfigError::new("window", "must be at least 2 ms"));
                }
                Ok(())
            }
        }
    }
}

impl Default for HedgeDelay {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The options of a [`Hedge`](super::Hedge).
///
/// ```
/// use core::time::Duration;
/// use seawall_core::hedge::{HedgeConfig, HedgeDelay};
///
/// let config = HedgeConfig {
///     max_attempts: 3,
///     delay: HedgeDelay::fixed(Duration::from_millis(50)),
///     ..HedgeConfig::DEFAULT
/// };
/// assert!(config.validate().is_ok());
/// let error = HedgeConfig { max_attempts: 1, ..config }.validate().unwrap_err();
/// assert_eq!(error.to_string(), "invalid max_attempts: must be at least 2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct HedgeConfig {
    /// Attempts in all, the first included: at least 2 (default 2, one hedge).
    pub max_attempts: u32,
    /// When each hedge is sent (default: the 95th percentile of recent
    /// latencies).
    pub delay: HedgeDelay,
    /// Hedges sent together each time the delay passes, at least 1 (default
    /// 1). With 2, a call still unanswered after the delay gets two more
    /// attempts at once: a call whose first hedge is slow too is answered by
    /// the other, not a delay later (Polly's delay generator can do the same).
    pub at_once: u32,
}

impl HedgeConfig {
    /// Two attempts, the second after the 95th percentile of recent latencies.
    pub const DEFAULT: HedgeConfig = HedgeConfig {
        max_attempts: 2,
        delay: HedgeDelay::DEFAULT,
        at_once: 1,
    };

    /// Checks every option.
    pub const fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts < 2 {
            return Err(ConfigError::new("max_attempts", "must be at least 2"));
        }
        if self.at_once == 0 {
            return Err(ConfigError::new("at_once", "must be at least 1"));
        }
        self.delay.validate()
    }
}

impl Default for HedgeConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}
