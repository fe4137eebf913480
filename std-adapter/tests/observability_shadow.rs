//! A shadow breaker in the registry: its would-be rejections in the metrics (their own
//! counter, none among the calls it rejected), and a health status it leaves alone.

use prometheus_client::encoding::text;
use seawall::{CircuitBreaker, CircuitBreakerConfig, Registry};

#[tokio::test(start_paused = true)]
async fn shadow_rejections_have_their_own_counter() {
    let registry = Registry::new();
    let shadow = CircuitBreaker::builder("payments")
        .config(CircuitBreakerConfig {
            failure_threshold: 2,
            ..Default::default()
        })
        .shadow(true)
        .build()
        .unwrap();
    let enforcing = CircuitBreaker::new("search", CircuitBreakerConfig::default());
    registry.register_breaker(&shadow).unwrap();
    registry.register_breaker(&enforcing).unwrap();
    for _ in 0..5 {
        let _ = shadow.call(|| async { Err::<(), _>("down") }).await;
    }
    enforcing.force_open();
    let _ = enforcing.call(|| async { Ok::<_, &str>(()) }).await;
    assert!(registry.breaker("payments").unwrap().is_shadow());

    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);
    let mut out = String::new();
    text::encode(&mut out, &prometheus).unwrap();
    for line in [
        "seawall_circuitbreaker_shadow_rejections_total{name=\"payments\"} 3",
        "seawall_circuitbreaker_calls_total{name=\"payments\",kind=\"rejected\"} 0",
        "seawall_circuitbreaker_calls_total{name=\"payments\",kind=\"failed\"} 2",
        "seawall_circuitbreaker_calls_total{name=\"search\",kind=\"rejected\"} 1",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing `{line}` in:\n{out}"
        );
    }
    assert!(!out.contains("seawall_circuitbreaker_shadow_rejections_total{name=\"search\"}"));
}

#[tokio::test(start_paused = true)]
async fn shadow_refusals_of_a_rate_limiter_have_their_own_counter() {
    use seawall::{RateLimiter, RateLimiterConfig};
    let registry = Registry::new();
    let limiter = RateLimiter::new(RateLimiterConfig {
        rate: 1,
        burst: 1,
        ..Default::default()
    })
    .shadow();
    registry.register_rate_limiter("api", &limiter).unwrap();
    for _ in 0..3 {
        limiter.acquire().await.unwrap();
    }
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);
    let mut out = String::new();
    text::encode(&mut out, &prometheus).unwrap();
    let line = "seawall_ratelimiter_shadow_refusals_total{name=\"api\"} 2";
    assert!(
        out.lines().any(|l| l == line),
        "missing `{line}` in:\n{out}"
    );
}

/// A shadow breaker rejects nothing, so an open one must not take the service
/// out of rotation, even registered as critical; its line says it is shadow.
#[tokio::test(start_paused = true)]
async fn an_open_shadow_breaker_leaves_the_health_status_alone() {
    use seawall::{HealthStatus, State};
    let registry = Registry::new();
    let shadow = CircuitBreaker::builder("payments")
        .config(CircuitBreakerConfig {
            failure_threshold: 1,
            ..Default::default()
        })
        .shadow(true)
        .build()
        .unwrap();
    registry.register_critical_breaker(&shadow).unwrap();
    let _ = shadow.call(|| async { Err::<(), _>("down") }).await;

    let report = registry.health();
    assert_eq!(report.breakers[0].state, State::Open);
    assert!(report.breakers[0].shadow);
    assert!(report.breakers[0].critical);
    assert_eq!(report.status, HealthStatus::Healthy);

    // The same breaker enforcing would make the service unhealthy.
    let enforcing = CircuitBreaker::new(
        "search",
        CircuitBreakerConfig {
            failure_threshold: 1,
            ..Default::default()
        },
    );
    registry.register_critical_breaker(&enforcing).unwrap();
    let _ = enforcing.call(|| async { Err::<(), _>("down") }).await;
    let report = registry.health();
    assert!(!report.breakers[1].shadow);
    assert_eq!(report.status, HealthStatus::Unhealthy);
}
