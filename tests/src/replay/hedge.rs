//! Replays `hedge` scenarios against `seawall_core::hedge`, with the loop an
//! adapter runs: every hedge that falls due while time advances is sent at its
//! due time.

use std::time::Duration;

use seawall_core::hedge::{Failed, Hedge, HedgeCall, HedgeConfig, HedgeDelay, HedgeStats, Next};
use seawall_core::retry::{Allowance, Failure, RetryBudget, RetryQuota};
use seawall_core::time::{Clock, Instant, ManualClock};
use serde::Deserialize;

use super::retry::{BudgetSpec, QuotaSpec, error_kind};
use super::{check, check_opt, for_each_step};
use crate::scenario::Scenario;

/// The scenario's configuration keys (absent: the core's defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct Config {
    pub max_attempts: Option<u32>,
    pub delay: Option<DelaySpec>,
    pub at_once: Option<u32>,
    pub budget: Option<BudgetSpec>,
    pub quota: Option<QuotaSpec>,
}

/// The `delay` key, durations in milliseconds.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub enum DelaySpec {
    Fixed {
        delay_ms: u64,
    },
    Percentile {
        percentile: Option<f64>,
        min_ms: Option<u64>,
        max_ms: Option<u64>,
        min_samples: Option<u32>,
        window_ms: Option<u64>,
    },
}

impl Config {
    /// The core configuration these keys describe.
    pub fn hedge_config(&self) -> HedgeConfig {
        let ms = Duration::from_millis;
        let delay = match self.delay {
            None => HedgeDelay::DEFAULT,
            Some(DelaySpec::Fixed { delay_ms }) => HedgeDelay::fixed(ms(delay_ms)),
            Some(DelaySpec::Percentile {
                percentile,
                min_ms,
                max_ms,
                min_samples,
                window_ms,
            }) => {
                let HedgeDelay::Percentile {
                    percentile: p,
                    min,
                    max,
                    min_samples: n,
                    window,
                } = HedgeDelay::DEFAULT
                else {
                    unreachable!("the default delay is a percentile")
                };
                HedgeDelay::Percentile {
                    percentile: percentile.unwrap_or(p),
                    min: min_ms.map_or(min, ms),
                    max: max_ms.map_or(max, ms),
                    min_samples: min_samples.unwrap_or(n),
                    window: window_ms.map_or(window, ms),
                }
            }
        };
        HedgeConfig {
            max_attempts: self
                .max_attempts
                .unwrap_or(HedgeConfig::DEFAULT.max_attempts),
            delay,
            at_once: self.at_once.unwrap_or(HedgeConfig::DEFAULT.at_once),
        }
    }

    /// The budget or quota every call shares, checked (not both).
    pub fn allowance(&self) -> Result<(Option<RetryBudget>, Option<RetryQuota>), String> {
        if self.budget.is_some() && self.quota.is_some() {
            return Err("config: a budget or a quota, not both".into());
        }
        let budget = self
            .budget
            .map(|b| RetryBudget::new(b.max_tokens, b.token_ratio))
            .transpose()
            .map_err(|e| e.to_string())?;
        let quota = self
            .quota
            .map(|q| RetryQuota::new(q.capacity, q.costs()))
            .transpose()
            .map_err(|e| e.to_string())?;
        Ok((budget, quota))
    }
}

/// One step of a `hedge` scenario, parsed strictly (public so that adapters
/// replay the same steps through their own API; the README says what each op
/// means).
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub enum Step {
    Advance {
        ms: u64,
    },
    Start {
        call: String,
    },
    ExpectSent {
        call: String,
        attempts: u32,
    },
    Fail {
        call: String,
        attempt: u32,
        retryable: Option<bool>,
        kind: Option<String>,
        then: String,
    },
    Succeed {
        call: String,
        attempt: u32,
        cancelled: u32,
    },
    Cancel {
        call: String,
        cancelled: u32,
    },
    ExpectDelay {
        delay_us: u64,
    },
    ExpectStats(ExpectedStats),
    ExpectBudget {
        tokens: Option<f64>,
        allows_retry: Option<bool>,
    },
    ExpectQuota {
        available: u32,
    },
}

/// What follows a failed attempt in a `fail` step's `then`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// The next attempt is sent at once.
    Send,
    /// The call waits for the attempts still in flight.
    Continue,
    /// The call ends with the failure, for this reason.
    GiveUp(seawall_core::retry::GiveUp),
}

