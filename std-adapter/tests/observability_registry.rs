//! The registry of named policies and the health report's status rules.

use std::sync::Arc;
use std::time::Duration;

use seawall::core::ManualClock;
use seawall::{
    Bulkhead, BulkheadConfig, CircuitBreaker, CircuitBreakerConfig, HealthStatus,
    KeyedCircuitBreaker, PolicyKind, RateLimiter, RateLimiterConfig, Registry, RetryLayer,
    RetryListener, RetryPolicy, RetryStats, RetryStrategy, State,
};
use tower::{ServiceExt, service_fn};

fn breaker(name: &str) -> CircuitBreaker {
    CircuitBreaker::new(
        name,
        CircuitBreakerConfig {
            failure_threshold: 1,
            success_threshold: 1,
            timeout: Duration::from_secs(10),
            ..Default::default()
        },
    )
}

/// Trips `breaker` with one failure (its threshold).
fn trip(breaker: &CircuitBreaker) {
    breaker.try_acquire().unwrap().failure();
}

#[test]
fn names_are_listed_sorted_and_unique_per_kind() {
    let registry = Registry::new();
    registry.register_breaker(&breaker("search")).unwrap();
    registry.register_breaker(&breaker("database")).unwrap();
    let error = registry.register_breaker(&breaker("search")).unwrap_err();
    assert_eq!(error.kind, PolicyKind::CircuitBreaker);
    assert_eq!(
        error.to_string(),
        "a circuit_breaker named \"search\" is already registered"
    );
    // Another kind may use the same name.
    let bulkhead = Bulkhead::new(BulkheadConfig::default());
    registry.register_bulkhead("search", &bulkhead).unwrap();
    registry
        .register_rate_limiter("search", &RateLimiter::new(RateLimiterConfig::default()))
        .unwrap();
    registry
        .register_retry("search", RetryPolicy::default())
        .unwrap();

    assert_eq!(
        registry.names(PolicyKind::CircuitBreaker),
        ["database", "search"]
    );
    for kind in [
        PolicyKind::Retry,
        PolicyKind::Bulkhead,
        PolicyKind::RateLimiter,
    ] {
        assert_eq!(registry.names(kind), ["search"], "{kind}");
    }
    assert!(registry.unregister(PolicyKind::Bulkhead, "search"));
    assert!(!registry.unregister(PolicyKind::Bulkhead, "search"));
    assert!(registry.names(PolicyKind::Bulkhead).is_empty());
    assert!(registry.bulkhead("search").is_none());
}

#[test]
fn breakers_are_controlled_by_name() {
    let registry = Registry::new();
    let database = breaker("database");
    registry.register_breaker(&database).unwrap();
    let handle = registry.breaker("database").unwrap();
    assert_eq!(handle.name(), "database");

    assert!(handle.force_open().is_some());
    assert_eq!(database.state(), State::ForcedOpen);
    assert!(database.try_acquire().is_err());
    handle.disable();
    assert_eq!(database.state(), State::Disabled);
    handle.reset();
    assert_eq!(database.state(), State::Closed);
    assert_eq!(handle.stats().rejected, 1);
    assert_eq!(handle.config().failure_threshold, 1);
    assert!(registry.breaker("nope").is_none());
}

#[test]
fn bulkheads_and_rate_limiters_are_found_by_name() {
    let registry = Registry::new();
    let bulkhead = Bulkhead::new(BulkheadConfig {
        max_concurrent: 2,
        ..Default::default()
    });
    registry.register_bulkhead("pool", &bulkhead).unwrap();
    let _held = bulkhead.try_enter().unwrap();
    assert_eq!(registry.bulkhead("pool").unwrap().available(), 1);

    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::with_clock(
        RateLimiterConfig {
            rate: 1,
            burst: 2,
            ..Default::default()
        },
        clock.clone(),
    )
    .unwrap();
    registry.register_rate_limiter("api", &limiter).unwrap();
    limiter.check().unwrap();
    let found = registry.rate_limiter("api").unwrap();
    assert_eq!(found.available(), 1);
    found.reset();
    assert_eq!(limiter.available(), 2);
}

#[test]
fn health_is_healthy_when_every_breaker_is_closed() {
    let registry = Registry::new();
    registry.register_critical_breaker(&breaker("a")).unwrap();
    registry.register_breaker(&breaker("b")).unwrap();
    assert_eq!(registry.health().status, HealthStatus::Healthy);
    // An empty registry is healthy too.
    assert_eq!(Registry::new().health().status, HealthStatus::Healthy);
}

