//! The Prometheus metrics and the JSON health of the adaptive policies: an
//! adaptive limiter and a retry policy with a quota and an adaptive rate.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text;
use seawall::core::limit::{Aimd, Algorithm, LimitConfig};
use seawall::{
    AdaptiveLimiter, AdaptiveRate, AdaptiveRateConfig, Failure, QuotaCosts, Registry, RetryPolicy,
    RetryQuota, RetryStrategy,
};

#[tokio::test(start_paused = true)]
async fn limiter_quota_and_rate_are_exposed() {
    let registry = Registry::new();
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);

    let config = LimitConfig::builder()
        .algorithm(Algorithm::Aimd(Aimd::DEFAULT))
        .initial_limit(2)
        .build()
        .unwrap();
    let limiter = AdaptiveLimiter::new(config);
    registry
        .register_adaptive_limiter("search", &limiter)
        .unwrap();
    limiter.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
    let _ = limiter.call(|| async { Err::<(), _>(()) }).await;
    let held = limiter.try_acquire().unwrap();
    drop(limiter.try_acquire().unwrap());
    let _second = limiter.try_acquire().unwrap();
    let _ = limiter.call(|| async { Ok::<_, ()>(()) }).await;

    let quota = Arc::new(RetryQuota::new(100, QuotaCosts::DEFAULT).unwrap());
    let rate = Arc::new(AdaptiveRate::new(AdaptiveRateConfig::DEFAULT).unwrap());
    let policy = RetryPolicy {
        max_attempts: 2,
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_millis(5),
        },
        quota: Some(quota),
        adaptive_rate: Some(rate),
        ..Default::default()
    };
    let policy = registry.register_retry("api", policy).unwrap();
    let _ = policy
        .execute_with(
            |_: &&str| Failure::throttling(),
            || async { Err::<(), _>("throttled") },
        )
        .await;

    let mut out = String::new();
    text::encode(&mut out, &prometheus).unwrap();
    for line in [
        r#"seawall_adaptivelimiter_limit{name="search"} 2"#,
        r#"seawall_adaptivelimiter_in_flight_calls{name="search"} 2"#,
        r#"seawall_adaptivelimiter_calls_total{name="search",kind="successful"} 1"#,
        r#"seawall_adaptivelimiter_calls_total{name="search",kind="overloaded"} 1"#,
        r#"seawall_adaptivelimiter_calls_total{name="search",kind="released"} 1"#,
        r#"seawall_adaptivelimiter_calls_total{name="search",kind="rejected"} 1"#,
        // One throttling retry (5) charged, nothing paid back.
        r#"seawall_retry_quota_available{name="api"} 95"#,
        r#"seawall_retry_throttled_responses_total{name="api"} 2"#,
        r#"seawall_retry_send_rate{name="api"} 0.5"#,
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing `{line}` in:\n{out}"
        );
    }

    let json = serde_json::to_value(registry.health()).unwrap();
    assert_eq!(
        json["limiters"][0],
        serde_json::json!({
            "name": "search",
            "algorithm": "aimd",
            "limit": 2,
            "in_flight": 2,
            "baseline_seconds": null,
            "calls": { "successful": 1, "failed": 1, "released": 1, "rejected": 1 }
        })
    );
    drop(held);
}
