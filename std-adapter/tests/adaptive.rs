//! The adaptive policies through the tokio adapter: the adaptive limiter
//! (direct calls, cancellation, the tower layer, the registry and health) and
//! the adaptive retry (quota, adaptive rate, attempt timeout).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use seawall::core::bulkhead::BulkheadFull;
use seawall::core::limit::{Aimd, Algorithm, LimitConfig};
use seawall::{
    AdaptiveLimiter, AdaptiveLimiterLayer, AdaptiveRate, AdaptiveRateConfig, Failure, GiveUp,
    PolicyKind, QuotaCosts, Registry, RetryPolicy, RetryQuota, RetryStrategy,
};
use tower::{ServiceBuilder, ServiceExt, service_fn};

fn aimd(initial: u32) -> AdaptiveLimiter {
    let config = LimitConfig::builder()
        .algorithm(Algorithm::Aimd(Aimd::DEFAULT))
        .initial_limit(initial)
        .min_samples(1)
        .build()
        .unwrap();
    AdaptiveLimiter::new(config)
}

#[tokio::test(start_paused = true)]
async fn the_limiter_counts_calls_and_refuses_at_the_limit() {
    let limiter = aimd(1);
    assert_eq!(limiter.call(|| async { Ok::<_, ()>(1) }).await, Ok(1));
    let error = limiter
        .call(|| async { Err::<(), _>("boom") })
        .await
        .unwrap_err();
    assert_eq!(error.into_inner(), Some("boom"));
    // A classifier that says nothing about load: the call is released.
    let ignore = |_: &Result<(), &str>| None;
    let _ = limiter
        .call_with(ignore, || async { Err("not found") })
        .await;
    let held = limiter.try_acquire().unwrap();
    let refused = limiter
        .call(|| async { Ok::<_, ()>(()) })
        .await
        .unwrap_err();
    assert!(refused.is_bulkhead_full());
    held.release();
    let stats = limiter.stats();
    assert_eq!(
        (
            stats.succeeded,
            stats.overloaded,
            stats.released,
            stats.rejected
        ),
        (1, 1, 2, 1)
    );
    assert_eq!(limiter.in_flight(), 0);
    assert!(format!("{limiter:?}").contains("aimd"));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_call_gives_its_place_back_and_teaches_nothing() {
    let limiter = aimd(1);
    let slow = limiter.call(|| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<_, ()>(())
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(10), slow)
            .await
            .is_err()
    );
    assert_eq!(limiter.in_flight(), 0);
    assert_eq!(limiter.stats().released, 1);
    assert_eq!(limiter.stats().succeeded + limiter.stats().overloaded, 0);
}

#[tokio::test(start_paused = true)]
async fn the_layer_refuses_with_bulkhead_full_and_learns_from_errors() {
    let limiter = aimd(1);
    let service = ServiceBuilder::new()
        .layer(AdaptiveLimiterLayer::new(limiter.clone()))
        .service(service_fn(|fail: bool| async move {
            if fail {
                Err::<(), _>(std::io::Error::other("unavailable"))
            } else {
                Ok(())
            }
        }));
    service.clone().oneshot(false).await.unwrap();
    service.clone().oneshot(true).await.unwrap_err();
    let held = limiter.try_acquire().unwrap();
    let error = service.oneshot(false).await.unwrap_err();
    assert_eq!(
        error.downcast_ref::<BulkheadFull>(),
        Some(&BulkheadFull { max_concurrent: 1 })
    );
    held.success();
    assert_eq!(
        (limiter.stats().succeeded, limiter.stats().overloaded),
        (2, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn the_registry_reports_the_limiter() {
    let registry = Registry::new();
    let limiter = aimd(3);
    registry
        .register_adaptive_limiter("search", &limiter)
        .unwrap();
    assert!(
        registry
            .register_adaptive_limiter("search", &limiter)
            .is_err()
    );
    assert_eq!(registry.names(PolicyKind::AdaptiveLimiter), ["search"]);
    let _held = limiter.try_acquire().unwrap();
    let health = registry.health();
    assert_eq!(health.limiters.len(), 1);
    let line = &health.limiters[0];
    assert_eq!((line.name.as_str(), line.algorithm), ("search", "aimd"));
    assert_eq!((line.limit, line.in_flight, line.baseline), (3, 1, None));
    assert_eq!(registry.adaptive_limiter("search").unwrap().in_flight(), 1);
    assert!(registry.unregister(PolicyKind::AdaptiveLimiter, "search"));
    assert!(registry.health().limiters.is_empty());
}

#[tokio::test(start_paused = true)]
async fn in_an_outage_the_quota_stops_the_retries() {
    let quota = Arc::new(RetryQuota::new(50, QuotaCosts::DEFAULT).unwrap());
    let policy = RetryPolicy {
        max_attempts: 3,
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_millis(10),
        },
        quota: Some(quota.clone()),
        ..Default::default()
    };
    let attempts = AtomicU32::new(0);
    let mut reasons = Vec::new();
    for _ in 0..5 {
        let error = policy
            .execute_with(
                |_: &&str| Failure::retryable(),
                || {
                    attempts.fetch_add(1, Ordering::Relaxed);
                    async { Err::<(), _>("down") }
                },
            )
            .await
            .unwrap_err();
        reasons.push(error.reason);
    }
    // 50 pays for three transient retries (14 each); then none.
    assert_eq!(attempts.load(Ordering::Relaxed), 5 + 3);
    assert_eq!(
        reasons,
        [
            GiveUp::AttemptsExhausted,
            GiveUp::BudgetEmpty,
            GiveUp::BudgetEmpty,
            GiveUp::BudgetEmpty,
            GiveUp::BudgetEmpty
        ]
    );
    assert_eq!(quota.available(), 8);
    // A success pays back: 1 for a first-attempt success.
    policy.execute(|| async { Ok::<_, ()>(()) }).await.unwrap();
    assert_eq!(quota.available(), 9);
    // A budget and a quota together do not validate.
    let both = RetryPolicy {
        budget: Some(Arc::new(seawall::RetryBudget::new(10, 0.1).unwrap())),
        ..policy
    };
    assert_eq!(both.validate().unwrap_err().field(), "quota");
}

#[tokio::test(start_paused = true)]
async fn throttling_errors_slow_the_adaptive_rate_down() {
    let rate = Arc::new(AdaptiveRate::new(AdaptiveRateConfig::DEFAULT).unwrap());
    let policy = RetryPolicy {
        max_attempts: 2,
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_millis(1),
        },
        adaptive_rate: Some(rate.clone()),
        ..Default::default()
    };
    // Unthrottled: every call goes at once.
    let start = tokio::time::Instant::now();
    for _ in 0..20 {
        policy.execute(|| async { Ok::<_, ()>(()) }).await.unwrap();
        tokio::time::advance(Duration::from_millis(50)).await;
    }
    assert!(!rate.is_enabled());
    // A throttled call: the rate turns on and paces the next attempts.
    let _ = policy
        .execute_with(
            |_: &&str| Failure::throttling(),
            || async { Err::<(), _>("slow down") },
        )
        .await;
    assert!(rate.is_enabled());
    assert_eq!(rate.throttled(), 2);
    let paced = tokio::time::Instant::now();
    for _ in 0..5 {
        policy.execute(|| async { Ok::<_, ()>(()) }).await.unwrap();
    }
    assert!(rate.delayed() > 0, "some attempts waited for their turn");
    assert!(paced.elapsed() > Duration::ZERO);
    assert!(start.elapsed() >= Duration::from_secs(1));
}