#[test]
fn health_is_degraded_by_a_breaker_that_is_not_closed() {
    for (critical, act) in [
        (false, "open"),
        (false, "forced_open"),
        (true, "forced_open"),
        (false, "disabled"),
        (true, "disabled"),
        (false, "half_open"),
        (true, "half_open"),
    ] {
        let clock = Arc::new(ManualClock::new());
        let registry = Registry::builder().clock(clock.clone()).build();
        let cb = CircuitBreaker::builder("x")
            .config(CircuitBreakerConfig {
                failure_threshold: 1,
                timeout: Duration::from_secs(10),
                ..Default::default()
            })
            .clock(clock.clone())
            .build()
            .unwrap();
        if critical {
            registry.register_critical_breaker(&cb).unwrap();
        } else {
            registry.register_breaker(&cb).unwrap();
        }
        registry
            .register_critical_breaker(&breaker("closed"))
            .unwrap();
        match act {
            "open" => trip(&cb),
            "forced_open" => drop(cb.force_open()),
            "disabled" => drop(cb.disable()),
            _ => {
                trip(&cb);
                clock.advance(Duration::from_secs(10));
                let _probe = cb.try_acquire().unwrap();
                assert_eq!(cb.state(), State::HalfOpen);
                let report = registry.health();
                assert_eq!(
                    report.status,
                    HealthStatus::Degraded,
                    "half-open, critical {critical}"
                );
                continue;
            }
        }
        assert_eq!(cb.state().as_str(), act);
        let report = registry.health();
        assert_eq!(
            report.status,
            HealthStatus::Degraded,
            "{act}, critical {critical}"
        );
        assert!(report.status.is_ready());
        assert_eq!(report.status.http_status(), 200);
    }
}

#[test]
fn health_is_unhealthy_when_a_critical_breaker_is_open() {
    let registry = Registry::new();
    let database = breaker("database");
    let search = breaker("search");
    registry.register_critical_breaker(&database).unwrap();
    registry.register_breaker(&search).unwrap();
    search.force_open();
    trip(&database);
    let report = registry.health();
    assert_eq!(report.status, HealthStatus::Unhealthy);
    assert!(!report.status.is_ready());
    assert_eq!(report.status.http_status(), 503);
    assert_eq!(report.status.to_string(), "unhealthy");
    // Closing it again makes the service ready.
    database.reset();
    assert_eq!(registry.health().status, HealthStatus::Degraded);
    search.reset();
    assert_eq!(registry.health().status, HealthStatus::Healthy);
}

