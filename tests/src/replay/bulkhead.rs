//! Replays `bulkhead` scenarios against `seawall_core::bulkhead`.

use std::collections::HashMap;
use std::time::Duration;

use seawall_core::bulkhead::{Bulkhead, BulkheadPermit};
use seawall_core::time::{Instant, ManualClock};
use serde::Deserialize;

use super::{check_opt, for_each_step};
use crate::scenario::Scenario;

/// The scenario's configuration keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The most calls in flight at once (required).
    pub max_concurrent: u32,
}

impl Config {
    /// The core bulkhead these keys describe.
    pub fn bulkhead(&self) -> Result<Bulkhead, String> {
        Bulkhead::new(self.max_concurrent).map_err(|e| e.to_string())
    }
}

/// One step of a `bulkhead` scenario, parsed strictly (public so that adapters
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
    Enter {
        guard: Option<String>,
        rejected: Option<bool>,
    },
    Exit {
        guard: String,
    },
    Expect(ExpectedPlaces),
}

/// An `expect` step: the places it checks (absent: not checked).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct ExpectedPlaces {
    pub in_flight: Option<u32>,
    pub available: Option<u32>,
}

impl ExpectedPlaces {
    /// Whether the step checks nothing (a mistake in a scenario file).
    pub fn is_empty(&self) -> bool {
        self.in_flight.is_none() && self.available.is_none()
    }

    /// Checks the bulkhead's calls in flight and free places.
    pub fn check(&self, in_flight: u32, available: u32) -> Result<(), String> {
        check_opt("in_flight", self.in_flight, in_flight)?;
        check_opt("available", self.available, available)
    }
}

/// Replays a `bulkhead` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let bulkhead = config.bulkhead()?;
    // The bulkhead takes no time; the clock is kept so that the common ops work.
    let clock = ManualClock::starting_at(Instant::from_millis(scenario.start_ms));
    let mut guards: HashMap<String, BulkheadPermit<'_>> = HashMap::new();

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => clock.set(Instant::from_millis(ms)),
            Step::Enter { guard, rejected } => match (guard, rejected) {
                (Some(name), None) => {
                    let guard = bulkhead
                        .try_enter()
                        .map_err(|full| format!("rejected: {full}"))?;
                    if guards.insert(name.clone(), guard).is_some() {
                        return Err(format!("guard {name:?} is already held"));
                    }
                }
                (None, Some(true)) => {
                    if bulkhead.try_enter().is_ok() {
                        return Err("admitted, expected a rejection".into());
                    }
                }
                _ => {
                    return Err("enter takes exactly one of guard and \"rejected\": true".into());
                }
            },
            Step::Exit { guard } => {
                let held = guards
                    .remove(&guard)
                    .ok_or_else(|| format!("no guard {guard:?}"))?;
                drop(held);
            }
            Step::Expect(expected) => {
                if expected.is_empty() {
                    return Err("expect checks nothing".into());
                }
                expected.check(bulkhead.in_flight(), bulkhead.available())?;
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
            r#"{{"description": "", "policy": "bulkhead", "config": {{"max_concurrent": 1}}, "steps": {steps}}}"#
        );
        replay(&serde_json::from_str::<Scenario>(&text).unwrap())
    }

    #[test]
    fn wrong_expectations_fail() {
        let error = run(r#"[{"op": "enter", "rejected": true}]"#).unwrap_err();
        assert!(error.contains("expected a rejection"), "{error}");
        let error =
            run(r#"[{"op": "enter", "guard": "a"}, {"op": "enter", "guard": "b"}]"#).unwrap_err();
        assert!(error.contains("rejected: bulkhead is full"), "{error}");
        let error = run(r#"[{"op": "enter", "guard": "a"}, {"op": "expect", "in_flight": 0}]"#)
            .unwrap_err();
        assert!(error.contains("in_flight: expected 0, got 1"), "{error}");
        let error = run(r#"[{"op": "exit", "guard": "a"}]"#).unwrap_err();
        assert!(error.contains("no guard"), "{error}");
    }

    #[test]
    fn typos_and_ambiguities_are_rejected() {
        for (step, expected) in [
            (r#"{"op": "enter", "gaurd": "a"}"#, "unknown field"),
            (r#"{"op": "enter"}"#, "exactly one of"),
            (r#"{"op": "enter", "rejected": false}"#, "exactly one of"),
            (r#"{"op": "expect"}"#, "checks nothing"),
        ] {
            let error = run(&format!("[{step}]")).unwrap_err();
            assert!(error.contains(expected), "{step}: {error}");
        }
    }
}
