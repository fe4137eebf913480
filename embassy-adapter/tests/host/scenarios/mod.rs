//! The shared scenario files of `tests/scenarios/`, replayed through this
//! adapter's futures on the mock clock: every policy, every file.

mod adaptive;
mod breaker;
mod composition;
mod fault;
mod limits;
mod retry;

use std::time::Duration;

use embassy_time::MockDriver;
use seawall_tests::scenario;

use crate::support::setup;

/// Scenario time 0 is this far into the mock clock, so that a call of known
/// latency can start that long before "now" and a scenario can set its clock
/// back. A whole hour keeps every time window's buckets aligned as in the
/// core's replayer; the policies only ever compare times.
const ORIGIN: Duration = Duration::from_secs(3600);

/// Sets the mock clock to scenario time `ms` (backwards too).
fn set_time(ms: u64) {
    let driver = MockDriver::get();
    driver.reset();
    driver.advance((ORIGIN + Duration::from_millis(ms)).try_into().unwrap());
}

#[test]
fn every_scenario_replays_through_the_adapter() {
    let _driver = setup();
    let mut replayed = std::collections::BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    for (name, parsed) in scenario::all() {
        let scenario = match parsed {
            Ok(scenario) => scenario,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        set_time(scenario.start_ms);
        let result = match scenario.policy.as_str() {
            "circuit_breaker" => breaker::replay(&scenario),
            "retry" => retry::replay(&scenario),
            "rate_limiter" => limits::replay_rate_limiter(&scenario),
            "bulkhead" => limits::replay_bulkhead(&scenario),
            "composition" => composition::replay(&scenario),
            "adaptive_limiter" => adaptive::replay_limiter(&scenario),
            "adaptive_rate" => adaptive::replay_rate(&scenario),
            "attempt_timeout" => adaptive::replay_timeout(&scenario),
            "fault_plan" => fault::replay(&scenario),
            // Hedging sends one call twice at once: firmware talks to one
            // device per bus, so this adapter does not offer it.
            "hedge" => continue,
            // A new policy must get its replayer here, not be skipped.
            other => Err(format!("no replayer for policy {other:?}")),
        };
        *replayed.entry(scenario.policy.clone()).or_default() += 1;
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        replayed.get("circuit_breaker").copied().unwrap_or(0) >= 24,
        "{replayed:?}"
    );
    assert!(replayed.contains_key("retry"), "{replayed:?}");
    assert!(
        replayed.get("composition").copied().unwrap_or(0) >= 7,
        "{replayed:?}"
    );
    for policy in [
        "adaptive_limiter",
        "adaptive_rate",
        "attempt_timeout",
        "fault_plan",
    ] {
        assert!(replayed.contains_key(policy), "{replayed:?}");
    }
}