#[test]
fn the_report_has_a_line_per_breaker_with_its_rates_and_time_in_state() {
    let clock = Arc::new(ManualClock::new());
    let registry = Registry::builder().clock(clock.clone()).build();
    let database = breaker("database");
    let search = CircuitBreaker::new("search", CircuitBreakerConfig::default());
    registry.register_critical_breaker(&database).unwrap();
    registry.register_breaker(&search).unwrap();
    clock.advance(Duration::from_secs(3));
    search.try_acquire().unwrap().success();
    search.try_acquire().unwrap().failure();
    drop(search.try_acquire().unwrap());
    trip(&database);
    clock.advance(Duration::from_secs(4));
    let _ = database.try_acquire().unwrap_err();

    let report = registry.health();
    assert_eq!(report.status, HealthStatus::Unhealthy);
    let [db, se] = &report.breakers[..] else {
        panic!("{report:?}")
    };
    assert_eq!(
        (db.name.as_str(), db.state, db.critical),
        ("database", State::Open, true)
    );
    assert_eq!(db.in_state, Duration::from_secs(4));
    assert_eq!((db.calls.failed, db.calls.rejected), (1, 1));
    assert_eq!(db.failure_rate, 1.0);
    // Never changed state: in it since it was registered.
    assert_eq!(
        (se.name.as_str(), se.state, se.critical),
        ("search", State::Closed, false)
    );
    assert_eq!(se.in_state, Duration::from_secs(7));
    assert_eq!(se.failure_rate, 0.5);
    assert_eq!(
        (se.calls.successful, se.calls.failed, se.calls.released),
        (1, 1, 1)
    );
    let elapsed = std::time::SystemTime::now()
        .duration_since(se.since)
        .unwrap();
    assert!(
        elapsed >= Duration::from_secs(7) && elapsed < Duration::from_secs(60),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn keyed_breakers_report_each_key() {
    let registry = Registry::new();
    let tenants = KeyedCircuitBreaker::new(
        "tenant-db",
        CircuitBreakerConfig {
            failure_threshold: 1,
            ..Default::default()
        },
        10,
    );
    registry.register_keyed_breaker(&tenants).unwrap();
    let _ = tenants.call("acme", || async { Err::<(), _>(()) }).await;
    tokio::time::advance(Duration::from_secs(2)).await;
    let _ = tenants.call("globex", || async { Ok::<_, ()>(()) }).await;
    tokio::time::advance(Duration::from_secs(3)).await;

    assert_eq!(registry.names(PolicyKind::CircuitBreaker), ["tenant-db"]);
    let report = registry.health();
    // Keyed breakers are never critical: one tenant's outage degrades.
    assert_eq!(report.status, HealthStatus::Degraded);
    let lines: Vec<_> = report
        .breakers
        .iter()
        .map(|b| (b.name.as_str(), b.state, b.in_state))
        .collect();
    assert_eq!(
        lines,
        [
            ("tenant-db/acme", State::Open, Duration::from_secs(5)),
            ("tenant-db/globex", State::Closed, Duration::from_secs(5)),
        ]
    );
    // A key's breaker is controlled by its full name.
    registry.breaker("tenant-db/acme").unwrap().reset();
    assert_eq!(tenants.get(&"acme").state(), State::Closed);
    assert_eq!(registry.health().status, HealthStatus::Healthy);
}

#[test]
fn a_registered_breaker_keeps_its_own_listener() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let cb = CircuitBreaker::builder("payments")
        .on_transition(move |name, t| log.lock().unwrap().push(format!("{name}: {t}")))
        .build()
        .unwrap();
    let registry = Registry::new();
    registry.register_breaker(&cb).unwrap();
    cb.force_open();
    assert_eq!(*seen.lock().unwrap(), ["payments: closed -> forced_open"]);
    assert_eq!(registry.health().breakers[0].state, State::ForcedOpen);
}

struct Heard(std::sync::Mutex<Vec<String>>);

impl RetryListener for Heard {
    fn on_retry(&self, attempt: u32, _delay: Duration) {
        self.0.lock().unwrap().push(format!("retry {attempt}"));
    }
    fn on_success(&self, attempt: u32) {
        self.0.lock().unwrap().push(format!("success {attempt}"));
    }
}

#[tokio::test(start_paused = true)]
async fn retry_calls_are_counted_by_outcome_and_the_own_listener_still_hears() {
    let registry = Registry::new();
    let heard = Arc::new(Heard(Default::default()));
    let policy = RetryPolicy {
        max_attempts: 2,
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_millis(5),
        },
        listener: Some(heard.clone()),
        ..Default::default()
    };
    let policy = registry.register_retry("api", policy).unwrap();
    let mut attempt = 0;
    policy
        .execute(|| {
            attempt += 1;
            let fail = attempt == 1;
            async move { if fail { Err(()) } else { Ok(()) } }
        })
        .await
        .unwrap();
    policy
        .execute(|| async { Err::<(), _>(()) })
        .await
        .unwrap_err();
    assert_eq!(
        registry.retry_stats("api").unwrap(),
        RetryStats {
            successful_without_retry: 0,
            successful_with_retry: 1,
            failed_with_retry: 1,
            failed_without_retry: 0,
        }
    );
    assert_eq!(
        *heard.0.lock().unwrap(),
        ["retry 1", "success 2", "retry 1"]
    );
    assert_eq!(registry.retry("api").unwrap().max_attempts, 2);
}

#[tokio::test(start_paused = true)]
async fn the_retry_layer_counts_too() {
    let registry = Registry::new();
    let policy = RetryPolicy {
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_millis(5),
        },
        ..Default::default()
    };
    let policy = registry.register_retry("http", policy).unwrap();
    let layer = RetryLayer::new(policy).unwrap();
    let flaky = service_fn(|n: u32| async move { if n == 0 { Err("down") } else { Ok(n) } });
    let service = tower::ServiceBuilder::new().layer(layer).service(flaky);
    assert_eq!(service.clone().oneshot(1).await, Ok(1));
    assert_eq!(service.oneshot(0).await, Err("down"));
    let stats = registry.retry_stats("http").unwrap();
    assert_eq!(
        (
            stats.successful_without_retry,
            stats.failed_with_retry,
            stats.total()
        ),
        (1, 1, 2)
    );
}
