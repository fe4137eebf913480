//! The tokio hedge beyond the scenarios: the tower layer, cancellation of the
//! losers and of the whole call, a budget shared with retries in a brownout,
//! and the hedge inside a `Policy` with a breaker and a bulkhead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use seawall::core::hedge::HedgeDelay;
use seawall::{
    Bulkhead, BulkheadConfig, CircuitBreaker, CircuitBreakerConfig, Hedge, HedgeLayer, Policy,
    RetryBudget, RetryPolicy, RetryStrategy, with_timeout,
};
use tokio::time::{Instant, sleep};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Counts the attempt futures dropped before they finished.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicU32>);

struct Running(Drops, bool);

impl Drop for Running {
    fn drop(&mut self) {
        if !self.1 {
            (self.0).0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Drops {
    /// An attempt that takes `latency`, then answers `value`.
    fn attempt<T>(&self, latency: Duration, value: T) -> impl Future<Output = T> + use<T> {
        let mut running = Running(self.clone(), false);
        async move {
            sleep(latency).await;
            running.finish();
            value
        }
    }

    fn count(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Running {
    fn finish(&mut self) {
        self.1 = true;
    }
}

fn fixed(name: &str, max_attempts: u32, delay: Duration) -> Hedge {
    Hedge::builder(name)
        .max_attempts(max_attempts)
        .delay(HedgeDelay::fixed(delay))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_first_answer_wins_and_the_others_are_dropped() {
    let hedge = fixed("replicas", 3, MS(10));
    let drops = Drops::default();
    let latencies = [MS(500), MS(500), MS(5)];
    let sent = AtomicU32::new(0);
    let started = Instant::now();
    let answer = hedge
        .call(|| {
            let n = sent.fetch_add(1, Ordering::SeqCst) as usize;
            drops.attempt(latencies[n], Ok::<_, std::io::Error>(n + 1))
        })
        .await
        .unwrap();
    assert_eq!(answer, 3);
    assert_eq!(
        started.elapsed(),
        MS(25),
        "sent at 20 ms, answered 5 ms later"
    );
    assert_eq!(drops.count(), 2, "both slower attempts were dropped");
    let stats = hedge.stats();
    assert_eq!(
        (stats.calls, stats.hedges, stats.won, stats.cancelled),
        (1, 2, 1, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_drops_every_attempt() {
    let hedge = fixed("replicas", 3, MS(10));
    let drops = Drops::default();
    let result = with_timeout(MS(25), || {
        hedge.call(|| drops.attempt(Duration::from_secs(60), Ok::<(), std::io::Error>(())))
    })
    .await;
    assert!(result.is_err(), "the caller gave up first");
    assert_eq!(drops.count(), 3);
    assert_eq!(hedge.stats().cancelled, 3);
}

#[tokio::test(start_paused = true)]
async fn the_tower_layer_hedges_with_the_services_error_type() {
    let hedge = fixed("search", 2, MS(10));
    let drops = Drops::default();
    let calls = Arc::new(AtomicU32::new(0));
    let service = ServiceBuilder::new()
        .layer(HedgeLayer::new(hedge.clone()))
        .service(service_fn({
            let (drops, calls) = (drops.clone(), calls.clone());
            move |query: &'static str| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let latency = if n == 0 { MS(100) } else { MS(3) };
                drops.attempt(latency, Ok::<_, std::io::Error>(format!("{query}#{n}")))
            }
        }));
    assert_eq!(service.clone().oneshot("q").await.unwrap(), "q#1");
    assert_eq!(drops.count(), 1);
    // A fast answer: no hedge.
    let fast = ServiceBuilder::new()
        .layer(HedgeLayer::new(hedge.clone()))
        .service(service_fn(|_: ()| async {
            Err::<(), _>(std::io::Error::other("down"))
        }));
    // Errors are failures worth another attempt: both fail, the last error
    // is the service's own.
    let error = fast.oneshot(()).await.unwrap_err();
    assert_eq!(error.to_string(), "down");
    assert_eq!(hedge.stats().hedges, 2);
}

/// In a brownout every call is slower than the delay; a budget shared with
/// the retries keeps hedges near `token_ratio` of the calls.
#[tokio::test(start_paused = true)]
async fn a_shared_budget_holds_hedges_in_a_brownout() {
    let budget = Arc::new(RetryBudget::new(10, 0.1).unwrap());
    let hedge = Hedge::builder("brownout")
        .delay(HedgeDelay::fixed(MS(20)))
        .budget(Arc::clone(&budget))
        .build()
        .unwrap();
    let retry = RetryPolicy {
        budget: Some(Arc::clone(&budget)),
        ..Default::default()
    };
    let calls = 1_000;
    for _ in 0..calls {
        hedge.call(|| sleep(MS(200)).then_ok()).await.unwrap();
    }
    let stats = hedge.stats();
    // 5 tokens above half at the start, then one per ten successes.
    assert!(stats.hedges <= 5 + calls / 10 + 1, "{stats:?}");
    assert!(stats.hedges >= calls / 10 - 1, "{stats:?}");
    assert_eq!(stats.hedges + stats.refused, calls);
    // The retries draw on the same bucket, which the hedges left at half:
    // a failure now is not retried.
    let attempts = AtomicU32::new(0);
    let result = retry
        .execute(|| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(std::io::Error::other("down")) }
        })
        .await;
    assert!(result.is_err());
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}

trait ThenOk: Future<Output = ()> + Sized {
    async fn then_ok(self) -> Result<(), std::io::Error> {
        self.await;
        Ok(())
    }
}

impl<F: Future<Output = ()>> ThenOk for F {}

/// Inside a `Policy`, each hedged attempt passes the breaker and takes a
/// bulkhead place; the loser's permit is released unrecorded and its place
/// given back.
#[tokio::test(start_paused = true)]
async fn in_a_policy_each_hedged_attempt_passes_the_policies_below() {
    let breaker = CircuitBreaker::new("inventory", CircuitBreakerConfig::default());
    let bulkhead = Bulkhead::new(BulkheadConfig {
        max_concurrent: 2,
        ..Default::default()
    });
    let hedge = fixed("inventory", 3, MS(10));
    let policy = Policy::builder()
        .retry(RetryPolicy {
            max_attempts: 2,
            strategy: RetryStrategy::Fixed { delay: MS(1) },
            ..Default::default()
        })
        .hedge(&hedge)
        .circuit_breaker(breaker.clone())
        .bulkhead(bulkhead.clone())
        .build()
        .unwrap();
    let n = AtomicU32::new(0);
    let drops = Drops::default();
    let answer = policy
        .execute(|| {
            let attempt = n.fetch_add(1, Ordering::SeqCst);
            let latency = if attempt == 0 { MS(100) } else { MS(5) };
            drops.attempt(latency, Ok::<_, std::io::Error>(attempt))
        })
        .await
        .unwrap();
    assert_eq!(answer, 1, "the hedge answered");
    assert_eq!(drops.count(), 1);
    let stats = breaker.stats();
    assert_eq!((stats.successful, stats.released), (1, 1));
    assert_eq!(bulkhead.available(), 2, "every place is back");
    assert_eq!(policy.hedge().unwrap().stats().calls, 1);
}

#[tokio::test(start_paused = true)]
async fn in_a_policy_a_failed_hedged_group_is_retried() {
    let hedge = fixed("flaky", 2, MS(50));
    let policy = Policy::builder()
        .retry(RetryPolicy {
            max_attempts: 2,
            strategy: RetryStrategy::Fixed { delay: MS(10) },
            ..Default::default()
        })
        .hedge(&hedge)
        .build()
        .unwrap();
    let n = AtomicU32::new(0);
    let answer = policy
        .execute(|| {
            let attempt = n.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt < 2 {
                    Err(std::io::Error::other("refused"))
                } else {
                    Ok(attempt)
                }
            }
        })
        .await
        .unwrap();
    // Group 1: attempt 0 fails, the hedge (1) goes at once and fails too;
    // the retry waits 10 ms and its group's first attempt (2) answers.
    assert_eq!(answer, 2);
    assert_eq!(hedge.stats().calls, 2);
    assert_eq!(hedge.stats().hedges, 1);
}

/// A retry and a hedge sharing one budget in a `Policy`: a success pays it
/// back once.
#[tokio::test(start_paused = true)]
async fn a_shared_budget_is_paid_back_once_per_success() {
    let budget = Arc::new(RetryBudget::new(10, 0.5).unwrap());
    for _ in 0..4 {
        budget.record_failure(); // 6 tokens
    }
    let hedge = Hedge::builder("shared")
        .delay(HedgeDelay::fixed(MS(10)))
        .budget(Arc::clone(&budget))
        .build()
        .unwrap();
    let policy = Policy::builder()
        .retry(RetryPolicy {
            budget: Some(Arc::clone(&budget)),
            ..Default::default()
        })
        .hedge(&hedge)
        .build()
        .unwrap();
    policy
        .execute(|| async { Ok::<_, std::io::Error>(()) })
        .await
        .unwrap();
    assert_eq!(budget.tokens(), 6.5);
}
