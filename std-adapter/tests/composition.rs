//! The composition order: fallback(retry(breaker(rate limiter(bulkhead(timeout(call)))))).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::{
    Bulkhead, BulkheadConfig, CircuitBreaker, CircuitBreakerConfig, Error, FailureWhen, FallbackFn,
    Policy, RateLimiter, RateLimiterConfig, RejectReason, RetryPolicy, RetryStrategy, State,
};
use tokio::time::Instant;

fn breaker(failure_threshold: u32) -> CircuitBreaker {
    CircuitBreaker::new(
        "dependency",
        CircuitBreakerConfig {
            failure_threshold,
            success_threshold: 1,
            timeout: Duration::from_secs(5),
            ..Default::default()
        },
    )
}

fn fixed(max_attempts: u32, delay: Duration) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        strategy: RetryStrategy::Fixed { delay },
        ..Default::default()
    }
}

async fn hang() -> Result<(), &'static str> {
    std::future::pending().await
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_a_failure_for_the_breaker() {
    let cb = breaker(2);
    let policy = Policy::builder()
        .timeout(Duration::from_secs(1))
        .circuit_breaker(cb.clone())
        .build()
        .unwrap();
    for _ in 0..2 {
        assert!(policy.execute(hang).await.unwrap_err().is_timeout());
    }
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.stats().failed, 2);
}

#[tokio::test(start_paused = true)]
async fn the_timeout_limits_each_attempt() {
    let calls = AtomicU32::new(0);
    let policy = Policy::builder()
        .timeout(Duration::from_secs(1))
        .retry(fixed(3, Duration::from_secs(1)))
        .build()
        .unwrap();
    let start = Instant::now();
    let error = policy
        .execute(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            hang()
        })
        .await
        .unwrap_err();
    assert!(error.is_timeout());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // three attempts of 1 s, two delays of 1 s
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_full_bulkhead_says_nothing_about_the_dependency() {
    let cb = breaker(1);
    let bulkhead = Bulkhead::new(BulkheadConfig {
        max_concurrent: 1,
        ..Default::default()
    });
    let policy = Policy::builder()
        .circuit_breaker(cb.clone())
        .bulkhead(bulkhead.clone())
        .build()
        .unwrap();
    let _held = bulkhead.try_enter().unwrap();
    let error = policy
        .execute(|| async { Ok::<_, ()>(()) })
        .await
        .unwrap_err();
    assert!(error.is_bulkhead_full());
    assert_eq!(cb.state(), State::Closed);
    let stats = cb.stats();
    assert_eq!((stats.failed, stats.released), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn the_rate_limiter_is_inside_the_breaker() {
    let cb = breaker(1);
    let limiter = RateLimiter::new(RateLimiterConfig {
        rate: 1,
        burst: 1,
        ..Default::default()
    });
    let policy = Policy::builder()
        .circuit_breaker(cb.clone())
        .rate_limiter(limiter.clone())
        .build()
        .unwrap();
    // An open breaker spends no token.
    cb.force_open();
    assert!(
        policy
            .execute(|| async { Ok::<_, ()>(()) })
            .await
            .unwrap_err()
            .is_rejected()
    );
    cb.reset();
    policy.execute(|| async { Ok::<_, ()>(()) }).await.unwrap();
    // A refused call is not a failure of the dependency.
    let error = policy
        .execute(|| async { Ok::<_, ()>(()) })
        .await
        .unwrap_err();
    assert!(error.is_rate_limited());
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(cb.stats().failed, 0);
}

#[tokio::test(start_paused = true)]
async fn retries_ask_the_breaker_and_wait_for_it() {
    let cb = breaker(1);
    let policy = Policy::builder()
        .retry(RetryPolicy {
            max_attempts: 3,
            strategy: RetryStrategy::Exponential {
                initial_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(10),
                multiplier: 2.0,
            },
            ..Default::default()
        })
        .circuit_breaker(cb.clone())
        .build()
        .unwrap();
    let start = Instant::now();
    let times = Mutex::new(Vec::new());
    let result = policy
        .execute(|| {
            let mut times = times.lock().unwrap();
            times.push(start.elapsed());
            let first = times.len() == 1;
            async move { if first { Err("down") } else { Ok("up") } }
        })
        .await;
    assert_eq!(result, Ok("up"));
    // Attempt 1 fails at 0 s and opens the breaker for 5 s; attempt 2 (at 1 s)
    // is rejected with 4 s left, and the retry waits those 4 s; attempt 3 is
    // the probe, at 5 s.
    assert_eq!(
        *times.lock().unwrap(),
        [Duration::ZERO, Duration::from_secs(5)]
    );
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(cb.stats().rejected, 1);
}

#[tokio::test(start_paused = true)]
async fn what_the_classifier_calls_a_success_is_not_retried() {
    let cb = CircuitBreaker::builder("api")
        .classifier(FailureWhen(|status: &u16| *status >= 500))
        .build()
        .unwrap();
    let policy = Policy::builder()
        .retry(fixed(5, Duration::from_millis(10)))
        .circuit_breaker(cb)
        .build()
        .unwrap();
    let calls = AtomicU32::new(0);
    let error = policy
        .execute(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), u16>(404) }
        })
        .await
        .unwrap_err();
    assert_eq!(error, Error::Inner(404));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let error = policy
        .execute(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), u16>(503) }
        })
        .await
        .unwrap_err();
    assert_eq!(error, Error::Inner(503));
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

