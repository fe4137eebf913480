//! Shadow mode: a breaker that decides but does not enforce. What it would
//! reject runs anyway, unrecorded, and is counted as a would-be rejection; its
//! state follows the same path as an enforcing breaker's on the same calls.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use seawall::{CircuitBreaker, CircuitBreakerConfig, Policy, State};
use tower::{Service, ServiceExt};

fn config() -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        failure_threshold: 3,
        success_threshold: 1,
        timeout: Duration::from_secs(10),
        ..Default::default()
    }
}

fn pair() -> (CircuitBreaker, CircuitBreaker) {
    let enforcing = CircuitBreaker::new("enforcing", config());
    let shadow = CircuitBreaker::builder("shadow")
        .config(config())
        .shadow(true)
        .build()
        .unwrap();
    (enforcing, shadow)
}

#[tokio::test(start_paused = true)]
async fn a_shadow_breaker_lets_through_what_it_would_reject_and_counts_it() {
    let (enforcing, shadow) = pair();
    assert!(shadow.is_shadow() && !enforcing.is_shadow());
    let ran = AtomicU32::new(0);
    let failing = || async {
        ran.fetch_add(1, Ordering::Relaxed);
        Err::<(), _>("down")
    };
    // Ten failing calls through each: the enforcing breaker runs 3 and
    // rejects 7; the shadow one runs all 10 and would have rejected the same 7.
    for _ in 0..10 {
        let _ = enforcing.call(failing).await;
    }
    assert_eq!(ran.swap(0, Ordering::Relaxed), 3);
    for _ in 0..10 {
        let error = shadow.call(failing).await.unwrap_err();
        assert!(error.is_inner(), "the call ran and its own error came back");
    }
    assert_eq!(ran.load(Ordering::Relaxed), 10);
    assert_eq!(shadow.state(), State::Open);
    assert_eq!(enforcing.stats(), {
        let mut s = shadow.stats();
        s.state = enforcing.state();
        s
    });
    assert_eq!(shadow.stats().rejected, 7);
    assert_eq!(
        shadow.stats().failed,
        3,
        "calls it would have rejected are not recorded"
    );

    // The same recovery: after the open duration, a successful probe closes both.
    tokio::time::advance(Duration::from_secs(10)).await;
    enforcing
        .call(|| async { Ok::<_, &str>(()) })
        .await
        .unwrap();
    shadow.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
    assert_eq!(shadow.state(), State::Closed);
    assert_eq!(
        enforcing.stats().state_transitions,
        shadow.stats().state_transitions
    );
}

#[tokio::test(start_paused = true)]
async fn the_tower_layer_and_a_policy_do_not_enforce_a_shadow_breaker() {
    let (_, shadow) = pair();
    shadow.force_open();
    let mut service = tower::ServiceBuilder::new()
        .layer(seawall::CircuitBreakerLayer::new(shadow.clone()))
        .service_fn(|n: u32| async move { Ok::<_, std::io::Error>(n + 1) });
    let answer = service.ready().await.unwrap().call(41).await.unwrap();
    assert_eq!(answer, 42);

    let policy = Policy::builder()
        .circuit_breaker(shadow.clone())
        .build()
        .unwrap();
    let value = policy
        .execute(|| async { Ok::<_, std::io::Error>(7) })
        .await
        .unwrap();
    assert_eq!(value, 7);
    assert_eq!(shadow.stats().rejected, 2);
    assert_eq!(
        shadow.stats().successful,
        0,
        "what it would reject is not recorded"
    );
    // try_acquire still answers the decision.
    assert!(shadow.try_acquire().is_err());
}

#[tokio::test(start_paused = true)]
async fn a_shadow_rate_limiter_never_waits_nor_refuses_and_counts() {
    use seawall::{RateLimiter, RateLimiterConfig};
    let config = RateLimiterConfig {
        rate: 10,
        burst: 2,
        max_wait: Duration::from_millis(50),
        ..Default::default()
    };
    let enforcing = RateLimiter::new(config);
    let shadow = RateLimiter::new(config).shadow();
    assert!(shadow.is_shadow() && !enforcing.is_shadow());
    let start = tokio::time::Instant::now();
    let mut refused = 0;
    for _ in 0..6 {
        if enforcing.acquire().await.is_err() {
            refused += 1;
        }
        shadow.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
    }
    // The enforcing limiter refused 4 (a turn 100 ms away is beyond its 50 ms
    // patience); the shadow one let all through at once and counted them.
    assert_eq!(refused, 4);
    assert_eq!(shadow.shadow_refusals(), 4);
    assert_eq!(enforcing.shadow_refusals(), 0);
    assert_eq!(start.elapsed(), Duration::ZERO);
}
