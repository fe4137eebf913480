//! Replays every shared scenario file (`tests/scenarios/` at the workspace
//! root) through the tokio adapter's async API, with paused tokio time: the
//! circuit breaker, the retry, the rate limiter, the bulkhead, the adaptive
//! limiter, the adaptive rate, the attempt timeout, the hedge and fault plans.
//!
//! Scenarios whose results depend on the clock's absolute value (time-window
//! buckets, `set_time`) run with [`aligned::AlignedClock`], paused tokio time
//! shifted to read the scenario's time; the others on tokio's clock itself.

mod adaptive_limiter;
mod adaptive_rate;
mod aligned;
mod attempt_timeout;
mod breaker;
mod bulkhead;
mod composition;
mod fault_plan;
mod hedge;
mod rate_limiter;
mod retry;

use seawall_tests::scenario::{self, Scenario};

async fn replay(scenario: &Scenario) -> Result<(), String> {
    match scenario.policy.as_str() {
        "circuit_breaker" => breaker::replay(scenario).await,
        "retry" => retry::replay(scenario).await,
        "rate_limiter" => rate_limiter::replay(scenario).await,
        "bulkhead" => bulkhead::replay(scenario).await,
        "composition" => composition::replay(scenario).await,
        "adaptive_limiter" => adaptive_limiter::replay(scenario).await,
        "adaptive_rate" => adaptive_rate::replay(scenario).await,
        "attempt_timeout" => attempt_timeout::replay(scenario).await,
        "hedge" => hedge::replay(scenario).await,
        "fault_plan" => fault_plan::replay(scenario).await,
        other => Err(format!("no async replayer for policy {other:?}")),
    }
}

/// Replays every file of `policy` (every file, with `None`); at least `minimum`.
async fn replay_all(policy: Option<&str>, minimum: usize) {
    let all = scenario::all();
    let mut count = 0;
    let mut failures = Vec::new();
    for (name, parsed) in &all {
        let outcome = match parsed {
            Ok(scenario) if policy.is_some_and(|p| p != scenario.policy) => continue,
            Ok(scenario) => replay(scenario).await,
            Err(error) => Err(error.clone()),
        };
        count += 1;
        if let Err(error) = outcome {
            failures.push(format!("{name}: {error}"));
        }
    }
    assert!(
        count >= minimum,
        "expected at least {minimum} scenarios, found {count}"
    );
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(start_paused = true)]
async fn every_breaker_scenario_replays_through_the_async_api() {
    replay_all(Some("circuit_breaker"), 24).await;
}

#[tokio::test(start_paused = true)]
async fn every_retry_scenario_replays_through_the_async_api() {
    replay_all(Some("retry"), 10).await;
}

#[tokio::test(start_paused = true)]
async fn every_rate_limiter_scenario_replays_through_the_async_api() {
    replay_all(Some("rate_limiter"), 7).await;
}

#[tokio::test(start_paused = true)]
async fn every_composition_replays_as_tower_layers_and_as_a_policy() {
    replay_all(Some("composition"), 7).await;
}

#[tokio::test(start_paused = true)]
async fn every_bulkhead_scenario_replays_through_the_async_api() {
    replay_all(Some("bulkhead"), 3).await;
}

#[tokio::test(start_paused = true)]
async fn every_adaptive_limiter_scenario_replays_through_the_async_api() {
    replay_all(Some("adaptive_limiter"), 4).await;
}

#[tokio::test(start_paused = true)]
async fn every_adaptive_rate_scenario_replays_through_the_async_api() {
    replay_all(Some("adaptive_rate"), 2).await;
}

#[tokio::test(start_paused = true)]
async fn every_attempt_timeout_scenario_replays_through_the_async_api() {
    replay_all(Some("attempt_timeout"), 1).await;
}

#[tokio::test(start_paused = true)]
async fn every_hedge_scenario_replays_through_the_async_api() {
    replay_all(Some("hedge"), 8).await;
}

#[tokio::test(start_paused = true)]
async fn every_fault_plan_scenario_replays_through_the_async_api() {
    replay_all(Some("fault_plan"), 4).await;
}

/// No file is left out: every policy in the directory has a replayer here.
#[tokio::test(start_paused = true)]
async fn every_scenario_file_replays_through_the_async_api() {
    replay_all(None, 60).await;
}

#[tokio::test(start_paused = true)]
async fn a_wrong_expectation_fails_the_async_replay() {
    let wrong = [
        r#"{"description": "wrong", "policy": "circuit_breaker",
            "steps": [{"op": "call", "outcome": "failure", "transition": "closed->open"}]}"#,
        r#"{"description": "wrong", "policy": "retry",
            "steps": [{"op": "start"}, {"op": "fail", "delay_ms": 999}]}"#,
        r#"{"description": "wrong", "policy": "rate_limiter", "config": {"rate": 1, "burst": 1},
            "steps": [{"op": "check", "allowed": true, "repeat": 2}]}"#,
        r#"{"description": "wrong", "policy": "bulkhead", "config": {"max_concurrent": 1},
            "steps": [{"op": "enter", "guard": "a"}, {"op": "expect", "available": 1}]}"#,
    ];
    for text in wrong {
        let scenario: Scenario = serde_json::from_str(text).unwrap();
        let error = replay(&scenario).await.unwrap_err();
        assert!(error.contains("expected"), "{error}");
    }
}