#[tokio::test(start_paused = true)]
async fn the_fallback_answers_the_final_error() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let policy = Policy::builder()
        .retry(fixed(2, Duration::from_millis(10)))
        .fallback(FallbackFn(move |error: Error<&'static str>| {
            log.lock().unwrap().push(error);
            async { Ok("fallback") }
        }))
        .build()
        .unwrap();
    let calls = AtomicU32::new(0);
    let result = policy
        .execute(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<&str, _>("down") }
        })
        .await;
    assert_eq!(result, Ok("fallback"));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "retried before the fallback"
    );
    assert_eq!(*seen.lock().unwrap(), [Error::Inner("down")]);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_retry_holds_no_bulkhead_place() {
    let bulkhead = Bulkhead::new(BulkheadConfig {
        max_concurrent: 1,
        ..Default::default()
    });
    let policy = Policy::builder()
        .retry(fixed(2, Duration::from_secs(10)))
        .bulkhead(bulkhead.clone())
        .build()
        .unwrap();
    let task = tokio::spawn(async move { policy.execute(|| async { Err::<(), _>("down") }).await });
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(bulkhead.in_flight(), 0, "sleeping between attempts");
    assert_eq!(task.await.unwrap(), Err(Error::Inner("down")));
}

/// Retrying a breaker forced open: the core's table says it is not worth
/// another attempt, in `RetryPolicy::execute` as in `Policy` and tower.
#[tokio::test(start_paused = true)]
async fn retry_execute_does_not_retry_a_breaker_forced_open() {
    let cb = breaker(3);
    cb.force_open();
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    let error = fixed(5, Duration::from_secs(1))
        .execute(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            cb.call(|| async { Ok::<_, std::io::Error>(()) })
        })
        .await
        .unwrap_err();
    assert_eq!(
        error.rejection().map(|r| r.reason()),
        Some(RejectReason::ForcedOpen)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);

    // Open (not forced): retried, no sooner than the breaker says.
    cb.reset();
    let open = breaker(1);
    let _ = open.call(|| async { Err::<(), _>("down") }).await;
    let start = Instant::now();
    let _ = fixed(2, Duration::from_millis(10))
        .execute(|| open.call(|| async { Ok::<_, &str>(()) }))
        .await;
    assert_eq!(open.stats().rejected, 2);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(10),
        "capped by the fixed delay"
    );
}

/// The tower stack in the guide's order: a breaker above a rate limiter and
/// a bulkhead does not count their refusals (they protect the caller).
#[tokio::test(start_paused = true)]
async fn tower_breaker_above_limiter_and_bulkhead_ignores_their_refusals() {
    use seawall::{BulkheadLayer, CircuitBreakerLayer, RateLimiterLayer};
    use tower::{ServiceBuilder, ServiceExt, service_fn};

    let cb = breaker(2);
    let limiter = RateLimiter::new(RateLimiterConfig {
        rate: 1,
        burst: 1,
        ..Default::default()
    });
    let bulkhead = Bulkhead::new(BulkheadConfig {
        max_concurrent: 1,
        ..Default::default()
    });
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(cb.clone()))
        .layer(RateLimiterLayer::new(limiter))
        .layer(BulkheadLayer::new(bulkhead.clone()))
        .service(service_fn(|()| async { Ok::<_, std::io::Error>(()) }));
    service.clone().oneshot(()).await.unwrap();
    for _ in 0..3 {
        assert!(service.clone().oneshot(()).await.is_err(), "rate limited");
    }
    tokio::time::advance(Duration::from_secs(1)).await;
    let held = bulkhead.try_enter().unwrap();
    for _ in 0..3 {
        assert!(service.clone().oneshot(()).await.is_err(), "bulkhead full");
    }
    drop(held);
    assert_eq!(cb.state(), State::Closed);
    let stats = cb.stats();
    assert_eq!((stats.successful, stats.failed, stats.released), (1, 0, 6));
}
