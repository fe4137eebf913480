//! Replays `adaptive_rate` scenarios against `seawall_core::retry::AdaptiveRate`.

use std::time::Duration;

use seawall_core::retry::{AdaptiveRate, AdaptiveRateConfig};
use seawall_core::time::{Clock, Instant, ManualClock};
use serde::Deserialize;

use super::{check_opt, for_each_step};
use crate::scenario::Scenario;

/// The scenario's configuration keys (absent: the AWS SDKs' constants).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct Config {
    pub beta: Option<f64>,
    pub scale: Option<f64>,
    pub smoothing: Option<f64>,
    pub min_rate: Option<f64>,
}

impl Config {
    /// The core configuration these keys describe.
    pub fn rate_config(&self) -> AdaptiveRateConfig {
        let d = AdaptiveRateConfig::DEFAULT;
        AdaptiveRateConfig {
            beta: self.beta.unwrap_or(d.beta),
            scale: self.scale.unwrap_or(d.scale),
            smoothing: self.smoothing.unwrap_or(d.smoothing),
            min_rate: self.min_rate.unwrap_or(d.min_rate),
        }
    }

    /// The core adaptive rate these keys describe, created at `now` (the
    /// scenario's start).
    pub fn rate(&self, now: Instant) -> Result<AdaptiveRate, String> {
        AdaptiveRate::starting_at(self.rate_config(), now).map_err(|e| e.to_string())
    }
}

/// One step of an `adaptive_rate` scenario, parsed strictly (public so that
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
    Response {
        throttled: Option<bool>,
        enabled: Option<bool>,
        fill_rate: Option<f64>,
        measured_rate: Option<f64>,
    },
    Acquire {
        allowed: Option<bool>,
        wait_ms: Option<f64>,
    },
    Reset,
    Expect(ExpectedRate),
}

/// What a step checks of the rate (absent: not checked). Rates are compared to
/// a relative 1e-9, waits to a microsecond.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct ExpectedRate {
    pub enabled: Option<bool>,
    pub fill_rate: Option<f64>,
    pub measured_rate: Option<f64>,
    pub throttled: Option<u64>,
}

impl ExpectedRate {
    /// Whether the step checks nothing.
    pub fn is_empty(&self) -> bool {
        self.enabled.is_none()
            && self.fill_rate.is_none()
            && self.measured_rate.is_none()
            && self.throttled.is_none()
    }

    /// Checks the rate's state.
    pub fn check(
        &self,
        enabled: bool,
        fill_rate: f64,
        measured_rate: f64,
        throttled: u64,
    ) -> Result<(), String> {
        check_opt("enabled", self.enabled, enabled)?;
        check_close("fill_rate", self.fill_rate, fill_rate)?;
        check_close("measured_rate", self.measured_rate, measured_rate)?;
        check_opt("throttled", self.throttled, throttled)
    }
}

/// Checks a rate to a relative 1e-9 (the bindings share the core's arithmetic;
/// the tolerance only absorbs the decimal form of the file).
pub fn check_close(what: &str, expected: Option<f64>, actual: f64) -> Result<(), String> {
    match expected {
        Some(expected) if (expected - actual).abs() > 1e-9 * expected.abs().max(1.0) => {
            Err(format!("{what}: expected {expected}, got {actual}"))
        }
        _ => Ok(()),
    }
}

/// What an `acquire` step expects: `None` for an attempt allowed at once,
/// `Some(ms)` for a wait.
pub fn expected_acquire(
    allowed: Option<bool>,
    wait_ms: Option<f64>,
) -> Result<Option<f64>, String> {
    match (allowed, wait_ms) {
        (Some(true), None) => Ok(None),
        (None, Some(ms)) => Ok(Some(ms)),
        _ => Err("acquire takes exactly one of \"allowed\": true and wait_ms".into()),
    }
}

/// Checks a wait against an `acquire` step's expectation (to a microsecond).
pub fn check_wait(expected: Option<f64>, actual: Option<Duration>) -> Result<(), String> {
    match (expected, actual) {
        (None, None) => Ok(()),
        (Some(ms), Some(wait)) if (wait.as_secs_f64() * 1e3 - ms).abs() <= 1e-3 => Ok(()),
        _ => Err(format!(
            "acquire: expected a wait of {expected:?} ms, got {actual:?}"
        )),
    }
}

/// Replays an `adaptive_rate` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let clock = ManualClock::starting_at(Instant::from_millis(scenario.start_ms));
    let rate = config.rate(clock.now())?;
    let check = |expected: &ExpectedRate| {
        let state = rate.state();
        expected.check(
            state.enabled,
            state.fill_rate,
            state.measured_rate,
            rate.throttled(),
        )
    };

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => clock.set(Instant::from_millis(ms)),
            Step::Response {
                throttled,
                enabled,
                fill_rate,
                measured_rate,
            } => {
                rate.on_response(&clock, throttled.unwrap_or(false));
                check(&ExpectedRate {
                    enabled,
                    fill_rate,
                    measured_rate,
                    throttled: None,
                })?;
            }
            Step::Acquire { allowed, wait_ms } => {
                let expected = expected_acquire(allowed, wait_ms)?;
                check_wait(expected, rate.try_acquire(&clock).err())?;
            }
            Step::Reset => rate.reset(),
            Step::Expect(expected) => {
                if expected.is_empty() {
                    return Err("expect checks nothing".into());
                }
                check(&expected)?;
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
        let text = format!(r#"{{"description": "", "policy": "adaptive_rate", "steps": {steps}}}"#);
        replay(&serde_json::from_str::<Scenario>(&text).unwrap())
    }

    #[test]
    fn wrong_expectations_and_typos_fail() {
        for (steps, expected) in [
            (
                r#"[{"op": "response", "fill_rate": 1.0}]"#,
                "fill_rate: expected 1",
            ),
            (r#"[{"op": "acquire", "wait_ms": 5.0}]"#, "expected a wait"),
            (r#"[{"op": "acquire"}]"#, "exactly one of"),
            (r#"[{"op": "expect"}]"#, "checks nothing"),
            (r#"[{"op": "response", "throtled": true}]"#, "unknown field"),
        ] {
            let error = run(steps).unwrap_err();
            assert!(error.contains(expected), "{steps}: {error}");
        }
    }
}
