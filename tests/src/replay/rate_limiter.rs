//! Replays `rate_limiter` scenarios against `seawall_core::rate_limit`.

use std::time::Duration;

use seawall_core::rate_limit::{InsufficientCapacity, NotUntil, Quota, RateLimiter};
use seawall_core::time::{Clock, Instant, ManualClock};
use seawall_core::wait::{Turn, Wait};
use serde::Deserialize;

use super::{check, check_opt, for_each_step};
use crate::scenario::Scenario;

/// The scenario's configuration keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Cells per period (required).
    pub rate: u64,
    /// The period (default 1000 ms).
    pub period_ms: Option<u64>,
    /// The most cells admitted at once (required).
    pub burst: u32,
    /// How long an `acquire` waits for its turn (default 0: refused at once).
    pub max_wait_ms: Option<u64>,
}

impl Config {
    /// The core quota these keys describe.
    pub fn quota(&self) -> Result<Quota, String> {
        let period = Duration::from_millis(self.period_ms.unwrap_or(1000));
        Quota::new(self.rate, period, self.burst).map_err(|e| e.to_string())
    }

    /// How long an `acquire` waits for its turn.
    pub fn max_wait(&self) -> Duration {
        Duration::from_millis(self.max_wait_ms.unwrap_or(0))
    }
}

/// One step of a `rate_limiter` scenario, parsed strictly (public so that
/// adapters replay the same steps through their own API; the README says what
/// each op means).
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub enum Step {
    Advance { ms: u64 },
    SetTime { ms: u64 },
    Check(CheckStep),
    Acquire(AcquireStep),
    Reset,
}

/// An `acquire` step: a request of one cell that waits for its turn up to
/// the scenario's `max_wait_ms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct AcquireStep {
    pub waited_ms: u64,
    pub refused: Option<bool>,
    pub retry_after_ms: Option<u64>,
}

impl AcquireStep {
    /// Checks what an acquire did: how long it waited, and the wait its
    /// refusal named (`None`: admitted).
    pub fn check(&self, waited: Duration, refused: Option<Duration>) -> Result<(), String> {
        check(
            "waited (ns)",
            &(u128::from(self.waited_ms) * 1_000_000),
            &waited.as_nanos(),
        )?;
        let expected = match (self.refused, self.retry_after_ms) {
            (None | Some(false), None) => None,
            (Some(true), after) => Some(after),
            (_, Some(_)) => return Err("retry_after_ms only goes with \"refused\": true".into()),
        };
        match (expected, refused) {
            (None, None) => Ok(()),
            (None, Some(after)) => Err(format!(
                "refused (retry after {after:?}), expected admitted"
            )),
            (Some(_), None) => Err("admitted, expected a refusal".into()),
            (Some(expected), Some(after)) => check_opt(
                "retry_after (ns)",
                expected.map(|ms| u128::from(ms) * 1_000_000),
                after.as_nanos(),
            ),
        }
    }
}

/// A `check` step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct CheckStep {
    pub n: Option<u32>,
    pub repeat: Option<u32>,
    pub allowed: Option<bool>,
    pub retry_after_ms: Option<u64>,
    pub retry_after_ns: Option<u64>,
    pub error: Option<String>,
}

impl CheckStep {
    /// The cells each check takes (default 1).
    pub fn n(&self) -> u32 {
        self.n.unwrap_or(1)
    }

    /// How many checks the step makes (default 1).
    pub fn repeat(&self) -> u32 {
        self.repeat.unwrap_or(1)
    }

    /// What each check expects (see [`expected_check`]).
    pub fn expected(&self) -> Result<ExpectedCheck, String> {
        expected_check(
            self.allowed,
            self.retry_after_ms,
            self.retry_after_ns,
            self.error.as_deref(),
        )
    }
}

/// What a `check` step expects, for each repetition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedCheck {
    /// Admitted.
    Allowed,
    /// Refused; with the wait in nanoseconds when the step gives it.
    Refused(Option<u64>),
    /// `n` is more than the burst.
    InsufficientCapacity,
}

impl ExpectedCheck {
    /// What a refusal with `wait` is, compared with this expectation: the
    /// wait is left out when the step does not give it.
    pub fn refused(self, wait: Duration) -> ExpectedCheck {
        match self {
            ExpectedCheck::Refused(None) => ExpectedCheck::Refused(None),
            _ => ExpectedCheck::Refused(Some(wait.as_nanos() as u64)),
        }
    }

    /// What a weighted check's answer is, compared with this expectation.
    pub fn observed(self, checked: Result<Result<(), NotUntil>, InsufficientCapacity>) -> Self {
        match checked {
            Ok(Ok(())) => ExpectedCheck::Allowed,
            Ok(Err(not_until)) => self.refused(not_until.retry_after()),
            Err(_) => ExpectedCheck::InsufficientCapacity,
        }
    }
}

