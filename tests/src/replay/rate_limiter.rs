//! Replays `rate_limiter` scenarios against `seawall_core::rate_limit`.

use std::time::Duration;

use seawall_core::rate_limit::{Quota, RateLimiter};
use seawall_core::time::{Instant, ManualClock};
use serde::Deserialize;

use super::check;
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
}

impl Config {
    /// The core quota these keys describe.
    pub fn quota(&self) -> Result<Quota, String> {
        let period = Duration::from_millis(self.period_ms.unwrap_or(1000));
        Quota::new(self.rate, period, self.burst).map_err(|e| e.to_string())
    }
}

/// One step of a `rate_limiter` scenario, parsed strictly (public so that
/// adapters replay the same steps through their own API; the README says what
/// each op means).
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
    Check {
        n: Option<u32>,
        repeat: Option<u32>,
        allowed: Option<bool>,
        retry_after_ms: Option<u64>,
        retry_after_ns: Option<u64>,
        error: Option<String>,
    },
    Reset,
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

    for index in 0..scenario.steps.len() {
        let step: Step = scenario.step(index)?;
        let at = |e: String| format!("step {index} ({}): {e}", scenario.steps[index]);
        let result: Result<(), String> = (|| {
            match step {
                Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
                Step::SetTime { ms } => clock.set(Instant::from_millis(ms)),
                Step::Reset => limiter.reset(),
                Step::Check {
                    n,
                    repeat,
                    allowed,
                    retry_after_ms,
                    retry_after_ns,
                    error,
                } => {
                    let expected =
                        expected_check(allowed, retry_after_ms, retry_after_ns, error.as_deref())?;
                    let repeat = repeat.unwrap_or(1);
                    for i in 0..repeat {
                        let actual = match limiter.check_n(n.unwrap_or(1), &clock) {
                            Ok(Ok(())) => ExpectedCheck::Allowed,
                            Ok(Err(refused)) => {
                                let wait = refused.retry_after().as_nanos() as u64;
                                match expected {
                                    ExpectedCheck::Refused(None) => ExpectedCheck::Refused(None),
                                    _ => ExpectedCheck::Refused(Some(wait)),
                                }
                            }
                            Err(_) => ExpectedCheck::InsufficientCapacity,
                        };
                        check(&format!("check {} of {repeat}", i + 1), &expected, &actual)?;
                    }
                }
            }
            Ok(())
        })();
        result.map_err(at)?;
    }
    Ok(())
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
