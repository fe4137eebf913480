//! The configurations a run compares, in the libraries' vocabulary.
//!
//! A configuration is a name and any of: a circuit breaker, a retry policy
//! (with its budget or quota), a timeout, a rate limiter, a bulkhead and an
//! adaptive limit (seawall's, or a port of a reference algorithm). Together
//! they nest in the same fixed order as the tokio adapter's `Policy` and the
//! guide's "Composition order", the adaptive limit beside the bulkhead:
//!
//! ```text
//! retry( circuit breaker( rate limiter( bulkhead( adaptive limit( timeout( call ))))))
//! ```
//!
//! Each attempt asks the breaker, then takes a rate-limit token and a bulkhead
//! place, and gets its own timeout; a refusal by the limiter or the bulkhead
//! releases the breaker's permit unrecorded; what a retry makes of each ending
//! is the core's table (`seawall_core::call::Error::failure`). A configuration
//! with none of them is the baseline: every call goes straight to the dependency.
//!
//! A new policy is one module here (its options and what it builds), one field
//! of [`PolicyConfig`] and of the built `Stack`, and its step in the engine's attempt,
//! at its place in the order.

mod adaptive;
mod breaker;
mod limits;
mod retry;

use serde::{Deserialize, Serialize};

pub use adaptive::{AdaptiveLimiterOptions, AlgorithmOptions, ReferenceLimiter};
pub(crate) use adaptive::{Limit, Token};
pub(crate) use breaker::Breakers;
pub use breaker::{BreakerOptions, WindowOptions};
pub use limits::{BulkheadOptions, RateLimiterOptions};
pub(crate) use limits::{Limiter, Places};
pub(crate) use retry::Retry;
pub use retry::{BudgetOptions, QuotaOptions, RetryOptions, StrategyOptions};

use crate::error::{Error, positive_nanos};

/// One configuration of policies to simulate.
///
/// ```toml
/// [[policies]]
/// name = "breaker + retry"
/// timeout_ms = 2000
/// circuit_breaker = { failure_threshold = 5, open_duration_ms = 10_000 }
/// retry = { max_attempts = 3, budget = { max_tokens = 10, token_ratio = 0.1 } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The name in tables and pictures.
    pub name: String,
    /// A circuit breaker.
    pub circuit_breaker: Option<BreakerOptions>,
    /// Retries.
    pub retry: Option<RetryOptions>,
    /// A time limit on each attempt.
    pub timeout_ms: Option<f64>,
    /// A rate limiter.
    pub rate_limiter: Option<RateLimiterOptions>,
    /// A bulkhead.
    pub bulkhead: Option<BulkheadOptions>,
    /// seawall's adaptive concurrency limit.
    pub adaptive_limiter: Option<AdaptiveLimiterOptions>,
    /// A port of a reference adaptive limit, to compare with (not with
    /// `adaptive_limiter`).
    pub reference_limiter: Option<ReferenceLimiter>,
}

/// A configuration built: the core's policies with their state, fresh for one run.
pub(crate) struct Stack {
    pub(crate) breakers: Option<Breakers>,
    pub(crate) retry: Option<Retry>,
    pub(crate) timeout: Option<u64>,
    pub(crate) limiter: Option<Limiter>,
    pub(crate) places: Option<Places>,
    pub(crate) limit: Option<Limit>,
}

impl PolicyConfig {
    /// Checks every option, as a run does.
    pub fn validate(&self) -> Result<(), Error> {
        self.build(1).map(drop)
    }

    /// The policies, with fresh state, for traffic over `keys` keys.
    pub(crate) fn build(&self, keys: u32) -> Result<Stack, Error> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        Ok(Stack {
            breakers: self
                .circuit_breaker
                .as_ref()
                .map(|b| b.build(keys))
                .transpose()
                .map_err(|e| e.within("circuit_breaker"))?,
            retry: self
                .retry
                .as_ref()
                .map(RetryOptions::build)
                .transpose()
                .map_err(|e| e.within("retry"))?,
            timeout: self
                .timeout_ms
                .map(|ms| positive_nanos("timeout_ms", ms))
                .transpose()?,
            limiter: self
                .rate_limiter
                .as_ref()
                .map(RateLimiterOptions::build)
                .transpose()
                .map_err(|e| e.within("rate_limiter"))?,
            places: self
                .bulkhead
                .as_ref()
                .map(BulkheadOptions::build)
                .transpose()
                .map_err(|e| e.within("bulkhead"))?,
            limit: match (&self.adaptive_limiter, self.reference_limiter) {
                (Some(_), Some(_)) => {
                    return Err(Error::invalid(
                        "reference_limiter",
                        "goes in a configuration of its own, not with adaptive_limiter",
                    ));
                }
                (Some(options), None) => {
                    Some(options.build().map_err(|e| e.within("adaptive_limiter"))?)
                }
                (None, Some(reference)) => Some(reference.build()),
                (None, None) => None,
            },
        })
    }
}
