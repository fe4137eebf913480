//! Retry, bulkhead, rate limiter and fallback, each on its own, on paused time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use seawall::core::backoff::Jitter;
use seawall::{
    Bulkhead, BulkheadConfig, Error, Failure, FallbackFn, FallbackValue, GiveUp, JitterSeed,
    RateLimiter, RateLimiterConfig, RetryBudget, RetryPolicy, RetryStrategy, with_fallback,
};
use tokio::time::Instant;

/// Runs `policy` on a call that always fails; returns the times of the
/// attempts (from the start) and the error.
async fn attempts_of(policy: &RetryPolicy) -> (Vec<Duration>, seawall::RetryError<&'static str>) {
    let start = Instant::now();
    let mut times = Vec::new();
    let error = policy
        .execute_with(
            |_| Failure::retryable(),
            || {
                times.push(start.elapsed());
                async { Err::<(), _>("down") }
            },
        )
        .await
        .unwrap_err();
    (times, error)
}

fn secs(list: &[u64]) -> Vec<Duration> {
    list.iter().copied().map(Duration::from_secs).collect()
}

#[tokio::test(start_paused = true)]
async fn test_retry_exponential_backoff() {
    let policy = RetryPolicy {
        max_attempts: 5,
        strategy: RetryStrategy::Exponential {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
        },
        ..Default::default()
    };
    let (times, error) = attempts_of(&policy).await;
    assert_eq!(times, secs(&[0, 1, 3, 7, 15]));
    assert_eq!(
        (error.attempts, error.reason),
        (5, GiveUp::AttemptsExhausted)
    );
}

#[tokio::test(start_paused = true)]
async fn test_retry_linear_backoff() {
    let policy = RetryPolicy {
        max_attempts: 4,
        strategy: RetryStrategy::Linear {
            initial_delay: Duration::from_secs(1),
            increment: Duration::from_secs(1),
            max_delay: Duration::from_secs(2),
        },
        ..Default::default()
    };
    let (times, _) = attempts_of(&policy).await;
    assert_eq!(times, secs(&[0, 1, 3, 5]));
}

#[tokio::test(start_paused = true)]
async fn test_retry_fixed_backoff() {
    let policy = RetryPolicy {
        max_attempts: 3,
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_secs(1),
        },
        ..Default::default()
    };
    let (times, _) = attempts_of(&policy).await;
    assert_eq!(times, secs(&[0, 1, 2]));
}

#[tokio::test(start_paused = true)]
async fn test_retry_max_attempts() {
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy {
        max_attempts: 3,
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_millis(1),
        },
        ..Default::default()
    };
    let result = policy
        .execute(|| {
            let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if attempt == 3 {
                    Ok(attempt)
                } else {
                    Err("flaky")
                }
            }
        })
        .await;
    assert_eq!(result, Ok(3));
    calls.store(0, Ordering::SeqCst);
    let once = RetryPolicy {
        max_attempts: 1,
        ..policy
    };
    assert_eq!(
        once.execute(|| async { Err::<(), _>("down") }).await,
        Err("down")
    );
}

#[tokio::test(start_paused = true)]
async fn a_deadline_stops_retries_that_would_start_after_it() {
    let policy = RetryPolicy {
        max_attempts: 10,
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_secs(2),
        },
        deadline: Some(Duration::from_secs(5)),
        ..Default::default()
    };
    let (times, error) = attempts_of(&policy).await;
    assert_eq!(times, secs(&[0, 2, 4]));
    assert_eq!(error.reason, GiveUp::DeadlineReached);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_hint_is_honoured_up_to_the_max_delay() {
    let policy = RetryPolicy {
        max_attempts: 3,
        strategy: RetryStrategy::Exponential {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            multiplier: 2.0,
        },
        ..Default::default()
    };
    let start = Instant::now();
    let mut times = Vec::new();
    let hints = [Duration::from_secs(4), Duration::from_secs(60)];
    let mut attempt = 0;
    let _ = policy
        .execute_with(
            |hint: &Duration| Failure::retryable().with_retry_after(*hint),
            || {
                times.push(start.elapsed());
                let hint = hints[attempt.min(1)];
                attempt += 1;
                async move { Err::<(), _>(hint) }
            },
        )
        .await;
    // 4 s (the hint, above the backoff's 1 s), then 10 s (60 s capped).
    assert_eq!(times, secs(&[0, 4, 14]));
}

#[tokio::test(start_paused = true)]
async fn a_budget_stops_retries_during_an_outage() {
    let budget = Arc::new(RetryBudget::new(4, 0.5).unwrap());
    let policy = RetryPolicy {
        max_attempts: 10,
        strategy: RetryStrategy::Fixed {
            delay: Duration::from_millis(1),
        },
        budget: Some(Arc::clone(&budget)),
        ..Default::default()
    };
    let (times, error) = attempts_of(&policy).await;
    // 4 tokens; retries only while more than 2 remain: 3, 2 -> two retries.
    assert_eq!(times.len(), 2);
    assert_eq!(error.reason, GiveUp::BudgetEmpty);
    let (times, _) = attempts_of(&policy).await;
    assert_eq!(times.len(), 1, "the budget is still spent");
}

