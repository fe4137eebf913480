//! Replays `retry` scenarios against `seawall_core::retry` and `backoff`.

use std::time::Duration;

use seawall_core::backoff::{Backoff, BackoffState, Jitter, Strategy};
use seawall_core::retry::{
    Allowance, ErrorKind, Failure, GiveUp, QuotaCosts, RetryBudget, RetryDecision, RetryPolicy,
    RetryQuota, RetryState,
};
use seawall_core::rng::SplitMix64;
use seawall_core::time::{Instant, ManualClock};
use serde::Deserialize;

use super::{check, check_opt, for_each_step};
use crate::scenario::Scenario;

/// The scenario's configuration keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    max_attempts: Option<u32>,
    strategy: Option<StrategySpec>,
    jitter: Option<String>,
    deadline_ms: Option<u64>,
    seed: Option<u64>,
    budget: Option<BudgetSpec>,
    quota: Option<QuotaSpec>,
}

/// The `strategy` key: the backoff, durations in milliseconds.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub enum StrategySpec {
    Fixed {
        delay_ms: u64,
    },
    Linear {
        initial_delay_ms: u64,
        increment_ms: u64,
        max_delay_ms: u64,
    },
    Exponential {
        initial_delay_ms: u64,
        multiplier: f64,
        max_delay_ms: u64,
    },
    DecorrelatedJitter {
        base_delay_ms: u64,
        max_delay_ms: u64,
    },
}

impl From<StrategySpec> for Strategy {
    fn from(spec: StrategySpec) -> Strategy {
        let ms = Duration::from_millis;
        match spec {
            StrategySpec::Fixed { delay_ms } => Strategy::Fixed {
                delay: ms(delay_ms),
            },
            StrategySpec::Linear {
                initial_delay_ms,
                increment_ms,
                max_delay_ms,
            } => Strategy::Linear {
                initial_delay: ms(initial_delay_ms),
                increment: ms(increment_ms),
                max_delay: ms(max_delay_ms),
            },
            StrategySpec::Exponential {
                initial_delay_ms,
                multiplier,
                max_delay_ms,
            } => Strategy::Exponential {
                initial_delay: ms(initial_delay_ms),
                multiplier,
                max_delay: ms(max_delay_ms),
            },
            StrategySpec::DecorrelatedJitter {
                base_delay_ms,
                max_delay_ms,
            } => Strategy::DecorrelatedJitter {
                base_delay: ms(base_delay_ms),
                max_delay: ms(max_delay_ms),
            },
        }
    }
}

/// The `budget` key: one retry budget shared by every call of the scenario.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// The bucket's capacity.
    pub max_tokens: u32,
    /// The share of a token each success returns.
    pub token_ratio: f64,
}

/// The `quota` key: one retry quota shared by every call of the scenario
/// (absent costs: the standard ones).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct QuotaSpec {
    pub capacity: u32,
    pub transient_cost: Option<u32>,
    pub throttling_cost: Option<u32>,
    pub timeout_cost: Option<u32>,
    pub success_reward: Option<u32>,
}

impl QuotaSpec {
    /// The costs these keys describe.
    pub fn costs(&self) -> QuotaCosts {
        let d = QuotaCosts::DEFAULT;
        QuotaCosts {
            transient: self.transient_cost.unwrap_or(d.transient),
            throttling: self.throttling_cost.unwrap_or(d.throttling),
            timeout: self.timeout_cost.unwrap_or(d.timeout),
            success: self.success_reward.unwrap_or(d.success),
        }
    }
}

/// The error kind named `name` (absent: transient).
pub fn error_kind(name: Option<&str>) -> Result<ErrorKind, String> {
    match name {
        None => Ok(ErrorKind::Transient),
        Some(name) => ErrorKind::from_name(name).ok_or_else(|| format!("unknown kind {name:?}")),
    }
}

impl Config {
    /// The core policy these keys describe.
    pub fn policy(&self) -> Result<RetryPolicy, String> {
        let mut b = RetryPolicy::builder();
        if let Some(v) = self.max_attempts {
            b = b.max_attempts(v);
        }
        if let Some(v) = self.strategy {
            b = b.strategy(v.into());
        }
        b = b.jitter(self.jitter()?);
        if let Some(v) = self.deadline_ms {
            b = b.deadline(Duration::from_millis(v));
        }
        b.build().map_err(|e| e.to_string())
    }

    /// The jitter mode (default none).
    pub fn jitter(&self) -> Result<Jitter, String> {
        match &self.jitter {
            None => Ok(Jitter::None),
            Some(name) => Jitter::from_name(name).ok_or_else(|| format!("unknown jitter {name:?}")),
        }
    }

