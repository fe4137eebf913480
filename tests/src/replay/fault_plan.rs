//! Replays `fault_plan` scenarios against `seawall_core::fault`.

use std::time::Duration;

use seawall_core::fault::{FaultCounts, FaultInjector, FaultKind, FaultRule, Injection};
use seawall_core::time::{Instant, ManualClock};
use serde::Deserialize;

use super::{check, check_opt, for_each_step};
use crate::scenario::Scenario;

/// The scenario's configuration: the plan, in its file form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The seed of the plan's generator (default 0).
    #[serde(default)]
    pub seed: u64,
    /// The rules, in order.
    pub rules: Vec<FaultRule<String>>,
}

impl Config {
    /// The configuration, with every rule checked.
    pub fn parse(scenario: &Scenario) -> Result<Config, String> {
        let config: Config = scenario.config()?;
        seawall_core::fault::validate(&config.rules).map_err(|e| e.to_string())?;
        Ok(config)
    }
}

/// One step of a `fault_plan` scenario, parsed strictly (public so that
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
    Enable,
    Disable,
    Reseed,
    Call {
        key: Option<String>,
        repeat: Option<u32>,
        injected: Option<Expected>,
    },
    Calls {
        n: u32,
        key: Option<String>,
        errors: u64,
        outcomes: u64,
        delayed: u64,
    },
    ExpectCounts {
        errors: Option<u64>,
        latency: Option<u64>,
        outcomes: Option<u64>,
    },
}

/// What one call must get: a delay and perhaps a replacement (`injected`
/// `null`: nothing).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The delay, in whole milliseconds (default 0).
    #[serde(default)]
    pub delay_ms: u64,
    /// `error` or `outcome` (absent: the call runs).
    pub replace: Option<String>,
}

impl Expected {
    /// What a call got, in the scenario's words: its delay in milliseconds
    /// and what replaced it, if anything (`None`: nothing at all).
    pub fn of(delay: Duration, replace: Option<FaultKind>) -> Option<Expected> {
        if delay.is_zero() && replace.is_none() {
            return None;
        }
        Some(Expected {
            delay_ms: delay.as_millis() as u64,
            replace: replace.map(|kind| kind.as_str().to_owned()),
        })
    }

    /// The expectation of an injection.
    pub fn of_injection(injection: Option<Injection>) -> Option<Expected> {
        injection.and_then(|i| Expected::of(i.delay(), i.replace()))
    }
}

/// Counts of `calls` results, for a `calls` step: (errors, outcomes, delayed).
pub fn tally(results: &[Option<Expected>]) -> (u64, u64, u64) {
    let count =
        |f: &dyn Fn(&Expected) -> bool| results.iter().flatten().filter(|e| f(e)).count() as u64;
    (
        count(&|e| e.replace.as_deref() == Some("error")),
        count(&|e| e.replace.as_deref() == Some("outcome")),
        count(&|e| e.delay_ms > 0),
    )
}

/// Checks a `calls` step's counts.
pub fn check_tally(
    results: &[Option<Expected>],
    errors: u64,
    outcomes: u64,
    delayed: u64,
) -> Result<(), String> {
    check(
        "errors, outcomes, delayed",
        &(errors, outcomes, delayed),
        &tally(results),
    )
}

/// Checks an `expect_counts` step.
pub fn check_counts(
    counts: &FaultCounts,
    errors: Option<u64>,
    latency: Option<u64>,
    outcomes: Option<u64>,
) -> Result<(), String> {
    if errors.is_none() && latency.is_none() && outcomes.is_none() {
        return Err("expect_counts checks nothing".into());
    }
    check_opt("errors", errors, counts.errors)?;
    check_opt("latency", latency, counts.latency)?;
    check_opt("outcomes", outcomes, counts.outcomes)
}

/// Replays a `fault_plan` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config = Config::parse(scenario)?;
    let injector = FaultInjector::new(config.seed);
    let clock = ManualClock::starting_at(Instant::from_millis(scenario.start_ms));
    let call =
        |key: Option<&str>| Expected::of_injection(injector.inject(&config.rules, key, &clock));

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => clock.set(Instant::from_millis(ms)),
            Step::Enable => injector.enable(&clock),
            Step::Disable => injector.disable(),
            Step::Reseed => injector.reseed(),
            Step::Call {
                key,
                repeat,
                injected,
            } => {
                for _ in 0..repeat.unwrap_or(1) {
                    check("injected", &injected, &call(key.as_deref()))?;
                }
            }
            Step::Calls {
                n,
                key,
                errors,
                outcomes,
                delayed,
            } => {
                let results: Vec<_> = (0..n).map(|_| call(key.as_deref())).collect();
                check_tally(&results, errors, outcomes, delayed)?;
            }
            Step::ExpectCounts {
                errors,
                latency,
                outcomes,
            } => check_counts(&injector.counts(), errors, latency, outcomes)?,
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
            r#"{{"description": "", "policy": "fault_plan", "config": {config}, "steps": {steps}}}"#
        );
        replay(&serde_json::from_str::<Scenario>(&text).unwrap())
    }

    #[test]
    fn wrong_expectations_and_typos_fail() {
        let errors = r#"{"rules": [{"kind": "error", "rate": 1.0}]}"#;
        for (config, steps, expected) in [
            (
                errors,
                r#"[{"op": "call", "injected": {"replace": "error"}}]"#,
                "injected: expected Some",
            ),
            (
                errors,
                r#"[{"op": "enable"}, {"op": "call", "injected": null}]"#,
                "injected: expected None",
            ),
            (errors, r#"[{"op": "expect_counts"}]"#, "checks nothing"),
            (
                errors,
                r#"[{"op": "call", "injected": {"delay": 1}}]"#,
                "unknown field",
            ),
            (
                r#"{"rules": [{"kind": "error", "rate": 2.0}]}"#,
                "[]",
                "invalid rate",
            ),
            (
                r#"{"rules": [{"kind": "error", "delay_ms": 5, "rate": 1.0}]}"#,
                "[]",
                "delay_ms",
            ),
            (
                r#"{"rules": [{"kind": "latency", "rate": 1.0}]}"#,
                "[]",
                "delay_ms",
            ),
            (
                r#"{"rules": [{"kind": "error", "rate": 1.0, "keys": "a"}]}"#,
                "[]",
                "unknown field",
            ),
        ] {
            let error = run(config, steps).unwrap_err();
            assert!(error.contains(expected), "{steps}: {error}");
        }
    }
}
