//! The rate limiter's and the bulkhead's options, and the core's policies they
//! build, with the waits the adapters add on top (`max_wait_ms`).

use std::collections::VecDeque;
use std::time::Duration;

use seawall_core::bulkhead::Bulkhead;
use seawall_core::rate_limit::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::error::{Error, nanos, positive_nanos};

/// A GCRA rate limiter: `rate` calls every `period_ms`, in bursts of `burst`.
///
/// ```toml
/// [policies.rate_limiter]
/// rate = 100
/// burst = 10
/// max_wait_ms = 50     # wait up to 50 ms for a turn, then refuse
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimiterOptions {
    /// Calls admitted per period.
    pub rate: u64,
    /// The period (default 1000).
    pub period_ms: Option<f64>,
    /// The largest burst.
    pub burst: u32,
    /// How long a call may wait for its turn (default 0: refused at once).
    #[serde(default)]
    pub max_wait_ms: f64,
}

/// A bulkhead: at most `max_concurrent` calls in flight.
///
/// ```toml
/// [policies.bulkhead]
/// max_concurrent = 20
/// max_wait_ms = 10     # queue up to 10 ms for a place, then refuse
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkheadOptions {
    /// Calls in flight at once.
    pub max_concurrent: u32,
    /// How long a call may queue for a place (default 0: refused at once).
    #[serde(default)]
    pub max_wait_ms: f64,
}

/// A configuration's rate limiter.
pub(crate) struct Limiter {
    pub(crate) limiter: RateLimiter,
    pub(crate) max_wait: u64,
}

/// A configuration's bulkhead and the attempts queued for a place, first come
/// first served.
pub(crate) struct Places {
    pub(crate) bulkhead: Bulkhead,
    pub(crate) max_wait: u64,
    /// `(attempt, epoch)` of the attempts waiting.
    pub(crate) queue: VecDeque<(u32, u32)>,
}

impl RateLimiterOptions {
    pub(crate) fn build(&self) -> Result<Limiter, Error> {
        let period = positive_nanos("period_ms", self.period_ms.unwrap_or(1000.0))?;
        let quota =
            Quota::new(self.rate, Duration::from_nanos(period), self.burst).map_err(|e| {
                if e.field() == "period" {
                    Error::invalid("period_ms", e.reason())
                } else {
                    Error::from(e)
                }
            })?;
        Ok(Limiter {
            limiter: RateLimiter::new(quota),
            max_wait: nanos("max_wait_ms", self.max_wait_ms)?,
        })
    }
}

impl BulkheadOptions {
    pub(crate) fn build(&self) -> Result<Places, Error> {
        Ok(Places {
            bulkhead: Bulkhead::new(self.max_concurrent)?,
            max_wait: nanos("max_wait_ms", self.max_wait_ms)?,
            queue: VecDeque::new(),
        })
    }
}
