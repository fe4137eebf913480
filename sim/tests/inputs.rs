//! Inputs: scenarios, policies and traces, and the errors that name what is wrong.

use seawall_sim::{Error, Scenario, Simulation, Trace};

fn error(toml: &str) -> String {
    let scenario = match Scenario::from_toml(toml) {
        Ok(scenario) => scenario,
        Err(e) => return e.to_string(),
    };
    match Simulation::new(scenario) {
        Ok(_) => panic!("{toml} is accepted"),
        Err(e) => e.to_string(),
    }
}

const BASE: &str = "duration_ms = 1000\ntraffic = { rate = 10 }\n";

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            "[[policies]]\nname = \"a\"\ncircuit_breaker = { failure_threshold = 0 }",
            "invalid policies[0].circuit_breaker.failure_threshold: must be at least 1",
        ),
        (
            "[[policies]]\nname = \"a\"\ncircuit_breaker = { open_duration_ms = 0 }",
            "invalid policies[0].circuit_breaker.open_duration_ms: must be greater than zero",
        ),
        (
            "[[policies]]\nname = \"a\"\nretry = { budget = { max_tokens = 10, token_ratio = 2.0 } }",
            "invalid policies[0].retry.budget.token_ratio: must be a number in (0, 1]",
        ),
        (
            "[[policies]]\nname = \"a\"\nretry = { strategy = { kind = \"exponential\", initial_ms = 100, multiplier = 0.5, max_ms = 1000 } }",
            "invalid policies[0].retry.strategy.multiplier: must be at least 1.0",
        ),
        (
            "[[policies]]\nname = \"a\"\nrate_limiter = { rate = 0, burst = 1 }",
            "invalid policies[0].rate_limiter.rate: must be at least 1",
        ),
        (
            "[[policies]]\nname = \"a\"\nbulkhead = { max_concurrent = 0 }",
            "invalid policies[0].bulkhead.max_concurrent: must be at least 1",
        ),
        (
            "[[policies]]\nname = \"a\"\ntimeout_ms = -1",
            "invalid policies[0].timeout_ms: must be a number of milliseconds from 0 to 10^12",
        ),
        (
            "[[policies]]\nname = \"a\"\n[[policies]]\nname = \"a\"",
            "invalid policies[1].name: must be unique",
        ),
        (
            "episodes = [{ kind = \"brownout\", start_ms = 0, end_ms = 10, failure_rate = 1.5 }]\n[[policies]]\nname = \"a\"",
            "invalid episodes[0].failure_rate: must be a number in [0, 1]",
        ),
        (
            "episodes = [{ kind = \"outage\", start_ms = 10, end_ms = 10 }]\n[[policies]]\nname = \"a\"",
            "invalid episodes[0].end_ms: must be after start_ms",
        ),
        (
            "dependency = { latency = { kind = \"lognormal\", median_ms = 10, p99_ms = 5 } }\n[[policies]]\nname = \"a\"",
            "invalid dependency.latency.p99_ms: must be above median_ms",
        ),
    ];
    for (toml, expected) in cases {
        assert_eq!(error(&format!("{BASE}{toml}")), expected, "for {toml}");
    }
    assert_eq!(
        error("duration_ms = 1000\n[[policies]]\nname = \"a\""),
        "invalid traffic: is required without a trace"
    );
    assert_eq!(
        error(
            "duration_ms = 1000\ntraffic = { rate = 1, clients = 2 }\n[[policies]]\nname = \"a\""
        ),
        "invalid traffic.rate: give exactly one of rate (an open loop) and clients (a closed loop)"
    );
    assert_eq!(
        error(BASE),
        "invalid policies: name at least one configuration"
    );
}

#[test]
fn unknown_keys_are_errors() {
    let message = error(&format!(
        "{BASE}[[policies]]\nname = \"a\"\ncircuit_breaker = {{ failure_treshold = 3 }}"
    ));
    assert!(
        message.contains("unknown field `failure_treshold`"),
        "{message}"
    );
}

#[test]
fn a_trace_replays_as_recorded() {
    let csv = "timestamp_ms,latency_ms,outcome,key\n\
               1000,5,success,a\n\
               1010,7,failure,b\n\
               1020,2000,timeout,a\n\
               1005,1,success,b\n";
    let trace = Trace::from_csv(csv, "trace.csv").unwrap();
    assert_eq!(trace.len(), 4);
    let scenario = Scenario::from_toml("[[policies]]\nname = \"as recorded\"").unwrap();
    let report = Simulation::with_trace(scenario.clone(), trace.clone())
        .unwrap()
        .run();
    let s = &report.configurations[0].summary;
    assert_eq!((s.calls, s.succeeded, s.failed), (4, 2, 2));
    assert_eq!(s.latency_ms.max, 2000.0);
    // The same calls as JSON lines.
    let jsonl = r#"{"timestamp_ms": 1000, "latency_ms": 5, "outcome": "success", "key": "a"}
{"timestamp_ms": 1010, "latency_ms": 7, "outcome": "failure", "key": "b"}
{"timestamp_ms": 1020, "latency_ms": 2000, "outcome": "timeout", "key": "a"}
{"timestamp_ms": 1005, "latency_ms": 1, "outcome": "success", "key": "b"}
"#;
    assert_eq!(Trace::from_jsonl(jsonl, "trace.jsonl").unwrap(), trace);
}

#[test]
fn a_keyed_breaker_keeps_one_state_per_key() {
    // Key b fails every call, key a never does.
    let mut csv = String::from("timestamp_ms,latency_ms,outcome,key\n");
    for i in 0..100 {
        csv.push_str(&format!(
            "{},1,success,a\n{},1,failure,b\n",
            i * 10,
            i * 10 + 5
        ));
    }
    let trace = Trace::from_csv(&csv, "trace.csv").unwrap();
    let scenario = Scenario::from_toml(
        "[[policies]]\nname = \"per key\"\ncircuit_breaker = { failure_threshold = 3, per_key = true }",
    )
    .unwrap();
    let report = Simulation::with_trace(scenario, trace).unwrap().run();
    let c = &report.configurations[0];
    assert_eq!(c.summary.succeeded, 100, "key a is never rejected");
    assert_eq!(c.summary.failed, 3);
    assert_eq!(c.summary.rejected, 97);
    assert_eq!(c.transitions.len(), 1);
    assert_eq!(c.transitions[0].key, "b");
}

#[test]
fn bad_traces_say_where() {
    let e = Trace::from_csv("timestamp_ms,latency_ms,outcome\n1,2,maybe\n", "t.csv").unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.csv:2: outcome must be success, failure or timeout, not \"maybe\""
    );
    let e = Trace::from_csv("time,latency_ms,outcome\n", "t.csv").unwrap_err();
    assert!(matches!(e, Error::Parse { .. }), "{e}");
    let e = Trace::from_csv("timestamp_ms,latency_ms,outcome\n1,x,success\n", "t.csv").unwrap_err();
    assert_eq!(e.to_string(), "t.csv:2: latency_ms is not a number: \"x\"");
}