impl Then {
    /// `send`, `continue`, or a give-up reason.
    pub fn parse(text: &str) -> Result<Then, String> {
        match text {
            "send" => Ok(Then::Send),
            "continue" => Ok(Then::Continue),
            other => seawall_core::retry::GiveUp::from_name(other)
                .map(Then::GiveUp)
                .ok_or_else(|| format!("unknown then {other:?}")),
        }
    }
}

/// The failure a `fail` step describes.
pub fn failure(retryable: Option<bool>, kind: Option<&str>) -> Result<Failure, String> {
    let failure = if retryable.unwrap_or(true) {
        Failure::retryable()
    } else {
        Failure::not_retryable()
    };
    Ok(failure.with_kind(error_kind(kind)?))
}

/// An `expect_stats` step (absent: not checked).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct ExpectedStats {
    pub calls: Option<u64>,
    pub hedges: Option<u64>,
    pub won: Option<u64>,
    pub refused: Option<u64>,
    pub cancelled: Option<u64>,
}

impl ExpectedStats {
    /// Checks the counters given.
    pub fn check(&self, stats: &HedgeStats) -> Result<(), String> {
        check_opt("calls", self.calls, stats.calls)?;
        check_opt("hedges", self.hedges, stats.hedges)?;
        check_opt("won", self.won, stats.won)?;
        check_opt("refused", self.refused, stats.refused)?;
        check_opt("cancelled", self.cancelled, stats.cancelled)
    }
}

/// Checks an `expect_budget` step.
pub fn check_budget(
    budget: Option<&RetryBudget>,
    tokens: Option<f64>,
    allows_retry: Option<bool>,
) -> Result<(), String> {
    let budget = budget.ok_or("expect_budget: the scenario has no budget")?;
    check_opt("tokens", tokens, budget.tokens())?;
    check_opt("allows_retry", allows_retry, budget.allows_retry())
}

/// One call in progress: its state and the attempts in flight.
struct Call {
    name: String,
    state: HedgeCall,
    running: Vec<u32>,
}

struct Replay {
    hedge: Hedge,
    budget: Option<RetryBudget>,
    quota: Option<RetryQuota>,
    clock: ManualClock,
    calls: Vec<Call>,
}

impl Replay {
    fn allowance(&self) -> Allowance<'_> {
        match (&self.budget, &self.quota) {
            (Some(budget), _) => Allowance::Budget(budget),
            (None, Some(quota)) => Allowance::Quota(quota),
            (None, None) => Allowance::None,
        }
    }

    /// Polls every call in progress, in start order, sending what is due now;
    /// answers when the next hedge falls due.
    fn poll_all(&mut self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let now = self.clock.now();
        for index in 0..self.calls.len() {
            loop {
                let mut state = self.calls[index].state;
                let decision = self.hedge.poll(&mut state, &self.clock, self.allowance());
                let call = &mut self.calls[index];
                call.state = state;
                match decision {
                    Next::Send { attempt } => call.running.push(attempt),
                    Next::Wait(wait) => {
                        let at = now.saturating_add(wait);
                        next = Some(next.map_or(at, |n| n.min(at)));
                        break;
                    }
                    Next::Idle => break,
                }
            }
        }
        next
    }

    /// Moves time forward by `by`, stopping at each due hedge.
    fn advance(&mut self, by: Duration) {
        let target = self.clock.now().saturating_add(by);
        while let Some(due) = self.poll_all()
            && due <= target
        {
            self.clock.set(due);
        }
        self.clock.set(target);
        self.poll_all();
    }

    fn call(&mut self, name: &str) -> Result<usize, String> {
        self.calls
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| format!("no call {name:?} in progress"))
    }

    /// Ends attempt `attempt` of call `index`, which must be in flight.
    fn take_attempt(&mut self, index: usize, attempt: u32) -> Result<(), String> {
        let running = &mut self.calls[index].running;
        let at = running
            .iter()
            .position(|&a| a == attempt)
            .ok_or_else(|| format!("attempt {attempt} is not in flight: {running:?}"))?;
        running.remove(at);
        Ok(())
    }
}

