//! Shared breakers and rate limiters in a registry: listed, reported on
//! (marked shared), exposed to Prometheus and controlled by name for the
//! whole fleet.

mod redis_support;

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use seawall::{CircuitBreakerConfig, HealthStatus, PolicyKind, RateLimiterConfig, Registry, State};

use redis_support::{RedisServer, eventually, fast, store};

const BOUND: Duration = Duration::from_secs(10);

fn text(prometheus: &prometheus_client::registry::Registry) -> String {
    let mut text = String::new();
    encode(&mut text, prometheus).unwrap();
    text
}

fn assert_has(text: &str, expected: &[&str]) {
    for line in expected {
        assert!(text.lines().any(|l| l == *line), "no {line:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_policies_are_listed_reported_exposed_and_controlled() {
    let server = RedisServer::start();
    let config = CircuitBreakerConfig {
        failure_threshold: 1,
        ..Default::default()
    };
    let here = store(&server.url(), fast())
        .breaker("db", config.clone())
        .unwrap();
    let elsewhere = store(&server.url(), fast()).breaker("db", config).unwrap();
    let limiter = store(&server.url(), fast())
        .rate_limiter(
            "api",
            RateLimiterConfig {
                rate: 1,
                period: Duration::from_secs(3600),
                burst: 1,
                max_wait: Duration::ZERO,
            },
        )
        .unwrap();
    let registry = Registry::new();
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);
    registry.register_critical_shared_breaker(&here).unwrap();
    registry
        .register_shared_rate_limiter("api", &limiter)
        .unwrap();
    assert!(registry.register_shared_breaker(&here).is_err());
    assert_eq!(registry.names(PolicyKind::CircuitBreaker), ["db"]);
    assert_eq!(registry.names(PolicyKind::RateLimiter), ["api"]);
    assert!(registry.breaker("db").unwrap().is_shared());
    here.sync().await.unwrap();

    let health = registry.health();
    assert_eq!(health.status, HealthStatus::Healthy);
    assert!(health.breakers[0].shared);
    assert!(!health.breakers[0].fallback);

    // Another process's failure opens it: the report and the metrics say so.
    let _ = elsewhere.call(|| async { Err::<(), _>("down") }).await;
    eventually("open here too", BOUND, || async {
        here.state() == State::Open
    })
    .await;
    assert_eq!(registry.health().status, HealthStatus::Unhealthy);
    limiter.check().await.unwrap();
    assert!(limiter.check().await.is_err());
    assert_has(
        &text(&prometheus),
        &[
            r#"seawall_circuitbreaker_state{name="db",shared="true",state="open"} 1"#,
            r#"seawall_circuitbreaker_transitions_total{name="db",shared="true",from="closed",to="open"} 1"#,
            r#"seawall_shared_fallback{kind="circuit_breaker",name="db"} 0"#,
            r#"seawall_shared_fallback{kind="rate_limiter",name="api"} 0"#,
            r#"seawall_shared_corrupt_reads_total{name="db"} 0"#,
            r#"seawall_ratelimiter_calls_total{name="api",kind="admitted",shared="true"} 1"#,
            r#"seawall_ratelimiter_calls_total{name="api",kind="refused",shared="true"} 1"#,
        ],
    );

    // Manual control by name reaches the whole fleet.
    assert_eq!(registry.breaker("db").unwrap().force_open(), None);
    eventually("forced open everywhere", BOUND, || async {
        here.state() == State::ForcedOpen && elsewhere.state() == State::ForcedOpen
    })
    .await;
    assert_eq!(registry.health().status, HealthStatus::Degraded);
    registry.breaker("db").unwrap().reset();
    eventually("closed everywhere", BOUND, || async {
        elsewhere
            .sync()
            .await
            .is_ok_and(|s| s.state == State::Closed)
    })
    .await;

    // Redis gone: the breaker decides locally, and the report says so.
    drop(server);
    eventually("fallback", BOUND, || async { here.is_fallback() }).await;
    let health = registry.health();
    assert!(health.breakers[0].fallback);
    assert_eq!(health.status, HealthStatus::Degraded);
    assert_has(
        &text(&prometheus),
        &[r#"seawall_shared_fallback{kind="circuit_breaker",name="db"} 1"#],
    );
    assert!(registry.unregister(PolicyKind::RateLimiter, "api"));
    assert!(registry.shared_rate_limiter("api").is_none());
}