#[tokio::test(start_paused = true)]
async fn a_seed_fixes_the_jittered_delays() {
    let policy = || RetryPolicy {
        max_attempts: 6,
        jitter: Jitter::Full,
        seed: JitterSeed::new(42),
        ..Default::default()
    };
    let (first, _) = attempts_of(&policy()).await;
    let (second, _) = attempts_of(&policy()).await;
    assert_eq!(first, second);
    // One policy's calls share its generator: the second call goes on drawing.
    let shared = policy();
    let (once, _) = attempts_of(&shared).await;
    let (twice, _) = attempts_of(&shared).await;
    assert_eq!(once, first);
    assert_ne!(twice, first);
    let unjittered = secs(&[0, 1, 3, 7, 15, 31]);
    assert_ne!(first, unjittered);
    for (jittered, full) in first.windows(2).zip(unjittered.windows(2)) {
        assert!(jittered[1] - jittered[0] <= full[1] - full[0]);
    }
}

#[tokio::test(start_paused = true)]
async fn a_bulkhead_queues_up_to_max_wait() {
    let bulkhead = Bulkhead::new(BulkheadConfig {
        max_concurrent: 2,
        max_wait: Duration::from_secs(1),
        max_queued: 10,
    });
    let running: Vec<_> = (0..2)
        .map(|_| {
            let bulkhead = bulkhead.clone();
            tokio::spawn(async move {
                bulkhead
                    .call(|| async {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        Ok::<_, ()>("first")
                    })
                    .await
            })
        })
        .collect();
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.in_flight(), 2);
    let start = Instant::now();
    // Waits 500 ms for a place, then runs.
    let waited = bulkhead.call(|| async { Ok::<_, ()>("waited") }).await;
    assert_eq!(waited, Ok("waited"));
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    for task in running {
        assert_eq!(task.await.unwrap(), Ok("first"));
    }

    // Places held longer than max_wait: refused after waiting max_wait.
    let _a = bulkhead.try_enter().unwrap();
    let _b = bulkhead.try_enter().unwrap();
    let start = Instant::now();
    let refused = bulkhead
        .call(|| async { Ok::<_, ()>(()) })
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::BulkheadFull(full) if full.max_concurrent == 2));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_rate_limiter_waits_or_refuses() {
    let rejecting = RateLimiter::new(RateLimiterConfig {
        rate: 2,
        period: Duration::from_secs(1),
        burst: 2,
        max_wait: Duration::ZERO,
    });
    for _ in 0..2 {
        rejecting.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
    }
    let refused = rejecting
        .call(|| async { Ok::<_, ()>(()) })
        .await
        .unwrap_err();
    assert!(refused.is_rate_limited());
    assert_eq!(refused.retry_after(), Some(Duration::from_millis(500)));

    let waiting = RateLimiter::new(RateLimiterConfig {
        max_wait: Duration::from_secs(1),
        ..rejecting.config()
    });
    let start = Instant::now();
    let mut times = Vec::new();
    for _ in 0..4 {
        waiting.acquire().await.unwrap();
        times.push(start.elapsed());
    }
    assert_eq!(times, [0, 0, 500, 1000].map(Duration::from_millis).to_vec());
    // Would have to wait 1 s, more than its 500 ms: refused at once.
    let impatient = RateLimiter::new(RateLimiterConfig {
        rate: 1,
        period: Duration::from_secs(1),
        burst: 1,
        max_wait: Duration::from_millis(500),
    });
    impatient.acquire().await.unwrap();
    let before = Instant::now();
    let refused = impatient.acquire().await.unwrap_err();
    assert_eq!(refused.retry_after(), Duration::from_secs(1));
    assert_eq!(before.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn fallbacks_answer_errors_only() {
    let value = with_fallback(FallbackValue(7), || async {
        Err::<u32, _>(Error::Inner(()))
    })
    .await;
    assert_eq!(value, Ok(7));
    let untouched = with_fallback(FallbackValue(7), || async { Ok::<u32, Error<()>>(1) }).await;
    assert_eq!(untouched, Ok(1));
    let selective = FallbackFn(|error: Error<u16>| async move {
        match error {
            Error::Inner(503) => Ok("degraded"),
            other => Err(other),
        }
    });
    assert_eq!(
        with_fallback(&selective, || async { Err(Error::Inner(503)) }).await,
        Ok("degraded")
    );
    assert_eq!(
        with_fallback(&selective, || async { Err(Error::Inner(400)) }).await,
        Err(Error::Inner(400))
    );
}

/// "Wait forever" saturates instead of overflowing: a full bulkhead with a
/// `max_wait` of `Duration::MAX` waits (ten years of paused time here) and
/// is admitted when a place frees; a rate limiter waits as long as it takes.
#[tokio::test(start_paused = true)]
async fn waiting_forever_saturates_instead_of_overflowing() {
    let bulkhead = Bulkhead::new(BulkheadConfig {
        max_concurrent: 1,
        max_wait: Duration::MAX,
        ..Default::default()
    });
    let held = bulkhead.try_enter().unwrap();
    let waiter = tokio::spawn({
        let bulkhead = bulkhead.clone();
        async move { bulkhead.enter().await.map(drop) }
    });
    tokio::time::sleep(Duration::from_secs(10 * 365 * 86_400)).await;
    assert_eq!(bulkhead.queued(), 1);
    drop(held);
    assert!(waiter.await.unwrap().is_ok());

    let limiter = RateLimiter::new(RateLimiterConfig {
        rate: 1,
        period: Duration::from_secs(86_400),
        burst: 1,
        max_wait: Duration::MAX,
    });
    limiter.acquire().await.unwrap();
    let start = Instant::now();
    limiter.acquire().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(86_400));
}
