//! The adaptive policies' evidence: the scenarios `adaptive_overload.toml`
//! and `adaptive_retry.toml` show what docs/BENCHMARKS.md and docs/ADAPTIVE.md
//! say of them.

mod support;

use seawall_sim::{Configuration, Row};
use support::{configuration, run};

/// The rows of the steps that start in `[from, to)` seconds.
fn rows(configuration: &Configuration, from: f64, to: f64) -> Vec<&Row> {
    configuration
        .timeline
        .iter()
        .filter(|r| r.t_s >= from && r.t_s < to)
        .collect()
}

/// The calls a second the dependency of `adaptive_overload.toml` can serve:
/// 100 workers over its mean latency (log-normal, median 20 ms, p99 100 ms).
fn capacity() -> f64 {
    let sigma = (100.0f64 / 20.0).ln() / 2.326_347_874_040_841;
    let mean_ms = 20.0 * (sigma * sigma / 2.0).exp();
    100.0 / (mean_ms / 1e3)
}

#[test]
fn the_gradient_holds_goodput_and_latency_under_a_3x_overload() {
    let report = run("adaptive_overload.toml");
    let capacity = capacity();
    // Unloaded: before the surge, every call is served; the p99 of a second's
    // successful calls.
    let plain = configuration(&report, "no limit");
    let unloaded_p99 = rows(plain, 5.0, 20.0)
        .iter()
        .map(|r| r.succeeded_p99_ms)
        .fold(0.0, f64::max);
    assert!((90.0..120.0).contains(&unloaded_p99), "{unloaded_p99}");
    // Without a limit the queue grows until every call times out.
    let collapsed = rows(plain, 30.0, 60.0);
    assert!(
        collapsed
            .iter()
            .all(|r| (r.succeeded as f64) < capacity * 0.1)
    );

    // From 10 s after the onset on, every second: goodput at least 90 % of
    // the capacity, p99 at most twice the unloaded one.
    let gradient = configuration(&report, "seawall gradient");
    for row in rows(gradient, 30.0, 60.0) {
        let goodput = row.succeeded as f64 / capacity;
        assert!(goodput >= 0.9, "{}: goodput {goodput}", row.t_s);
        assert!(
            row.succeeded_p99_ms <= 2.0 * unloaded_p99,
            "{}: p99 {} ms",
            row.t_s,
            row.succeeded_p99_ms
        );
    }
    // The reference Gradient2, from the same start, sheds far more.
    let port = configuration(&report, "Netflix Gradient2 (port)");
    let served = |c: &Configuration| rows(c, 30.0, 60.0).iter().map(|r| r.succeeded).sum::<u64>();
    assert!(served(port) * 10 < served(gradient) * 7);
    let vegas_port = configuration(&report, "Netflix Vegas (port)");
    assert!(served(vegas_port) * 5 < served(gradient));
}

#[test]
fn the_quota_retries_transient_errors_and_stops_in_an_outage() {
    let report = run("adaptive_retry.toml");
    let totals = |c: &Configuration, from: f64, to: f64| {
        let rows = rows(c, from, to);
        let sum = |f: fn(&Row) -> u64| rows.iter().map(|r| f(r)).sum::<u64>() as f64;
        (
            sum(|r| r.calls),
            sum(|r| r.attempts),
            sum(|r| r.succeeded),
            sum(|r| r.retries),
        )
    };
    let quota = configuration(&report, "retry x3 + quota");
    // 20 % transient errors (from 5 s, past the start): at least 99 % of the
    // calls succeed, for at most 1.25 times the load.
    let (calls, attempts, succeeded, _) = totals(quota, 5.0, 30.0);
    assert!(succeeded / calls >= 0.99, "{}", succeeded / calls);
    assert!(attempts / calls <= 1.25, "{}", attempts / calls);
    // A 100 % outage: once the quota is spent (within 2 s), retries are at
    // most 10 % of the calls.
    let (calls, _, _, retries) = totals(quota, 32.0, 60.0);
    assert!(retries / calls <= 0.1, "{}", retries / calls);
    // After it, successes pay the quota back and retries resume.
    let (calls, attempts, succeeded, _) = totals(quota, 65.0, 90.0);
    assert!(succeeded / calls >= 0.99 && attempts / calls <= 1.25);

    // Plain retries triple the load in the outage; a budget stops them there
    // too, but cannot afford the transient errors' retries.
    let plain = configuration(&report, "retry x3");
    let (calls, _, _, retries) = totals(plain, 32.0, 60.0);
    assert!(retries / calls > 1.9);
    let budget = configuration(&report, "retry x3 + budget");
    let (calls, _, succeeded, _) = totals(budget, 5.0, 30.0);
    assert!(succeeded / calls < 0.85, "{}", succeeded / calls);
}
