//! The example scenarios in `sim/scenarios/` show what their comments say.

mod support;

use support::{configuration, run};

#[test]
fn a_retry_budget_stops_a_retry_storm() {
    let report = run("retry_storm.toml");
    let plain = configuration(&report, "no retry").summary.clone();
    let retried = configuration(&report, "retry x3").summary.clone();
    let budgeted = configuration(&report, "retry x3 + budget").summary.clone();
    // The same callers in every configuration.
    assert_eq!(plain.calls, retried.calls);
    assert_eq!(plain.calls, budgeted.calls);
    assert_eq!(plain.attempts, plain.calls);
    // Plain retries triple the load on a dependency that is down...
    assert_eq!(retried.attempts, 3 * retried.calls);
    assert_eq!(retried.extra_load, 2.0);
    // ...the budget keeps what they add far under 20 %.
    assert!(budgeted.extra_load < 0.2, "{}", budgeted.extra_load);
    assert!(budgeted.attempts < budgeted.calls * 12 / 10);
    // Every call fails either way: retries against an outage buy nothing.
    assert_eq!(retried.succeeded, 0);
    assert_eq!(budgeted.succeeded, 0);
}

#[test]
fn the_slow_call_rule_catches_a_slow_dependency_the_consecutive_rule_misses() {
    let report = run("slow_dependency.toml");
    let consecutive = configuration(&report, "consecutive failures");
    let slow = configuration(&report, "slow-call rate");
    assert_eq!(
        consecutive.summary.transitions, 0,
        "no failure, so never open"
    );
    assert_eq!(consecutive.summary.rejected, 0);
    assert_eq!(consecutive.episodes[0].detect_s, None);
    let detect = slow.episodes[0].detect_s.expect("the slow-call rule opens");
    // The first slow answers come back 3 s into the episode at the earliest.
    assert!((3.0..10.0).contains(&detect), "{detect}");
    assert!(slow.summary.rejected > 1_000);
    // Callers mostly stop waiting seconds for an answer.
    assert!(slow.summary.latency_ms.p50 < consecutive.summary.latency_ms.p50 / 2.0);
    assert!(slow.episodes[0].recover_s.is_some());
}

#[test]
fn the_tenant_cache_fails_fast_with_its_breaker() {
    let report = run("tenant_cache.toml");
    let plain = &configuration(&report, "no breaker").summary;
    let breaker = configuration(&report, "breaker");
    assert_eq!(plain.rejected, 0);
    // Without the breaker, each client waits the 2 s timeout, twice, in the outage.
    assert_eq!(plain.timeouts, 40);
    assert_eq!(plain.failed, 40);
    // With it, the timeout bounds detection (2 s), then calls are refused at once.
    let detection = breaker.episodes[0];
    assert_eq!(detection.detect_s, Some(2.0));
    assert!(breaker.summary.failures_spared > 10_000);
    assert!(breaker.summary.failed < plain.failed);
    assert!(breaker.summary.timeouts < plain.timeouts);
    assert!(detection.recover_s.expect("closes after the outage") < 1.5);
}

#[test]
fn the_guide_outage_reads_as_the_guide_says() {
    let report = run("guide_outage.toml");
    let breaker = configuration(&report, "breaker");
    let s = &breaker.summary;
    assert_eq!(s.calls, 600);
    assert_eq!(s.rejected, 300);
    assert_eq!(s.failures_spared, 266);
    assert_eq!(s.successes_lost, 34);
    assert_eq!(s.failed, 9, "5 to trip, 4 failed probes");
    let probes: Vec<f64> = breaker
        .transitions
        .iter()
        .filter(|t| t.to == "half_open")
        .map(|t| t.t_s)
        .collect();
    assert_eq!(probes, [25.8, 33.4, 44.8, 61.8, 81.8]);
    assert_eq!(breaker.transitions.last().unwrap().to, "closed");
    assert_eq!(breaker.episodes[0].detect_s, Some(0.8));
    assert_eq!(breaker.episodes[0].recover_s, Some(7.0));
}
