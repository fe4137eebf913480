//! Replays every shared scenario file against the core.

use seawall_tests::{replay, scenario};

#[test]
fn every_scenario_replays_against_the_core() {
    let all = scenario::all();
    assert!(
        all.len() >= 15,
        "expected at least 15 scenarios, found {}",
        all.len()
    );
    let failures: Vec<String> = all
        .iter()
        .filter_map(|(name, parsed)| {
            let outcome = parsed
                .as_ref()
                .map_err(|e| e.clone())
                .and_then(replay::replay);
            outcome.err().map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_scenario_with_a_typo_is_rejected() {
    let text = r#"{"description": "typo", "policy": "circuit_breaker",
        "steps": [{"op": "expect_state", "stat": "closed"}]}"#;
    let scenario: scenario::Scenario = serde_json::from_str(text).unwrap();
    let error = replay::replay(&scenario).unwrap_err();
    assert!(error.contains("unknown field"), "{error}");
}

#[test]
fn a_wrong_expectation_fails() {
    let text = r#"{"description": "wrong", "policy": "circuit_breaker",
        "steps": [{"op": "call", "outcome": "failure", "transition": "closed->open"}]}"#;
    let scenario: scenario::Scenario = serde_json::from_str(text).unwrap();
    let error = replay::replay(&scenario).unwrap_err();
    assert!(error.contains("transition: expected"), "{error}");
}
