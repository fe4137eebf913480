//! Replays `attempt_timeout` scenarios against
//! `seawall_core::retry::AttemptTimeout`.

use std::time::Duration;

use seawall_core::retry::{AttemptTimeout, AttemptTimeoutConfig};
use seawall_core::time::{Instant, ManualClock};
use serde::Deserialize;

use super::{check_opt, for_each_step};
use crate::scenario::Scenario;

/// The scenario's configuration keys (absent: the core's defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct Config {
    pub percentile: Option<f64>,
    pub multiplier: Option<f64>,
    pub min_ms: Option<u64>,
    pub max_ms: Option<u64>,
    pub min_samples: Option<u32>,
    pub window_ms: Option<u64>,
}

impl Config {
    /// The core configuration these keys describe.
    pub fn timeout_config(&self) -> AttemptTimeoutConfig {
        let d = AttemptTimeoutConfig::DEFAULT;
        let ms = Duration::from_millis;
        AttemptTimeoutConfig {
            percentile: self.percentile.unwrap_or(d.percentile),
            multiplier: self.multiplier.unwrap_or(d.multiplier),
            min: self.min_ms.map_or(d.min, ms),
            max: self.max_ms.map_or(d.max, ms),
            min_samples: self.min_samples.unwrap_or(d.min_samples),
            window: self.window_ms.map_or(d.window, ms),
        }
    }
}

/// One step of an `attempt_timeout` scenario, parsed strictly (public so that
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
    Record {
        latency_ms: u64,
        repeat: Option<u32>,
    },
    Expect(ExpectedTimeout),
}

/// An `expect` step (absent: not checked).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct ExpectedTimeout {
    pub timeout_us: Option<u64>,
    pub samples: Option<u64>,
}

impl ExpectedTimeout {
    /// Checks the timeout (in whole microseconds, rounded down) and the
    /// latencies known.
    pub fn check(&self, timeout: Duration, samples: u64) -> Result<(), String> {
        if self.timeout_us.is_none() && self.samples.is_none() {
            return Err("expect checks nothing".into());
        }
        check_opt("timeout_us", self.timeout_us, timeout.as_micros() as u64)?;
        check_opt("samples", self.samples, samples)
    }
}

/// Replays an `attempt_timeout` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let timeout = AttemptTimeout::<192>::new(config.timeout_config()).map_err(|e| e.to_string())?;
    let clock = ManualClock::starting_at(Instant::from_millis(scenario.start_ms));

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => clock.set(Instant::from_millis(ms)),
            Step::Record { latency_ms, repeat } => {
                for _ in 0..repeat.unwrap_or(1) {
                    timeout.record(&clock, Duration::from_millis(latency_ms));
                }
            }
            Step::Expect(expected) => {
                expected.check(timeout.timeout(&clock), timeout.samples(&clock))?
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
            r#"{{"description": "", "policy": "attempt_timeout", "config": {config}, "steps": {steps}}}"#
        );
        replay(&serde_json::from_str::<Scenario>(&text).unwrap())
    }

    #[test]
    fn wrong_expectations_and_typos_fail() {
        for (config, steps, expected) in [
            (
                "{}",
                r#"[{"op": "expect", "timeout_us": 1}]"#,
                "timeout_us: expected 1,",
            ),
            ("{}", r#"[{"op": "expect"}]"#, "checks nothing"),
            ("{}", r#"[{"op": "record", "latency": 1}]"#, "unknown field"),
            (r#"{"percentile": 2.0}"#, "[]", "invalid percentile"),
        ] {
            let error = run(config, steps).unwrap_err();
            assert!(error.contains(expected), "{steps}: {error}");
        }
    }
}
