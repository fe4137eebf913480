//! Replays `adaptive_limiter` scenarios against `seawall_core::limit`.

use std::collections::HashMap;
use std::time::Duration;

use seawall_core::limit::{
    AdaptiveLimiter, Aimd, Algorithm, Gradient, LimitConfig, LimitPermit, LimiterStats, Outcome,
    Vegas,
};
use seawall_core::time::{Instant, ManualClock};
use serde::Deserialize;

use super::{check_opt, for_each_step};
use crate::scenario::{Scenario, present};

/// The scenario's configuration keys (absent: the core's default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct Config {
    pub algorithm: Option<AlgorithmSpec>,
    pub initial_limit: Option<u32>,
    pub min_limit: Option<u32>,
    pub max_limit: Option<u32>,
    pub window_ms: Option<u64>,
    pub min_samples: Option<u32>,
    pub probe_interval_ms: Option<u64>,
    pub probe_limit: Option<u32>,
    pub probe_samples: Option<u32>,
}

/// The `algorithm` key (absent fields: the algorithm's defaults).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub enum AlgorithmSpec {
    Aimd {
        backoff_ratio: Option<f64>,
        increase: Option<u32>,
        #[serde(default, deserialize_with = "present")]
        timeout_ms: Option<Option<u64>>,
    },
    Gradient {
        tolerance: Option<f64>,
        smoothing: Option<f64>,
        queue_size: Option<u32>,
    },
    Vegas {
        alpha: Option<u32>,
        beta: Option<u32>,
        smoothing: Option<f64>,
    },
}

impl From<AlgorithmSpec> for Algorithm {
    fn from(spec: AlgorithmSpec) -> Algorithm {
        match spec {
            AlgorithmSpec::Aimd {
                backoff_ratio,
                increase,
                timeout_ms,
            } => {
                let d = Aimd::DEFAULT;
                Algorithm::Aimd(Aimd {
                    backoff_ratio: backoff_ratio.unwrap_or(d.backoff_ratio),
                    increase: increase.unwrap_or(d.increase),
                    timeout: timeout_ms.map_or(d.timeout, |ms| ms.map(Duration::from_millis)),
                })
            }
            AlgorithmSpec::Gradient {
                tolerance,
                smoothing,
                queue_size,
            } => {
                let d = Gradient::DEFAULT;
                Algorithm::Gradient(Gradient {
                    tolerance: tolerance.unwrap_or(d.tolerance),
                    smoothing: smoothing.unwrap_or(d.smoothing),
                    queue_size: queue_size.unwrap_or(d.queue_size),
                })
            }
            AlgorithmSpec::Vegas {
                alpha,
                beta,
                smoothing,
            } => {
                let d = Vegas::DEFAULT;
                Algorithm::Vegas(Vegas {
                    alpha: alpha.unwrap_or(d.alpha),
                    beta: beta.unwrap_or(d.beta),
                    smoothing: smoothing.unwrap_or(d.smoothing),
                })
            }
        }
    }
}

impl Config {
    /// The core configuration these keys describe.
    pub fn limit_config(&self) -> Result<LimitConfig, String> {
        let ms = Duration::from_millis;
        let mut b = LimitConfig::builder();
        if let Some(v) = self.algorithm {
            b = b.algorithm(v.into());
        }
        if let Some(v) = self.initial_limit {
            b = b.initial_limit(v);
        }
        if let Some(v) = self.min_limit {
            b = b.min_limit(v);
        }
        if let Some(v) = self.max_limit {
            b = b.max_limit(v);
        }
        if let Some(v) = self.window_ms {
            b = b.window(ms(v));
        }
        if let Some(v) = self.min_samples {
            b = b.min_samples(v);
        }
        if let Some(v) = self.probe_interval_ms {
            b = b.probe_interval(ms(v));
        }
        if let Some(v) = self.probe_limit {
            b = b.probe_limit(v);
        }
        if let Some(v) = self.probe_samples {
            b = b.probe_samples(v);
        }
        b.build().map_err(|e| e.to_string())
    }
}

/// One step of an `adaptive_limiter` scenario, parsed strictly (public so that
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
    Acquire {
        permit: Option<String>,
        rejected: Option<bool>,
    },
    Record {
        permit: String,
        outcome: String,
    },
    Release {
        permit: String,
    },
    Batch {
        calls: u32,
        latency_ms: u64,
        outcome: Option<String>,
    },
    Reset,
    Expect(ExpectedLimiter),
}

/// An `expect` step: what it checks (absent: not checked).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct ExpectedLimiter {
    pub limit: Option<u32>,
    pub in_flight: Option<u32>,
    pub probing: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub baseline_us: Option<Option<u64>>,
    pub succeeded: Option<u64>,
    pub overloaded: Option<u64>,
    pub released: Option<u64>,
    pub rejected: Option<u64>,
}

impl ExpectedLimiter {
    /// Whether the step checks nothing (a mistake in a scenario file).
    pub fn is_empty(&self) -> bool {
        self.limit.is_none()
            && self.in_flight.is_none()
            && self.probing.is_none()
            && self.baseline_us.is_none()
            && self.succeeded.is_none()
            && self.overloaded.is_none()
            && self.released.is_none()
            && self.rejected.is_none()
    }