    /// The seed of the scenario's generator (default 0).
    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or(0)
    }

    /// The retry budget, if the scenario has one.
    pub fn budget(&self) -> Result<Option<RetryBudget>, String> {
        if self.budget.is_some() && self.quota.is_some() {
            return Err("config: a budget or a quota, not both".into());
        }
        self.budget
            .map(|spec| {
                RetryBudget::new(spec.max_tokens, spec.token_ratio).map_err(|e| e.to_string())
            })
            .transpose()
    }

    /// The `quota` key, if the scenario has one.
    pub fn quota_spec(&self) -> Option<QuotaSpec> {
        self.quota
    }

    /// The retry quota, if the scenario has one.
    pub fn quota(&self) -> Result<Option<RetryQuota>, String> {
        self.quota
            .map(|spec| RetryQuota::new(spec.capacity, spec.costs()).map_err(|e| e.to_string()))
            .transpose()
    }
}

/// One step of a `retry` scenario, parsed strictly (public so that adapters
/// replay the same steps through their own API; the README says what each op
/// means).
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub enum Step {
    Advance {
        ms: u64,
    },
    SetTime {
        ms: u64,
    },
    Start,
    Fail {
        retryable: Option<bool>,
        retry_after_ms: Option<u64>,
        kind: Option<String>,
        delay_ms: Option<u64>,
        delay_ns: Option<u64>,
        give_up: Option<String>,
    },
    Succeed,
    ExpectAttempt {
        attempt: u32,
    },
    ExpectBudget(ExpectedBudget),
    ExpectQuota {
        available: u32,
    },
    ExpectDelays {
        delays_ms: Option<Vec<u64>>,
        delays_ns: Option<Vec<u64>>,
    },
}

/// An `expect_budget` step: what it checks of the budget (absent: not checked).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct ExpectedBudget {
    pub tokens: Option<f64>,
    pub allows_retry: Option<bool>,
}

impl ExpectedBudget {
    /// Whether the step checks nothing (a mistake in a scenario file).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_none() && self.allows_retry.is_none()
    }

    /// Checks the budget's tokens and whether it allows a retry.
    pub fn check(&self, tokens: f64, allows_retry: bool) -> Result<(), String> {
        check_opt("tokens", self.tokens, tokens)?;
        check_opt("allows_retry", self.allows_retry, allows_retry)
    }
}

/// What a `fail` step expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedDecision {
    /// A retry after exactly this many nanoseconds.
    Retry(u64),
    /// Giving up for this reason.
    GiveUp(GiveUp),
}

/// The expectation of a `fail` step: exactly one of `delay_ms`, `delay_ns` and
/// `give_up`.
pub fn expected_decision(
    delay_ms: Option<u64>,
    delay_ns: Option<u64>,
    give_up: Option<&str>,
) -> Result<ExpectedDecision, String> {
    match (delay_ms, delay_ns, give_up) {
        (Some(ms), None, None) => Ok(ExpectedDecision::Retry(ms * 1_000_000)),
        (None, Some(ns), None) => Ok(ExpectedDecision::Retry(ns)),
        (None, None, Some(reason)) => GiveUp::from_name(reason)
            .map(ExpectedDecision::GiveUp)
            .ok_or_else(|| format!("unknown give_up reason {reason:?}")),
        _ => Err("fail takes exactly one of delay_ms, delay_ns and give_up".into()),
    }
}

/// The expectation of an `expect_delays` step, in nanoseconds.
pub fn expected_delays(
    delays_ms: Option<Vec<u64>>,
    delays_ns: Option<Vec<u64>>,
) -> Result<Vec<u64>, String> {
    match (delays_ms, delays_ns) {
        (Some(ms), None) => Ok(ms.into_iter().map(|ms| ms * 1_000_000).collect()),
        (None, Some(ns)) => Ok(ns),
        _ => Err("expect_delays takes exactly one of delays_ms and delays_ns".into()),
    }
}

