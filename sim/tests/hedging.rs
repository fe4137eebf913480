//! Hedging and fault plans in the simulator: the example scenarios show what
//! their comments say (on shorter runs), a plan reads as the adapters read it,
//! and bad options are named.

mod support;

use seawall_sim::{FaultPlan, Scenario, Simulation};
use support::{configuration, example};

fn shortened(name: &str, duration_ms: f64) -> seawall_sim::Report {
    let mut scenario = Scenario::load(&example(name)).unwrap();
    scenario.duration_ms = Some(duration_ms);
    Simulation::new(scenario).unwrap().run()
}

#[test]
fn two_hedges_at_once_cut_the_p99_of_a_fan_out_for_a_few_percent_more_calls() {
    let report = shortened("hedging_fan_out.toml", 10_000.0);
    let p99 = |name: &str| {
        let summary = &configuration(&report, name).summary;
        summary.request_latency_ms.expect("a fan-out").p99
    };
    let extra = |name: &str| {
        let s = &configuration(&report, name).summary;
        (s.attempts - s.calls) as f64 / s.calls as f64
    };
    let plain = p99("no hedge");
    assert!(plain > 95.0, "most requests meet a slow call: {plain}");
    assert_eq!(extra("no hedge"), 0.0);
    // One hedge: the median falls, the p99 barely moves.
    let one = &configuration(&report, "one hedge at p95").summary;
    assert!(one.request_latency_ms.unwrap().p50 < 30.0);
    assert!(p99("one hedge at p95") > 0.9 * plain);
    // Two at once: the p99 falls by more than 70 % for less than 5 % more calls.
    let two = p99("two hedges at once");
    assert!(two < 0.3 * plain, "{two} against {plain}");
    assert!(extra("two hedges at once") < 0.05);
    let summary = &configuration(&report, "two hedges at once").summary;
    assert!(summary.hedges_won > 0 && summary.hedges > summary.hedges_won);
    assert_eq!(
        summary.requests,
        configuration(&report, "no hedge").summary.requests
    );
    // seatbelt's default delay is longer than the slow calls: nothing changes.
    assert_eq!(
        configuration(&report, "seatbelt's default (500 ms)")
            .summary
            .hedges,
        0
    );
    // The plan delayed about 1 % of the attempts in every configuration.
    let delayed = configuration(&report, "no hedge").summary.injected_delays as f64;
    let calls = configuration(&report, "no hedge").summary.calls as f64;
    assert!(
        (0.008..0.012).contains(&(delayed / calls)),
        "{delayed} of {calls}"
    );
}

#[test]
fn a_budget_holds_hedges_to_a_tenth_of_the_calls_in_a_brownout() {
    let report = shortened("hedging_brownout.toml", 40_000.0);
    let during = |name: &str| {
        let rows = &configuration(&report, name).timeline;
        let brownout = rows.iter().filter(|r| r.t_s >= 20.0);
        let (hedges, calls) = brownout.fold((0, 0), |(h, c), r| (h + r.hedges, c + r.calls));
        hedges as f64 / calls as f64
    };
    assert!(
        during("fixed 15 ms, no budget") > 1.9,
        "every call hedged twice"
    );
    let budgeted = during("fixed 15 ms, budget 0.1");
    assert!(budgeted <= 0.101, "{budgeted}");
    assert!(during("p95, budget 0.1") <= 0.101);
    let refused = configuration(&report, "fixed 15 ms, budget 0.1")
        .summary
        .hedges_refused;
    assert!(refused > 0);
}

#[test]
fn the_adapters_plan_files_run_in_the_simulator() {
    // The shared scenario's plan, as the tokio, embassy and Python injectors read it.
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/scenarios/fault_plan_03_latency_then_errors.json"
    ))
    .unwrap();
    let scenario: serde_json::Value = serde_json::from_str(&file).unwrap();
    let plan: FaultPlan = serde_json::from_value(scenario["config"].clone()).unwrap();
    assert_eq!(plan.rules.len(), 2);
    let mut scenario = Scenario::from_toml(
        r#"
        seed = 3
        duration_ms = 10_000
        traffic = { rate = 200, arrivals = "uniform" }
        [[policies]]
        name = "breaker"
        circuit_breaker = { failure_threshold = 1000 }
        "#,
    )
    .unwrap();
    scenario.faults = Some(plan);
    let report = Simulation::new(scenario.clone()).unwrap().run();
    let summary = &configuration(&report, "breaker").summary;
    // Every attempt delayed 200 ms, 30 % of them failed.
    assert_eq!(summary.injected_delays, summary.calls);
    let share = summary.injected_errors as f64 / summary.calls as f64;
    assert!((0.27..0.33).contains(&share), "{share}");
    assert_eq!(summary.failed, summary.injected_errors);
    assert_eq!(
        summary.attempts,
        summary.calls - summary.injected_errors,
        "failed ones never ran"
    );
    assert!(summary.latency_ms.p50 >= 200.0);
    // The plan's seed fixes its faults: another scenario seed, the same faults
    // (evenly spaced calls are the same calls whatever the seed).
    let again = Simulation::new(Scenario {
        seed: 4,
        ..scenario.clone()
    })
    .unwrap()
    .run();
    assert_eq!(configuration(&again, "breaker").summary, *summary);
    // Another plan seed, other faults.
    let mut reseeded = scenario;
    reseeded.faults.as_mut().unwrap().seed += 1;
    let other = Simulation::new(reseeded).unwrap().run();
    assert_ne!(
        configuration(&other, "breaker").summary.injected_errors,
        summary.injected_errors
    );
}

#[test]
fn bad_options_are_named() {
    let error = |text: &str| {
        Simulation::new(Scenario::from_toml(text).unwrap())
            .err()
            .unwrap()
            .to_string()
    };
    let base = "duration_ms = 1000\ntraffic = { rate = 10 }\n";
    // A rule is checked as it is read, as in every adapter.
    let e = Scenario::from_toml(&format!(
        "{base}faults = {{ rules = [{{ kind = \"error\", rate = 2.0 }}] }}"
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("invalid rate"), "{e}");
    let e = error(&format!(
        "{base}[[policies]]\nname = \"x\"\nhedge = {{ delay_ms = 5, percentile = 0.9 }}"
    ));
    assert!(e.contains("policies[0].hedge.delay_ms"), "{e}");
    let e = error(&format!(
        "{base}[[policies]]\nname = \"x\"\nhedge = {{ at_once = 0 }}"
    ));
    assert!(e.contains("at_once"), "{e}");
    let e = error(
        "duration_ms = 1000\ntraffic = { clients = 3, fan_out = 10 }\n[[policies]]\nname = \"x\"",
    );
    assert!(e.contains("traffic.fan_out"), "{e}");
}
