//! The same inputs and seed give byte-identical output; another seed does not.

mod support;

use seawall_sim::{Report, Scenario, Simulation, chart, html};

fn outputs(report: &Report) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("table", report.summary_table().into_bytes()),
        ("csv", report.timeline_csv().into_bytes()),
        ("jsonl", report.timeline_jsonl().into_bytes()),
        ("transitions", report.transitions_jsonl().into_bytes()),
        ("json", report.to_json().into_bytes()),
        ("svg", chart::svg(report).unwrap().into_bytes()),
        ("png", chart::png(report).unwrap()),
        ("html", html::page(report).unwrap().into_bytes()),
    ]
}

fn run(seed: u64) -> Report {
    let mut scenario = Scenario::load(&support::example("retry_storm.toml")).unwrap();
    scenario.seed = seed;
    // A breaker too, so that transitions and state bands are compared.
    scenario.policies.push(seawall_sim::PolicyConfig {
        name: "breaker + retry".into(),
        circuit_breaker: Some(Default::default()),
        ..scenario.policies[1].clone()
    });
    Simulation::new(scenario).unwrap().run()
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let (first, second) = (outputs(&run(11)), outputs(&run(11)));
    for ((name, a), (_, b)) in first.iter().zip(&second) {
        assert!(a == b, "{name} differs between two runs with the same seed");
    }
}

#[test]
fn another_seed_gives_other_draws() {
    let (a, b) = (run(11), run(12));
    assert_ne!(a.timeline_csv(), b.timeline_csv());
    // The calls' count and the configuration's effects do not depend on luck.
    assert_eq!(a.configurations[1].summary.extra_load, 2.0);
    assert_eq!(b.configurations[1].summary.extra_load, 2.0);
}

#[test]
fn every_configuration_meets_the_same_callers_and_dependency() {
    // The baseline and a retry policy that never retries see the same calls,
    // with the same answers, whatever the other configurations do.
    let scenario = Scenario::from_toml(
        r#"
        seed = 5
        duration_ms = 10_000
        traffic = { rate = 300 }
        dependency = { latency = { kind = "lognormal", median_ms = 10, p99_ms = 80 }, failure_rate = 0.2 }

        [[policies]]
        name = "baseline"

        [[policies]]
        name = "one attempt"
        retry = { max_attempts = 1 }

        [[policies]]
        name = "breaker"
        circuit_breaker = { failure_threshold = 3, open_duration_ms = 50 }
        "#,
    )
    .unwrap();
    let report = Simulation::new(scenario).unwrap().run();
    let [base, once, breaker] = &report.configurations[..] else {
        panic!("three configurations")
    };
    assert_eq!(base.summary, once.summary);
    assert_eq!(base.timeline, once.timeline);
    assert_eq!(base.summary.calls, breaker.summary.calls);
    assert!(breaker.summary.rejected > 0);
}
