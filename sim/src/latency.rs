//! Latency distributions: how long the dependency (or a client's think time) takes.

use serde::{Deserialize, Serialize};

use crate::draw::{normal, open_unit};
use crate::error::{Error, nanos, positive_nanos};
use seawall_core::rng::{SplitMix64, between};

/// A distribution of durations, in milliseconds.
///
/// ```toml
/// latency = { kind = "lognormal", median_ms = 20, p99_ms = 250 }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    /// Always `ms`.
    Constant {
        /// The duration.
        ms: f64,
    },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform {
        /// The shortest.
        min_ms: f64,
        /// The longest.
        max_ms: f64,
    },
    /// Exponential with mean `mean_ms`: memoryless, many short and a few long.
    Exponential {
        /// The mean.
        mean_ms: f64,
    },
    /// Log-normal, given by its median and its 99th percentile: the usual shape
    /// of a service's latency, with a long tail.
    #[serde(rename = "lognormal")]
    LogNormal {
        /// Half of the durations are shorter.
        median_ms: f64,
        /// 99 % of the durations are shorter (above the median).
        p99_ms: f64,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Constant { ms: 0.0 }
    }
}

/// A [`Latency`] ready to draw from, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Sampler {
    Constant(u64),
    Uniform { min: u64, max: u64 },
    Exponential { mean: f64 },
    LogNormal { mu: f64, sigma: f64 },
}

/// The 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_841;

impl Latency {
    pub(crate) fn sampler(&self) -> Result<Sampler, Error> {
        Ok(match *self {
            Latency::Constant { ms } => Sampler::Constant(nanos("ms", ms)?),
            Latency::Uniform { min_ms, max_ms } => {
                let (min, max) = (nanos("min_ms", min_ms)?, nanos("max_ms", max_ms)?);
                if max < min {
                    return Err(Error::invalid("max_ms", "must not be below min_ms"));
                }
                Sampler::Uniform { min, max }
            }
            Latency::Exponential { mean_ms } => Sampler::Exponential {
                mean: positive_nanos("mean_ms", mean_ms)? as f64,
            },
            Latency::LogNormal { median_ms, p99_ms } => {
                let median = positive_nanos("median_ms", median_ms)? as f64;
                let p99 = nanos("p99_ms", p99_ms)? as f64;
                if p99 <= median {
                    return Err(Error::invalid("p99_ms", "must be above median_ms"));
                }
                Sampler::LogNormal {
                    mu: median.ln(),
                    sigma: (p99 / median).ln() / Z99,
                }
            }
        })
    }
}

/// The longest duration drawn: about 11 days, so that `now + latency` never
/// overflows.
const CAP: f64 = 1e15;

impl Sampler {
    /// One duration, in nanoseconds.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut SplitMix64) -> u64 {
        match *self {
            Sampler::Constant(n) => n,
            Sampler::Uniform { min, max } => between(rng, min, max),
            Sampler::Exponential { mean } => (-open_unit(rng).ln() * mean).min(CAP) as u64,
            Sampler::LogNormal { mu, sigma } => (mu + sigma * normal(rng)).exp().min(CAP) as u64,
        }
    }
}
