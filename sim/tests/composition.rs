//! Every policy at once, over every kind of traffic and episode: the run ends,
//! and its counts add up.

use seawall_sim::{Report, Scenario, Simulation};

fn kitchen_sink(seed: u64, traffic: &str) -> Report {
    let scenario = Scenario::from_toml(&format!(
        r#"
        seed = {seed}
        duration_ms = 20_000
        {traffic}

        [dependency]
        latency = {{ kind = "exponential", mean_ms = 15 }}
        failure_rate = 0.05

        [[episodes]]
        kind = "flapping"
        start_ms = 2_000
        end_ms = 8_000
        down_ms = 700
        up_ms = 500
        hang = true

        [[episodes]]
        kind = "brownout"
        start_ms = 10_000
        end_ms = 13_000
        failure_rate = 0.4

        [[episodes]]
        kind = "slow"
        start_ms = 15_000
        end_ms = 17_000
        latency = {{ kind = "uniform", min_ms = 200, max_ms = 900 }}

        [[policies]]
        name = "baseline"

        [[policies]]
        name = "everything"
        timeout_ms = 300
        circuit_breaker = {{ window = {{ kind = "time", duration_ms = 2_000, buckets = 4 }}, minimum_calls = 10, failure_rate_threshold = 0.3, slow_call_duration_ms = 250, slow_call_rate_threshold = 0.5, open_duration_ms = 1_000, max_wait_in_half_open_ms = 400, half_open_max_calls = 3, per_key = true }}
        retry = {{ max_attempts = 4, strategy = {{ kind = "decorrelated_jitter", base_ms = 20, max_ms = 500 }}, deadline_ms = 1_500, budget = {{ max_tokens = 20, token_ratio = 0.2 }} }}
        rate_limiter = {{ rate = 150, burst = 20, max_wait_ms = 30 }}
        bulkhead = {{ max_concurrent = 8, max_wait_ms = 20 }}

        [[policies]]
        name = "hangs without a timeout"
        circuit_breaker = {{ failure_threshold = 3, open_duration_ms = 500 }}
        "#
    ))
    .unwrap();
    Simulation::new(scenario).unwrap().run()
}

fn check(report: &Report) {
    for c in &report.configurations {
        let s = &c.summary;
        assert_eq!(
            s.calls,
            s.succeeded + s.failed + s.rejected + s.unfinished,
            "{}: every call ends one way: {s:?}",
            c.name
        );
        assert!(s.retries <= s.attempts, "{}", c.name);
        assert_eq!(
            s.refused(),
            s.failures_spared + s.successes_lost,
            "{}",
            c.name
        );
        let rows = &c.timeline;
        assert_eq!(
            rows.iter().map(|r| r.calls).sum::<u64>(),
            s.calls,
            "{}",
            c.name
        );
        assert_eq!(
            rows.iter().map(|r| r.attempts).sum::<u64>(),
            s.attempts,
            "{}",
            c.name
        );
        assert_eq!(
            rows.iter().map(|r| r.refused).sum::<u64>(),
            s.refused(),
            "{}",
            c.name
        );
        assert_eq!(
            rows.iter().map(|r| r.timeouts).sum::<u64>(),
            s.timeouts,
            "{}",
            c.name
        );
        assert!(rows.windows(2).all(|w| w[0].t_s < w[1].t_s));
    }
    let everything = &report.configurations[1].summary;
    assert!(everything.refused_by_breaker > 0);
    assert!(everything.refused_by_rate_limiter + everything.refused_by_bulkhead > 0);
    assert!(everything.timeouts > 0);
    assert!(everything.retries > 0);
    let hanging = &report.configurations[2].summary;
    assert!(
        hanging.unfinished > 0,
        "calls that hang without a timeout never end"
    );
}

#[test]
fn an_open_loop_with_every_policy_adds_up() {
    for seed in 0..4 {
        check(&kitchen_sink(
            seed,
            "[traffic]\nrate = 200\nkeys = 3\nclient_retries = { max = 1, delay_ms = 100 }",
        ));
    }
}

#[test]
fn a_closed_loop_with_every_policy_adds_up() {
    for seed in 0..4 {
        let report = kitchen_sink(
            seed,
            "[traffic]\nclients = 30\nthink = { kind = \"exponential\", mean_ms = 50 }\nkeys = 2\nclient_retries = { max = 2, delay_ms = 50 }",
        );
        check(&report);
        assert!(report.configurations[0].summary.client_retries > 0);
    }
}
