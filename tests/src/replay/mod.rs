//! Replaying scenarios against the core, one module per policy.

pub mod breaker;

use crate::scenario::Scenario;

/// Replays `scenario`; `Err` names the first step whose result differs.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    match scenario.policy.as_str() {
        "circuit_breaker" => breaker::replay(scenario),
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
