//! Replaying scenarios against the core, one module per policy.

pub mod breaker;
pub mod bulkhead;
pub mod rate_limiter;
pub mod retry;

use crate::scenario::Scenario;

/// Replays `scenario`; `Err` names the first step whose result differs.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    match scenario.policy.as_str() {
        "circuit_breaker" => breaker::replay(scenario),
        "retry" => retry::replay(scenario),
        "rate_limiter" => rate_limiter::replay(scenario),
        "bulkhead" => bulkhead::replay(scenario),
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
