//! The retry policy's options, in the words of the scenario files, and the
//! core's policy and budget they build.

use std::time::Duration;

use seawall_core::backoff::{Jitter, Strategy};
use seawall_core::retry::{Allowance, QuotaCosts, RetryBudget, RetryPolicy, RetryQuota};
use serde::{Deserialize, Serialize};

use crate::error::{Error, nanos};

/// Retries of a failed attempt: the core's options, durations in milliseconds.
///
/// ```toml
/// [policies.retry]
/// max_attempts = 3
/// strategy = { kind = "exponential", initial_ms = 100, multiplier = 2.0, max_ms = 2000 }
/// jitter = "full"
/// budget = { max_tokens = 10, token_ratio = 0.1 }   # or a quota:
/// # quota = { capacity = 500 }   # 14 a transient retry, 5 a throttled one
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryOptions {
    /// Attempts in all, the first included (default 3).
    pub max_attempts: Option<u32>,
    /// How the delays grow (default exponential from 1 s, doubling, up to 30 s).
    pub strategy: Option<StrategyOptions>,
    /// Randomness on the delays (default none).
    pub jitter: Option<Jitter>,
    /// The total time budget of a call, retries included (default none).
    pub deadline_ms: Option<f64>,
    /// A retry budget shared by every call (default none).
    pub budget: Option<BudgetOptions>,
    /// A retry quota shared by every call, instead of a budget (default none).
    pub quota: Option<QuotaOptions>,
}

/// An AWS-style retry quota: each retry costs by its kind of error, a success
/// pays back (absent costs: the standard ones).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaOptions {
    /// The quota's capacity (500 in the AWS SDKs).
    pub capacity: u32,
    /// A retry after a transient error (default 14).
    pub transient_cost: Option<u32>,
    /// A retry after a throttling error (default 5).
    pub throttling_cost: Option<u32>,
    /// A retry after a timeout (default 14).
    pub timeout_cost: Option<u32>,
    /// Paid back by a first-attempt success (default 1).
    pub success_reward: Option<u32>,
}

/// How the delays grow.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyOptions {
    /// The same delay every time.
    Fixed {
        /// The delay.
        delay_ms: f64,
    },
    /// `initial + increment * (attempt - 1)`, up to `max`.
    Linear {
        /// The first delay.
        initial_ms: f64,
        /// Added each time.
        increment_ms: f64,
        /// The cap.
        max_ms: f64,
    },
    /// `initial * multiplier^(attempt - 1)`, up to `max`.
    Exponential {
        /// The first delay.
        initial_ms: f64,
        /// The growth.
        multiplier: f64,
        /// The cap.
        max_ms: f64,
    },
    /// AWS's decorrelated jitter.
    DecorrelatedJitter {
        /// The smallest delay.
        base_ms: f64,
        /// The cap.
        max_ms: f64,
    },
}

/// A gRPC-style retry budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetOptions {
    /// The bucket's size.
    pub max_tokens: u32,
    /// What each success gives back.
    pub token_ratio: f64,
}

/// A configuration's retries: the core's policy and its shared budget or quota.
pub(crate) struct Retry {
    pub(crate) policy: RetryPolicy,
    pub(crate) budget: Option<RetryBudget>,
    pub(crate) quota: Option<RetryQuota>,
}

impl Retry {
    /// What bounds the retries across calls.
    pub(crate) fn allowance(&self) -> Allowance<'_> {
        match (&self.budget, &self.quota) {
            (Some(budget), _) => Allowance::Budget(budget),
            (None, Some(quota)) => Allowance::Quota(quota),
            (None, None) => Allowance::None,
        }
    }
}

impl StrategyOptions {
    fn to_core(self) -> Result<Strategy, Error> {
        let d = |field: &str, ms: f64| nanos(field, ms).map(Duration::from_nanos);
        Ok(match self {
            StrategyOptions::Fixed { delay_ms } => Strategy::Fixed {
                delay: d("delay_ms", delay_ms)?,
            },
            StrategyOptions::Linear {
                initial_ms,
                increment_ms,
                max_ms,
            } => Strategy::Linear {
                initial_delay: d("initial_ms", initial_ms)?,
                increment: d("increment_ms", increment_ms)?,
                max_delay: d("max_ms", max_ms)?,
            },
            StrategyOptions::Exponential {
                initial_ms,
                multiplier,
                max_ms,
            } => Strategy::Exponential {
                initial_delay: d("initial_ms", initial_ms)?,
                multiplier,
                max_delay: d("max_ms", max_ms)?,
            },
            StrategyOptions::DecorrelatedJitter { base_ms, max_ms } => {
                Strategy::DecorrelatedJitter {
                    base_delay: d("base_ms", base_ms)?,
                    max_delay: d("max_ms", max_ms)?,
                }
            }
        })
    }
}

impl RetryOptions {
    pub(crate) fn build(&self) -> Result<Retry, Error> {
        let mut builder = RetryPolicy::builder();
        if let Some(n) = self.max_attempts {
            builder = builder.max_attempts(n);
        }
        if let Some(strategy) = self.strategy {
            let strategy = strategy.to_core().map_err(|e| e.within("strategy"))?;
            builder = builder.strategy(strategy);
        }
        if let Some(jitter) = self.jitter {
            builder = builder.jitter(jitter);
        }
        if let Some(ms) = self.deadline_ms {
            builder = builder.deadline(Duration::from_nanos(nanos("deadline_ms", ms)?));
        }
        let policy = builder.build().map_err(|e| match e.field() {
            "max_attempts" => Error::from(e),
            "deadline" => Error::invalid("deadline_ms", e.reason()),
            "multiplier" => Error::invalid("strategy.multiplier", e.reason()),
            // The backoff's durations.
            field => Error::invalid(format!("strategy.{field}_ms"), e.reason()),
        })?;
        let budget = self
            .budget
            .map(|b| RetryBudget::new(b.max_tokens, b.token_ratio))
            .transpose()
            .map_err(|e| Error::from(e).within("budget"))?;
        let quota = match self.quota {
            Some(_) if budget.is_some() => {
                return Err(Error::invalid(
                    "quota",
                    "goes without a budget: one bounds retries",
                ));
            }
            Some(q) => {
                let d = QuotaCosts::DEFAULT;
                let costs = QuotaCosts {
                    transient: q.transient_cost.unwrap_or(d.transient),
                    throttling: q.throttling_cost.unwrap_or(d.throttling),
                    timeout: q.timeout_cost.unwrap_or(d.timeout),
                    success: q.success_reward.unwrap_or(d.success),
                };
                Some(
                    RetryQuota::new(q.capacity, costs)
                        .map_err(|e| Error::from(e).within("quota"))?,
                )
            }
            None => None,
        };
        Ok(Retry {
            policy,
            budget,
            quota,
        })
    }
}