/// A duration in nanoseconds, saturating.
pub fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Replays a `retry` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let policy = config.policy()?;
    let budget = config.budget()?;
    let quota = config.quota()?;
    let allowance = match (&budget, &quota) {
        (Some(budget), _) => Allowance::Budget(budget),
        (None, Some(quota)) => Allowance::Quota(quota),
        (None, None) => Allowance::None,
    };
    let clock = ManualClock::starting_at(Instant::from_millis(scenario.start_ms));
    let mut rng = SplitMix64::new(config.seed());
    let mut call: Option<RetryState> = None;

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => clock.set(Instant::from_millis(ms)),
            Step::Start => call = Some(policy.start(&clock)),
            Step::Fail {
                retryable,
                retry_after_ms,
                kind,
                delay_ms,
                delay_ns,
                give_up,
            } => {
                let expected = expected_decision(delay_ms, delay_ns, give_up.as_deref())?;
                let state = call.as_mut().ok_or("fail before start")?;
                let failure = Failure {
                    retryable: retryable.unwrap_or(true),
                    retry_after: retry_after_ms.map(Duration::from_millis),
                    kind: error_kind(kind.as_deref())?,
                };
                let decision = policy.on_failure(state, failure, allowance, &clock, &mut rng);
                let actual = match decision {
                    RetryDecision::Retry { delay } => ExpectedDecision::Retry(nanos(delay)),
                    RetryDecision::GiveUp(reason) => {
                        call = None;
                        ExpectedDecision::GiveUp(reason)
                    }
                };
                check("decision", &expected, &actual)?;
            }
            Step::Succeed => {
                let state = call.take().ok_or("succeed before start")?;
                policy.on_success(&state, allowance);
            }
            Step::ExpectAttempt { attempt } => {
                let state = call.as_ref().ok_or("no call in progress")?;
                check("attempt", &attempt, &state.attempt())?;
            }
            Step::ExpectBudget(expected) => {
                let budget = budget.as_ref().ok_or("the scenario has no budget")?;
                if expected.is_empty() {
                    return Err("expect_budget checks nothing".into());
                }
                expected.check(budget.tokens(), budget.allows_retry())?;
            }
            Step::ExpectQuota { available } => {
                let quota = quota.as_ref().ok_or("the scenario has no quota")?;
                check("available", &available, &quota.available())?;
            }
            Step::ExpectDelays {
                delays_ms,
                delays_ns,
            } => {
                let expected = expected_delays(delays_ms, delays_ns)?;
                let backoff: &Backoff = policy.backoff();
                let mut state = BackoffState::new();
                let actual: Vec<u64> = expected
                    .iter()
                    .map(|_| nanos(backoff.next_delay(&mut state, &mut rng)))
                    .collect();
                check("delays (ns)", &expected, &actual)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use crate::replay::replay;
    use crate::scenario::Scenario;

    fn run(text: &str) -> Result<(), String> {
        let scenario: Scenario = serde_json::from_str(text).unwrap();
        replay(&scenario)
    }

    #[test]
    fn a_wrong_delay_fails() {
        let error = run(r#"{"description": "", "policy": "retry",
            "config": {"strategy": {"kind": "fixed", "delay_ms": 10}},
            "steps": [{"op": "start"}, {"op": "fail", "delay_ms": 11}]}"#)
        .unwrap_err();
        assert!(error.contains("decision: expected"), "{error}");
    }

    #[test]
    fn a_wrong_reason_fails() {
        let error = run(
            r#"{"description": "", "policy": "retry", "config": {"max_attempts": 1},
            "steps": [{"op": "start"}, {"op": "fail", "give_up": "deadline_reached"}]}"#,
        )
        .unwrap_err();
        assert!(error.contains("AttemptsExhausted"), "{error}");
    }

    #[test]
    fn typos_and_ambiguities_are_rejected() {
        for (text, expected) in [
            (r#"{"op": "fail", "delay": 10}"#, "unknown field"),
            (
                r#"{"op": "fail", "delay_ms": 10, "give_up": "not_retryable"}"#,
                "exactly one of",
            ),
            (r#"{"op": "fail"}"#, "exactly one of"),
            (
                r#"{"op": "fail", "give_up": "exhausted"}"#,
                "unknown give_up",
            ),
            (r#"{"op": "expect_budget", "tokens": 1.0}"#, "no budget"),
            (r#"{"op": "expect_quota", "available": 1}"#, "no quota"),
            (
                r#"{"op": "fail", "kind": "fatal", "delay_ms": 1}"#,
                "unknown kind",
            ),
            (r#"{"op": "expect_delays", "delays": [1]}"#, "unknown field"),
        ] {
            let error = run(&format!(
                r#"{{"description": "", "policy": "retry", "steps": [{{"op": "start"}}, {text}]}}"#
            ))
            .unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let error = run(r#"{"description": "", "policy": "retry",
            "config": {"strategy": {"kind": "exponential", "initial_delay_ms": 1, "multiplier": 0.5, "max_delay_ms": 2}},
            "steps": []}"#)
        .unwrap_err();
        assert!(error.contains("invalid multiplier"), "{error}");
        let error = run(
            r#"{"description": "", "policy": "retry", "config": {"jitter": "half"}, "steps": []}"#,
        )
        .unwrap_err();
        assert!(error.contains("unknown jitter"), "{error}");
        let error = run(r#"{"description": "", "policy": "retry", "config": {
            "budget": {"max_tokens": 1, "token_ratio": 1.0}, "quota": {"capacity": 5}}, "steps": []}"#)
        .unwrap_err();
        assert!(error.contains("not both"), "{error}");
    }
}
