//! Hedging's options, in the words of the scenario files, and the core's
//! hedge they build.

use std::time::Duration;

use seawall_core::hedge::{Hedge as Core, HedgeConfig, HedgeDelay};
use seawall_core::retry::RetryBudget;
use serde::{Deserialize, Serialize};

use super::BudgetOptions;
use crate::error::{Error, nanos, positive_nanos, ratio};

/// Hedged attempts: while an attempt has no answer, another is sent after a
/// delay (fixed with `delay_ms`, or a percentile of recent latencies), up to
/// `max_attempts`; the first answer is taken and the other attempts are
/// cancelled (their breaker permits released, their places freed).
///
/// ```toml
/// [policies.hedge]
/// max_attempts = 3
/// percentile = 0.95          # or: delay_ms = 25
/// at_once = 2                # both hedges together, once the delay passed
/// min_samples = 100
/// window_ms = 60_000
/// budget = { max_tokens = 10, token_ratio = 0.05 }
/// ```
///
/// Without a `budget` of its own, a hedge shares the retry's, if the
/// configuration retries with one (as the tokio `Policy` does when both are
/// given the same budget).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HedgeOptions {
    /// Attempts in all, the first included (default 2).
    pub max_attempts: Option<u32>,
    /// A fixed delay between attempts (default: a percentile).
    pub delay_ms: Option<f64>,
    /// The percentile of recent latencies (default 0.95).
    pub percentile: Option<f64>,
    /// The shortest percentile delay (default 1 ms).
    pub min_delay_ms: Option<f64>,
    /// The longest percentile delay, and the delay until `min_samples` are
    /// known (default 2000 ms).
    pub max_delay_ms: Option<f64>,
    /// Latencies needed before the percentile is used (default 100).
    pub min_samples: Option<u32>,
    /// How far back latencies count (default 60 000 ms).
    pub window_ms: Option<f64>,
    /// Hedges sent together each time the delay passes (default 1).
    pub at_once: Option<u32>,
    /// A retry budget of the hedge's own.
    pub budget: Option<BudgetOptions>,
}

/// A configuration's hedge: the core's, and its own budget if it has one.
pub(crate) struct Hedge {
    pub(crate) core: Core,
    pub(crate) budget: Option<RetryBudget>,
}

impl HedgeOptions {
    pub(crate) fn build(&self) -> Result<Hedge, Error> {
        let d = |ns: u64| Duration::from_nanos(ns);
        let percentile_given = self.percentile.is_some()
            || self.min_delay_ms.is_some()
            || self.max_delay_ms.is_some()
            || self.min_samples.is_some()
            || self.window_ms.is_some();
        let delay = match self.delay_ms {
            Some(_) if percentile_given => {
                return Err(Error::invalid(
                    "delay_ms",
                    "a fixed delay takes no percentile options",
                ));
            }
            Some(ms) => HedgeDelay::fixed(d(nanos("delay_ms", ms)?)),
            None => {
                let HedgeDelay::Percentile {
                    percentile,
                    min,
                    max,
                    min_samples,
                    window,
                } = HedgeDelay::DEFAULT
                else {
                    unreachable!("the default delay is a percentile")
                };
                HedgeDelay::Percentile {
                    percentile: self
                        .percentile
                        .map_or(Ok(percentile), |p| ratio("percentile", p))?,
                    min: self
                        .min_delay_ms
                        .map_or(Ok(min), |ms| nanos("min_delay_ms", ms).map(d))?,
                    max: self
                        .max_delay_ms
                        .map_or(Ok(max), |ms| nanos("max_delay_ms", ms).map(d))?,
                    min_samples: self.min_samples.unwrap_or(min_samples),
                    window: self
                        .window_ms
                        .map_or(Ok(window), |ms| positive_nanos("window_ms", ms).map(d))?,
                }
            }
        };
        let config = HedgeConfig {
            max_attempts: self
                .max_attempts
                .unwrap_or(HedgeConfig::DEFAULT.max_attempts),
            delay,
            at_once: self.at_once.unwrap_or(HedgeConfig::DEFAULT.at_once),
        };
        let core = Core::new(config).map_err(|e| match e.field() {
            "min" => Error::invalid("min_delay_ms", e.reason()),
            "max" => Error::invalid("max_delay_ms", e.reason()),
            "window" => Error::invalid("window_ms", e.reason()),
            _ => Error::from(e),
        })?;
        let budget = self
            .budget
            .map(|b| RetryBudget::new(b.max_tokens, b.token_ratio))
            .transpose()
            .map_err(|e| Error::from(e).within("budget"))?;
        Ok(Hedge { core, budget })
    }
}
