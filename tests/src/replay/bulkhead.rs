//! Replays `bulkhead` scenarios against `seawall_core::bulkhead`.

use std::collections::HashMap;
use std::time::Duration;

use seawall_core::bulkhead::{Bulkhead, BulkheadGuard};
use seawall_core::time::{Instant, ManualClock};
use serde::Deserialize;

use super::check;
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
    Expect {
        in_flight: Option<u32>,
        available: Option<u32>,
    },
}

/// Replays a `bulkhead` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let bulkhead = config.bulkhead()?;
    // The bulkhead takes no time; the clock is kept so that the common ops work.
    let clock = ManualClock::starting_at(Instant::from_millis(scenario.start_ms));
    let mut guards: HashMap<String, BulkheadGuard<'_>> = HashMap::new();

    for index in 0..scenario.steps.len() {
        let step: Step = scenario.step(index)?;
        let at = |e: String| format!("step {index} ({}): {e}", scenario.steps[index]);
        let result: Result<(), String> = (|| {
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
                        return Err(
                            "enter takes exactly one of guard and \"rejected\": true".into()
                        );
                    }
                },
                Step::Exit { guard } => {
                    let held = guards
                        .remove(&guard)
                        .ok_or_else(|| format!("no guard {guard:?}"))?;
                    drop(held);
                }
                Step::Expect {
                    in_flight,
                    available,
                } => {
                    if in_flight.is_none() && available.is_none() {
                        return Err("expect checks nothing".into());
                    }
                    if let Some(expected) = in_flight {
                        check("in_flight", &expected, &bulkhead.in_flight())?;
                    }
                    if let Some(expected) = available {
                        check("available", &expected, &bulkhead.available())?;
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
