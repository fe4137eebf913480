//! Replaying scenarios against the core, one module per policy.

pub mod adaptive_limiter;
pub mod adaptive_rate;
pub mod attempt_timeout;
pub mod breaker;
pub mod bulkhead;
pub mod composition;
pub mod rate_limiter;
pub mod retry;

use serde::de::DeserializeOwned;

use crate::scenario::Scenario;

/// Replays `scenario`; `Err` names the first step whose result differs.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    match scenario.policy.as_str() {
        "circuit_breaker" => breaker::replay(scenario),
        "retry" => retry::replay(scenario),
        "rate_limiter" => rate_limiter::replay(scenario),
        "bulkhead" => bulkhead::replay(scenario),
        "composition" => composition::replay(scenario),
        "adaptive_limiter" => adaptive_limiter::replay(scenario),
        "adaptive_rate" => adaptive_rate::replay(scenario),
        "attempt_timeout" => attempt_timeout::replay(scenario),
        other => Err(format!("unknown policy {other:?}")),
    }
}

/// Compares an expectation with what happened.
pub fn check<T: PartialEq + std::fmt::Debug>(
    what: &str,
    expected: &T,
    actual: &T,
) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

/// Checks an optional expectation (`None`: not checked).
pub fn check_opt<T: PartialEq + std::fmt::Debug>(
    what: &str,
    expected: Option<T>,
    actual: T,
) -> Result<(), String> {
    match expected {
        Some(expected) => check(what, &expected, &actual),
        None => Ok(()),
    }
}

/// Runs `run` on each step of `scenario`, parsed strictly as `S`, in order;
/// the first error stops the replay and names its step.
pub fn for_each_step<S: DeserializeOwned>(
    scenario: &Scenario,
    mut run: impl FnMut(S) -> Result<(), String>,
) -> Result<(), String> {
    for index in 0..scenario.steps.len() {
        let step: S = scenario.step(index)?;
        run(step).map_err(|e| scenario.at(index, e))?;
    }
    Ok(())
}

/// As [`for_each_step`], for replayers that await each step.
pub async fn for_each_step_async<S: DeserializeOwned>(
    scenario: &Scenario,
    mut run: impl AsyncFnMut(S) -> Result<(), String>,
) -> Result<(), String> {
    for index in 0..scenario.steps.len() {
        let step: S = scenario.step(index)?;
        run(step).await.map_err(|e| scenario.at(index, e))?;
    }
    Ok(())
}