/// The expectation of a `check` step: `allowed` (with `retry_after_ms` or
/// `retry_after_ns` only when false), or `error`.
pub fn expected_check(
    allowed: Option<bool>,
    retry_after_ms: Option<u64>,
    retry_after_ns: Option<u64>,
    error: Option<&str>,
) -> Result<ExpectedCheck, String> {
    let retry_after = match (retry_after_ms, retry_after_ns) {
        (None, None) => None,
        (Some(ms), None) => Some(ms * 1_000_000),
        (None, Some(ns)) => Some(ns),
        _ => return Err("give at most one of retry_after_ms and retry_after_ns".into()),
    };
    match (allowed, error) {
        (Some(true), None) if retry_after.is_none() => Ok(ExpectedCheck::Allowed),
        (Some(true), None) => Err("retry_after only goes with \"allowed\": false".into()),
        (Some(false), None) => Ok(ExpectedCheck::Refused(retry_after)),
        (None, Some("insufficient_capacity")) if retry_after.is_none() => {
            Ok(ExpectedCheck::InsufficientCapacity)
        }
        (None, Some(other)) if other != "insufficient_capacity" => {
            Err(format!("unknown error {other:?}"))
        }
        _ => Err("check takes exactly one of allowed and error".into()),
    }
}

/// Replays a `rate_limiter` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let limiter = RateLimiter::new(config.quota()?);
    let clock = ManualClock::starting_at(Instant::from_millis(scenario.start_ms));

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => clock.set(Instant::from_millis(ms)),
            Step::Reset => limiter.reset(),
            Step::Acquire(step) => {
                let start = clock.now();
                let wait = Wait::start(config.max_wait(), &clock);
                let refused = loop {
                    let not_until = match limiter.check(&clock) {
                        Ok(()) => break None,
                        Err(not_until) => not_until,
                    };
                    match wait.next(Some(not_until.retry_after()), &clock) {
                        Turn::Sleep(delay) => clock.advance(delay),
                        Turn::GiveUp => break Some(not_until.retry_after()),
                    }
                };
                step.check(clock.now() - start, refused)?;
            }
            Step::Check(step) => {
                let expected = step.expected()?;
                let repeat = step.repeat();
                for i in 0..repeat {
                    let actual = expected.observed(limiter.check_n(step.n(), &clock));
                    check(&format!("check {} of {repeat}", i + 1), &expected, &actual)?;
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use crate::replay::replay;
    use crate::scenario::Scenario;

    fn run(steps: &str) -> Result<(), String> {
        let text = format!(
            r#"{{"description": "", "policy": "rate_limiter", "config": {{"rate": 10, "burst": 1}}, "steps": {steps}}}"#
        );
        replay(&serde_json::from_str::<Scenario>(&text).unwrap())
    }

    #[test]
    fn wrong_expectations_fail() {
        let error = run(r#"[{"op": "check", "allowed": false}]"#).unwrap_err();
        assert!(error.contains("expected Refused"), "{error}");
        let error = run(r#"[{"op": "check", "allowed": true, "repeat": 2}]"#).unwrap_err();
        assert!(error.contains("check 2 of 2"), "{error}");
        let error = run(r#"[{"op": "check", "allowed": true}, {"op": "check", "allowed": false, "retry_after_ms": 99}]"#)
            .unwrap_err();
        assert!(error.contains("Refused(Some(99000000))"), "{error}");
        let error = run(r#"[{"op": "check", "n": 2, "allowed": false}]"#).unwrap_err();
        assert!(error.contains("InsufficientCapacity"), "{error}");
    }

    #[test]
    fn typos_and_ambiguities_are_rejected() {
        for (step, expected) in [
            (r#"{"op": "check", "alowed": true}"#, "unknown field"),
            (r#"{"op": "check"}"#, "exactly one of"),
            (
                r#"{"op": "check", "allowed": true, "retry_after_ms": 1}"#,
                "only goes with",
            ),
            (r#"{"op": "check", "error": "too_big"}"#, "unknown error"),
            (
                r#"{"op": "check", "allowed": false, "retry_after_ms": 1, "retry_after_ns": 1}"#,
                "at most one",
            ),
        ] {
            let error = run(&format!("[{step}]")).unwrap_err();
            assert!(error.contains(expected), "{step}: {error}");
        }
        let text =
            r#"{"description": "", "policy": "rate_limiter", "config": {"rate": 10}, "steps": []}"#;
        let error = replay(&serde_json::from_str::<Scenario>(text).unwrap()).unwrap_err();
        assert!(error.contains("missing field `burst`"), "{error}");
    }
}