/// Replays a `hedge` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let hedge = Hedge::new(config.hedge_config()).map_err(|e| e.to_string())?;
    let (budget, quota) = config.allowance()?;
    let mut r = Replay {
        hedge,
        budget,
        quota,
        clock: ManualClock::starting_at(Instant::from_millis(scenario.start_ms)),
        calls: Vec::new(),
    };

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => r.advance(Duration::from_millis(ms)),
            Step::Start { call } => {
                if r.call(&call).is_ok() {
                    return Err(format!("call {call:?} is already in progress"));
                }
                let state = r.hedge.start(&r.clock);
                r.calls.push(Call {
                    name: call,
                    state,
                    running: vec![1],
                });
                r.poll_all();
            }
            Step::ExpectSent { call, attempts } => {
                let index = r.call(&call)?;
                check("attempts sent", &attempts, &r.calls[index].state.sent())?;
            }
            Step::Fail {
                call,
                attempt,
                retryable,
                kind,
                then,
            } => {
                let expected = Then::parse(&then)?;
                let failure = failure(retryable, kind.as_deref())?;
                let index = r.call(&call)?;
                r.take_attempt(index, attempt)?;
                let mut state = r.calls[index].state;
                let decision = r
                    .hedge
                    .on_failure(&mut state, failure, &r.clock, r.allowance());
                r.calls[index].state = state;
                let actual = match decision {
                    Failed::Send { attempt } => {
                        r.calls[index].running.push(attempt);
                        Then::Send
                    }
                    Failed::Continue => Then::Continue,
                    Failed::GiveUp(reason) => {
                        r.calls.remove(index);
                        Then::GiveUp(reason)
                    }
                };
                check("then", &expected, &actual)?;
                r.poll_all();
            }
            Step::Succeed {
                call,
                attempt,
                cancelled,
            } => {
                let index = r.call(&call)?;
                r.take_attempt(index, attempt)?;
                let mut state = r.calls.remove(index).state;
                let allowance = r.allowance();
                let answer = r.hedge.on_success(&mut state, attempt, &r.clock, allowance);
                check("cancelled", &cancelled, &answer.cancelled)?;
            }
            Step::Cancel { call, cancelled } => {
                let index = r.call(&call)?;
                let mut state = r.calls.remove(index).state;
                check("cancelled", &cancelled, &r.hedge.on_cancel(&mut state))?;
            }
            Step::ExpectDelay { delay_us } => {
                check(
                    "delay_us",
                    &delay_us,
                    &(r.hedge.delay(&r.clock).as_micros() as u64),
                )?;
            }
            Step::ExpectStats(expected) => expected.check(&r.hedge.stats())?,
            Step::ExpectBudget {
                tokens,
                allows_retry,
            } => check_budget(r.budget.as_ref(), tokens, allows_retry)?,
            Step::ExpectQuota { available } => {
                let quota = r.quota.as_ref().ok_or("expect_quota: no quota")?;
                check("available", &available, &quota.available())?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use crate::replay::replay;
    use crate::scenario::Scenario;

    fn run(config: &str, steps: &str) -> Result<(), String> {
        let text = format!(
            r#"{{"description": "", "policy": "hedge", "config": {config}, "steps": {steps}}}"#
        );
        replay(&serde_json::from_str::<Scenario>(&text).unwrap())
    }

    #[test]
    fn wrong_expectations_and_typos_fail() {
        let fixed = r#"{"delay": {"kind": "fixed", "delay_ms": 10}}"#;
        for (config, steps, expected) in [
            (
                fixed,
                r#"[{"op": "start", "call": "a"}, {"op": "advance", "ms": 10},
                    {"op": "expect_sent", "call": "a", "attempts": 1}]"#,
                "attempts sent: expected 1, got 2",
            ),
            (
                fixed,
                r#"[{"op": "start", "call": "a"},
                    {"op": "fail", "call": "a", "attempt": 1, "then": "continue"}]"#,
                "then: expected Continue, got Send",
            ),
            (
                fixed,
                r#"[{"op": "start", "call": "a"},
                    {"op": "succeed", "call": "a", "attempt": 2, "cancelled": 0}]"#,
                "attempt 2 is not in flight",
            ),
            (
                fixed,
                r#"[{"op": "start", "call": "a"}, {"op": "fail", "call": "a", "attempt": 1, "then": "maybe"}]"#,
                "unknown then",
            ),
            (
                fixed,
                r#"[{"op": "expect_delay", "delay": 1}]"#,
                "unknown field",
            ),
            (r#"{"max_attempts": 1}"#, "[]", "invalid max_attempts"),
            (
                r#"{"budget": {"max_tokens": 1, "token_ratio": 0.1}, "quota": {"capacity": 500}}"#,
                "[]",
                "not both",
            ),
        ] {
            let error = run(config, steps).unwrap_err();
            assert!(error.contains(expected), "{steps}: {error}");
        }
    }
}
