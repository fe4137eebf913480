//! The Prometheus metrics of a registry: a scripted sequence of calls under
//! paused time, then the exposition text, line by line and through a parser.

use std::time::Duration;

use prometheus_client::encoding::{prometheus_text, text};
use seawall::core::retry::Failure;
use seawall::{
    Bulkhead, BulkheadConfig, CircuitBreaker, CircuitBreakerConfig, KeyedCircuitBreaker,
    PolicyKind, RateLimiter, RateLimiterConfig, Registry, RetryPolicy, RetryStrategy, State,
};

fn openmetrics(prometheus: &prometheus_client::registry::Registry) -> String {
    let mut out = String::new();
    text::encode(&mut out, prometheus).unwrap();
    out
}

fn prometheus_text(prometheus: &prometheus_client::registry::Registry) -> String {
    let mut out = String::new();
    prometheus_text::encode(&mut out, prometheus).unwrap();
    out
}

/// Every sample line of `text` (no comments).
fn samples(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

fn assert_has(text: &str, expected: &[&str]) {
    let lines = samples(text);
    for line in expected {
        assert!(lines.contains(line), "missing `{line}` in:\n{text}");
    }
}

/// A registry with one policy of each kind, after a scripted sequence of calls.
async fn scripted() -> (
    Registry,
    prometheus_client::registry::Registry,
    Vec<Box<dyn Send>>,
) {
    let registry = Registry::builder().call_durations(&[0.1, 1.0]).build();
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);

    let db = CircuitBreaker::new(
        "db",
        CircuitBreakerConfig {
            failure_threshold: 2,
            success_threshold: 1,
            timeout: Duration::from_secs(10),
            ..Default::default()
        },
    );
    registry.register_critical_breaker(&db).unwrap();
    // A success that takes 50 ms, a cancelled call, two failures: open.
    db.call(|| async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<_, ()>(())
    })
    .await
    .unwrap();
    drop(db.try_acquire().unwrap());
    for _ in 0..2 {
        let _ = db.call(|| async { Err::<(), _>("down") }).await;
    }
    assert_eq!(db.state(), State::Open);
    // Two rejections, then a probe after the open duration closes it.
    for _ in 0..2 {
        assert!(
            db.call(|| async { Ok::<_, ()>(()) })
                .await
                .unwrap_err()
                .is_rejected()
        );
    }
    tokio::time::advance(Duration::from_secs(10)).await;
    db.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
    assert_eq!(db.state(), State::Closed);

    // Retries: a first-try success, a success at the second attempt, a call
    // that fails three times, and an error not worth retrying.
    let policy = RetryPolicy {
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_millis(10),
        },
        ..Default::default()
    };
    let api = registry.register_retry("api", policy).unwrap();
    api.execute(|| async { Ok::<_, ()>(()) }).await.unwrap();
    let mut attempts = 0;
    api.execute(|| {
        attempts += 1;
        let fail = attempts < 2;
        async move { if fail { Err(()) } else { Ok(()) } }
    })
    .await
    .unwrap();
    api.execute(|| async { Err::<(), _>(()) })
        .await
        .unwrap_err();
    api.execute_with(
        |_: &()| Failure::not_retryable(),
        || async { Err::<(), _>(()) },
    )
    .await
    .unwrap_err();

    // A bulkhead with one of three places taken; a rate limiter with two of
    // its five cells spent.
    let pool = Bulkhead::new(BulkheadConfig {
        max_concurrent: 3,
        ..Default::default()
    });
    registry.register_bulkhead("pool", &pool).unwrap();
    let held = pool.try_enter().unwrap();
    let limiter = RateLimiter::new(RateLimiterConfig {
        rate: 10,
        burst: 5,
        ..Default::default()
    });
    registry.register_rate_limiter("api", &limiter).unwrap();
    limiter.check().unwrap();
    limiter.check().unwrap();

    (registry, prometheus, vec![Box::new(held), Box::new(db)])
}