    /// Checks a limiter's statistics.
    pub fn check(&self, stats: &LimiterStats) -> Result<(), String> {
        if self.is_empty() {
            return Err("expect checks nothing".into());
        }
        check_opt("limit", self.limit, stats.limit)?;
        check_opt("in_flight", self.in_flight, stats.in_flight)?;
        check_opt("probing", self.probing, stats.probing)?;
        let baseline = stats.baseline.map(|d| d.as_micros() as u64);
        check_opt("baseline_us", self.baseline_us, baseline)?;
        check_opt("succeeded", self.succeeded, stats.succeeded)?;
        check_opt("overloaded", self.overloaded, stats.overloaded)?;
        check_opt("released", self.released, stats.released)?;
        check_opt("rejected", self.rejected, stats.rejected)
    }
}

/// The outcome named `name`.
pub fn outcome(name: &str) -> Result<Outcome, String> {
    match name {
        "success" => Ok(Outcome::Success),
        "overload" => Ok(Outcome::Overload),
        other => Err(format!("unknown outcome {other:?}")),
    }
}

/// What an `acquire` step expects: `Some(name)` to keep the permit, `None` for
/// a rejection.
pub fn expected_acquire(
    permit: Option<String>,
    rejected: Option<bool>,
) -> Result<Option<String>, String> {
    match (permit, rejected) {
        (Some(name), None) => Ok(Some(name)),
        (None, Some(true)) => Ok(None),
        _ => Err("acquire takes exactly one of permit and \"rejected\": true".into()),
    }
}

/// Replays an `adaptive_limiter` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let limiter = AdaptiveLimiter::new(config.limit_config()?);
    let clock = ManualClock::starting_at(Instant::from_millis(scenario.start_ms));
    let mut permits: HashMap<String, LimitPermit<'_>> = HashMap::new();

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => clock.set(Instant::from_millis(ms)),
            Step::Acquire { permit, rejected } => match expected_acquire(permit, rejected)? {
                Some(name) => {
                    let permit = limiter
                        .try_acquire(&clock)
                        .map_err(|e| format!("rejected: {e}"))?;
                    if permits.insert(name.clone(), permit).is_some() {
                        return Err(format!("permit {name:?} is already held"));
                    }
                }
                None => {
                    if limiter.try_acquire(&clock).is_ok() {
                        return Err("admitted, expected a rejection".into());
                    }
                }
            },
            Step::Record {
                permit,
                outcome: name,
            } => {
                let outcome = outcome(&name)?;
                let permit = permits
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?;
                permit.record(outcome, &clock);
            }
            Step::Release { permit } => {
                let held = permits
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?;
                drop(held);
            }
            Step::Batch {
                calls,
                latency_ms,
                outcome: name,
            } => {
                let outcome = outcome(name.as_deref().unwrap_or("success"))?;
                let batch = (0..calls)
                    .map(|i| {
                        limiter
                            .try_acquire(&clock)
                            .map_err(|e| format!("call {i} of the batch rejected: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                clock.advance(Duration::from_millis(latency_ms));
                for permit in batch {
                    permit.record(outcome, &clock);
                }
            }
            Step::Reset => limiter.reset(),
            Step::Expect(expected) => expected.check(&limiter.stats())?,
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
            r#"{{"description": "", "policy": "adaptive_limiter", "config": {config}, "steps": {steps}}}"#
        );
        replay(&serde_json::from_str::<Scenario>(&text).unwrap())
    }

    #[test]
    fn wrong_expectations_fail() {
        let aimd = r#"{"algorithm": {"kind": "aimd"}, "initial_limit": 1}"#;
        let error = run(aimd, r#"[{"op": "acquire", "rejected": true}]"#).unwrap_err();
        assert!(error.contains("expected a rejection"), "{error}");
        let error = run(aimd, r#"[{"op": "batch", "calls": 2, "latency_ms": 1}]"#).unwrap_err();
        assert!(error.contains("call 1 of the batch rejected"), "{error}");
        let error = run(aimd, r#"[{"op": "expect", "limit": 2}]"#).unwrap_err();
        assert!(error.contains("limit: expected 2, got 1"), "{error}");
        let error = run("{}", r#"[{"op": "expect", "baseline_us": 5}]"#).unwrap_err();
        assert!(
            error.contains("baseline_us: expected Some(5), got None"),
            "{error}"
        );
        let error = run(aimd, r#"[{"op": "release", "permit": "a"}]"#).unwrap_err();
        assert!(error.contains("no permit"), "{error}");
    }

    #[test]
    fn typos_and_ambiguities_are_rejected() {
        for (config, step, expected) in [
            ("{}", r#"{"op": "acquire"}"#, "exactly one of"),
            ("{}", r#"{"op": "expect"}"#, "checks nothing"),
            ("{}", r#"{"op": "acquire", "permt": "a"}"#, "unknown field"),
            (
                "{}",
                r#"{"op": "batch", "calls": 1, "latency_ms": 1, "outcome": "fine"}"#,
                "unknown outcome",
            ),
            (r#"{"algorithm": {"kind": "bbr"}}"#, "[]", "unknown variant"),
            (
                r#"{"algorithm": {"kind": "vegas", "alpa": 3}}"#,
                "[]",
                "unknown field",
            ),
            (r#"{"initial_limit": 0}"#, "[]", "invalid initial_limit"),
        ] {
            let steps = if step == "[]" {
                step.to_string()
            } else {
                format!("[{step}]")
            };
            let error = run(config, &steps).unwrap_err();
            assert!(error.contains(expected), "{step}: {error}");
        }
    }
}