#[tokio::test(start_paused = true)]
async fn a_scrape_shows_every_metric_after_a_scripted_sequence() {
    let (_registry, prometheus, _keep) = scripted().await;
    let text = openmetrics(&prometheus);
    assert_has(
        &text,
        &[
            r#"seawall_circuitbreaker_state{name="db",state="closed"} 1"#,
            r#"seawall_circuitbreaker_state{name="db",state="open"} 0"#,
            r#"seawall_circuitbreaker_state{name="db",state="half_open"} 0"#,
            r#"seawall_circuitbreaker_state{name="db",state="forced_open"} 0"#,
            r#"seawall_circuitbreaker_state{name="db",state="disabled"} 0"#,
            r#"seawall_circuitbreaker_calls_total{name="db",kind="successful"} 2"#,
            r#"seawall_circuitbreaker_calls_total{name="db",kind="failed"} 2"#,
            r#"seawall_circuitbreaker_calls_total{name="db",kind="released"} 1"#,
            r#"seawall_circuitbreaker_calls_total{name="db",kind="rejected"} 2"#,
            r#"seawall_circuitbreaker_slow_calls_total{name="db"} 0"#,
            r#"seawall_circuitbreaker_failure_rate{name="db"} 0.5"#,
            r#"seawall_circuitbreaker_slow_call_rate{name="db"} 0.0"#,
            r#"seawall_circuitbreaker_transitions_total{name="db",from="closed",to="open"} 1"#,
            r#"seawall_circuitbreaker_transitions_total{name="db",from="open",to="half_open"} 1"#,
            r#"seawall_circuitbreaker_transitions_total{name="db",from="half_open",to="closed"} 1"#,
            r#"seawall_circuitbreaker_transitions_total{name="db",from="half_open",to="open"} 0"#,
            // The 50 ms success and the instant probe; the two failures.
            r#"seawall_circuitbreaker_call_duration_seconds_count{name="db",kind="successful"} 2"#,
            r#"seawall_circuitbreaker_call_duration_seconds_sum{name="db",kind="successful"} 0.05"#,
            r#"seawall_circuitbreaker_call_duration_seconds_bucket{le="0.1",name="db",kind="successful"} 2"#,
            r#"seawall_circuitbreaker_call_duration_seconds_bucket{le="+Inf",name="db",kind="successful"} 2"#,
            r#"seawall_circuitbreaker_call_duration_seconds_count{name="db",kind="failed"} 2"#,
            r#"seawall_retry_calls_total{name="api",kind="successful_without_retry"} 1"#,
            r#"seawall_retry_calls_total{name="api",kind="successful_with_retry"} 1"#,
            r#"seawall_retry_calls_total{name="api",kind="failed_with_retry"} 1"#,
            r#"seawall_retry_calls_total{name="api",kind="failed_without_retry"} 1"#,
            r#"seawall_bulkhead_available_permits{name="pool"} 2"#,
            r#"seawall_bulkhead_max_allowed_concurrent_calls{name="pool"} 3"#,
            r#"seawall_ratelimiter_available_permits{name="api"} 3"#,
        ],
    );
    // Transitions that never happened and are not of the automatic cycle are
    // left out.
    assert!(!text.contains(r#"to="forced_open""#), "{text}");
    assert!(
        text.contains("# TYPE seawall_circuitbreaker_calls counter"),
        "{text}"
    );
    assert!(
        text.contains("# UNIT seawall_circuitbreaker_call_duration_seconds seconds"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_exposition_is_valid_for_a_real_parser() {
    let (_registry, prometheus, _keep) = scripted().await;
    for text in [prometheus_text(&prometheus), openmetrics(&prometheus)] {
        // Every line is a comment the parser knows, or a sample it reads.
        for line in text.lines() {
            if line == "# EOF" || line.starts_with("# UNIT ") {
                continue; // OpenMetrics only
            }
            let info = prometheus_parse::LineInfo::parse(line);
            assert!(
                !matches!(info, prometheus_parse::LineInfo::Ignored),
                "unparsable line `{line}`"
            );
        }
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
        let value = |metric: &str, labels: &[(&str, &str)]| {
            scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
                })
                .map(|s| s.value.clone())
                .unwrap_or_else(|| panic!("no sample {metric} {labels:?} in\n{text}"))
        };
        use prometheus_parse::Value;
        let number = |v: Value| match v {
            Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => x,
            other => panic!("not a number: {other:?}"),
        };
        assert_eq!(
            number(value(
                "seawall_circuitbreaker_state",
                &[("name", "db"), ("state", "closed")]
            )),
            1.0
        );
        assert_eq!(
            number(value(
                "seawall_circuitbreaker_calls_total",
                &[("name", "db"), ("kind", "rejected")]
            )),
            2.0
        );
        assert_eq!(
            number(value(
                "seawall_circuitbreaker_failure_rate",
                &[("name", "db")]
            )),
            0.5
        );
        assert_eq!(
            number(value(
                "seawall_retry_calls_total",
                &[("name", "api"), ("kind", "failed_with_retry")]
            )),
            1.0
        );
        match value(
            "seawall_circuitbreaker_call_duration_seconds",
            &[("name", "db"), ("kind", "successful")],
        ) {
            Value::Histogram(buckets) => {
                let counts: Vec<(f64, f64)> =
                    buckets.iter().map(|b| (b.less_than, b.count)).collect();
                assert_eq!(counts, [(0.1, 2.0), (1.0, 2.0), (f64::INFINITY, 2.0)]);
            }
            other => panic!("not a histogram: {other:?}"),
        }
        assert!(
            scrape.docs.contains_key("seawall_circuitbreaker_state"),
            "{:?}",
            scrape.docs
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_prometheus_text_types_every_family() {
    let (_registry, prometheus, _keep) = scripted().await;
    let text = prometheus_text(&prometheus);
    for (family, kind) in [
        ("seawall_circuitbreaker_state", "gauge"),
        ("seawall_circuitbreaker_calls_total", "counter"),
        ("seawall_circuitbreaker_slow_calls_total", "counter"),
        ("seawall_circuitbreaker_failure_rate", "gauge"),
        ("seawall_circuitbreaker_slow_call_rate", "gauge"),
        ("seawall_circuitbreaker_transitions_total", "counter"),
        ("seawall_circuitbreaker_call_duration_seconds", "histogram"),
        ("seawall_retry_calls_total", "counter"),
        ("seawall_bulkhead_available_permits", "gauge"),
        ("seawall_bulkhead_max_allowed_concurrent_calls", "gauge"),
        ("seawall_ratelimiter_available_permits", "gauge"),
    ] {
        let line = format!("# TYPE {family} {kind}");
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn keyed_breakers_are_scraped_per_key() {
    let registry = Registry::new();
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);
    let tenants = KeyedCircuitBreaker::new(
        "tenant-db",
        CircuitBreakerConfig {
            failure_threshold: 1,
            ..Default::default()
        },
        100,
    );
    // A key used before the keyed breaker was registered, and one after.
    let _ = tenants.call("acme", || async { Ok::<_, ()>(()) }).await;
    registry.register_keyed_breaker(&tenants).unwrap();
    let _ = tenants.call("acme", || async { Err::<(), _>(()) }).await;
    let _ = tenants.call("globex", || async { Err::<(), _>(()) }).await;
    let text = openmetrics(&prometheus);
    assert_has(
        &text,
        &[
            r#"seawall_circuitbreaker_state{name="tenant-db/acme",state="open"} 1"#,
            r#"seawall_circuitbreaker_state{name="tenant-db/globex",state="open"} 1"#,
            r#"seawall_circuitbreaker_calls_total{name="tenant-db/acme",kind="successful"} 1"#,
            r#"seawall_circuitbreaker_transitions_total{name="tenant-db/acme",from="closed",to="open"} 1"#,
            r#"seawall_circuitbreaker_transitions_total{name="tenant-db/globex",from="closed",to="open"} 1"#,
        ],
    );
    // A forgotten key leaves the scrape.
    tenants.remove(&"globex");
    assert!(!openmetrics(&prometheus).contains("tenant-db/globex"));
}

#[tokio::test(start_paused = true)]
async fn policies_come_and_go_between_scrapes() {
    let registry = Registry::new();
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);
    // Nothing registered: no family at all.
    assert!(samples(&openmetrics(&prometheus)).is_empty());

    let cache = CircuitBreaker::new("cache", CircuitBreakerConfig::default());
    registry.register_breaker(&cache).unwrap();
    cache.force_open();
    assert_has(
        &openmetrics(&prometheus),
        &[
            r#"seawall_circuitbreaker_state{name="cache",state="forced_open"} 1"#,
            r#"seawall_circuitbreaker_transitions_total{name="cache",from="closed",to="forced_open"} 1"#,
        ],
    );
    assert!(registry.unregister(PolicyKind::CircuitBreaker, "cache"));
    assert!(!openmetrics(&prometheus).contains("cache"));
}

#[tokio::test(start_paused = true)]
async fn windowed_rates_and_slow_calls_are_the_windows() {
    let registry = Registry::new();
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);
    let search = CircuitBreaker::new(
        "search",
        CircuitBreakerConfig {
            window: Some(seawall::SlidingWindow::Count { size: 4 }),
            failure_rate_threshold: 1.0,
            slow_call_rate_threshold: 1.0,
            slow_call_duration: Duration::from_secs(1),
            ..Default::default()
        },
    );
    registry.register_breaker(&search).unwrap();
    // Six calls: the window holds the last four (one failure, two slow).
    for (fail, secs) in [
        (true, 0),
        (true, 0),
        (false, 0),
        (true, 2),
        (false, 2),
        (false, 0),
    ] {
        let _ = search
            .call(|| async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                if fail { Err(()) } else { Ok(()) }
            })
            .await;
    }
    assert_has(
        &openmetrics(&prometheus),
        &[
            r#"seawall_circuitbreaker_failure_rate{name="search"} 0.25"#,
            r#"seawall_circuitbreaker_slow_call_rate{name="search"} 0.5"#,
            r#"seawall_circuitbreaker_slow_calls_total{name="search"} 2"#,
        ],
    );
}

#[tokio::test(start_paused = true)]
async fn a_windowed_breaker_reports_the_rate_that_opened_it() {
    let registry = Registry::new();
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);
    let search = CircuitBreaker::new(
        "search",
        CircuitBreakerConfig {
            window: Some(seawall::SlidingWindow::Count { size: 4 }),
            minimum_calls: 4,
            failure_rate_threshold: 0.5,
            ..Default::default()
        },
    );
    registry.register_breaker(&search).unwrap();
    for fail in [false, false, true, true] {
        let _ = search
            .call(|| async move { if fail { Err(()) } else { Ok(()) } })
            .await;
    }
    assert_eq!(search.state(), seawall::State::Open);
    // Dashboards and alerts see the rate that opened it, not 0.
    assert_has(
        &openmetrics(&prometheus),
        &[
            r#"seawall_circuitbreaker_state{name="search",state="open"} 1"#,
            r#"seawall_circuitbreaker_failure_rate{name="search"} 0.5"#,
        ],
    );
    assert_eq!(registry.health().breakers[0].failure_rate, 0.5);
}
