//! Cancellation safety: a call future dropped at any await point gives back
//! its half-open probe slot, its bulkhead place and its queue position.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use seawall::{
    Bulkhead, BulkheadConfig, CircuitBreaker, CircuitBreakerConfig, CircuitBreakerLayer, Policy,
    RateLimiter, RateLimiterConfig, RetryPolicy, RetryStrategy, State,
};
use tokio::time::advance;
use tower::{Layer, Service, ServiceExt, service_fn};

/// Polls `future` once; it must still be pending.
async fn poll_pending<F: Future>(future: std::pin::Pin<&mut F>) {
    let mut future = future;
    std::future::poll_fn(|cx| {
        assert!(future.as_mut().poll(cx).is_pending(), "expected pending");
        Poll::Ready(())
    })
    .await;
}

/// A breaker that is half-open with its only probe slot free.
async fn half_open() -> CircuitBreaker {
    let cb = CircuitBreaker::new(
        "probe",
        CircuitBreakerConfig {
            failure_threshold: 1,
            success_threshold: 1,
            timeout: Duration::from_secs(1),
            ..Default::default()
        },
    );
    let _ = cb.call(|| async { Err::<(), _>(()) }).await;
    advance(Duration::from_secs(1)).await;
    cb
}

async fn probe_slot_is_free(cb: &CircuitBreaker) {
    cb.call(|| async { Ok::<_, ()>(()) })
        .await
        .expect("the probe slot is free again");
    assert_eq!(cb.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_probe_dropped_in_flight_frees_its_slot() {
    let cb = half_open().await;
    {
        let mut call = pin!(cb.call(std::future::pending::<Result<(), ()>>));
        poll_pending(call.as_mut()).await;
        assert_eq!(cb.state(), State::HalfOpen);
        assert!(
            cb.call(|| async { Ok::<_, ()>(()) })
                .await
                .unwrap_err()
                .is_rejected()
        );
    }
    assert_eq!(cb.stats().released, 1);
    probe_slot_is_free(&cb).await;
}

#[tokio::test(start_paused = true)]
async fn a_probe_cancelled_by_a_timeout_frees_its_slot() {
    let cb = half_open().await;
    let timed_out = seawall::with_timeout(Duration::from_secs(5), || {
        cb.call(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, ()>(())
        })
    })
    .await;
    assert!(timed_out.is_err());
    probe_slot_is_free(&cb).await;
}

#[tokio::test(start_paused = true)]
async fn a_probe_losing_a_select_frees_its_slot() {
    let cb = half_open().await;
    tokio::select! {
        _ = cb.call(std::future::pending::<Result<(), ()>>) => unreachable!(),
        _ = tokio::time::sleep(Duration::from_millis(1)) => {}
    }
    probe_slot_is_free(&cb).await;
}

#[tokio::test(start_paused = true)]
async fn an_aborted_task_frees_its_slot() {
    let cb = half_open().await;
    let task = tokio::spawn({
        let cb = cb.clone();
        async move { cb.call(std::future::pending::<Result<(), ()>>).await }
    });
    tokio::task::yield_now().await;
    assert!(
        cb.call(|| async { Ok::<_, ()>(()) })
            .await
            .unwrap_err()
            .is_rejected()
    );
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    probe_slot_is_free(&cb).await;
}

#[tokio::test(start_paused = true)]
async fn a_dropped_tower_response_future_frees_its_slot() {
    let cb = half_open().await;
    let mut service = CircuitBreakerLayer::new(cb.clone()).layer(service_fn(|_: ()| async {
        std::future::pending::<()>().await;
        Ok::<(), std::io::Error>(())
    }));
    {
        let mut response = pin!(service.ready().await.unwrap().call(()));
        poll_pending(response.as_mut()).await;
        assert_eq!(cb.state(), State::HalfOpen);
    }
    probe_slot_is_free(&cb).await;
}

#[tokio::test(start_paused = true)]
async fn a_dropped_owned_permit_frees_its_slot() {
    let cb = half_open().await;
    let permit = cb.try_acquire_owned().unwrap();
    assert!(permit.is_probe());
    assert!(cb.try_acquire_owned().is_err());
    drop(permit);
    probe_slot_is_free(&cb).await;
}

#[tokio::test(start_paused = true)]
async fn a_bulkhead_call_dropped_in_flight_or_in_the_queue_gives_everything_back() {
    let bulkhead = Bulkhead::new(BulkheadConfig {
        max_concurrent: 1,
        max_wait: Duration::from_secs(60),
        max_queued: 1,
    });
    {
        let mut running = pin!(bulkhead.call(std::future::pending::<Result<(), ()>>));
        poll_pending(running.as_mut()).await;
        assert_eq!(bulkhead.in_flight(), 1);
        {
            let mut waiting = pin!(bulkhead.call(|| async { Ok::<_, ()>(()) }));
            poll_pending(waiting.as_mut()).await;
            assert_eq!(bulkhead.queued(), 1);
            // The queue is full: a third caller is refused at once.
            assert!(
                bulkhead
                    .call(|| async { Ok::<_, ()>(()) })
                    .await
                    .unwrap_err()
                    .is_bulkhead_full()
            );
        }
        assert_eq!(bulkhead.queued(), 0, "the dropped waiter left the queue");
    }
    assert_eq!(
        bulkhead.in_flight(),
        0,
        "the dropped call gave its place back"
    );
    bulkhead.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_waiter_woken_then_dropped_passes_the_place_on() {
    let bulkhead = Bulkhead::new(BulkheadConfig {
        max_concurrent: 1,
        max_wait: Duration::from_secs(60),
        ..Default::default()
    });
    let held = bulkhead.try_enter().unwrap();
    let mut first = Box::pin(bulkhead.enter());
    poll_pending(first.as_mut()).await;
    let second = tokio::spawn({
        let bulkhead = bulkhead.clone();
        async move { bulkhead.enter().await.map(drop) }
    });
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.queued(), 2);
    let before = tokio::time::Instant::now();
    drop(held); // wakes `first`, the older waiter, which is never polled again
    drop(first);
    assert_eq!(second.await.unwrap(), Ok(()));
    // Paused time: had the wake-up been lost, `second` would only have got the
    // place after its 60 s wait ran out.
    assert_eq!(tokio::time::Instant::now(), before);
}

#[tokio::test(start_paused = true)]
async fn a_rate_limited_wait_dropped_reserves_nothing() {
    let limiter = RateLimiter::new(RateLimiterConfig {
        rate: 1,
        burst: 1,
        max_wait: Duration::from_secs(10),
        ..Default::default()
    });
    limiter.acquire().await.unwrap();
    {
        let mut waiting = pin!(limiter.acquire());
        poll_pending(waiting.as_mut()).await;
    }
    advance(Duration::from_secs(1)).await;
    limiter.check().expect("the dropped waiter took no turn");
}

/// A policy dropped at each of its await points (rate limiter, bulkhead, the
/// call, the retry's sleep) leaves no probe slot or place taken.
#[tokio::test(start_paused = true)]
async fn a_policy_dropped_at_any_await_point_gives_everything_back() {
    for point in ["rate_limiter", "bulkhead", "call", "retry_sleep"] {
        let cb = half_open().await;
        let bulkhead = Bulkhead::new(BulkheadConfig {
            max_concurrent: 1,
            max_wait: Duration::from_secs(60),
            ..Default::default()
        });
        let limiter = RateLimiter::new(RateLimiterConfig {
            rate: 1,
            burst: 1,
            max_wait: Duration::from_secs(60),
            ..Default::default()
        });
        let policy = Policy::builder()
            .circuit_breaker(cb.clone())
            .bulkhead(bulkhead.clone())
            .rate_limiter(limiter.clone())
            .retry(RetryPolicy {
                strategy: RetryStrategy::Fixed {
                    delay: Duration::from_secs(30),
                },
                ..Default::default()
            })
            .build()
            .unwrap();
        let held_place = match point {
            "rate_limiter" => {
                limiter.acquire().await.unwrap();
                None
            }
            "bulkhead" => Some(bulkhead.try_enter().unwrap()),
            _ => None,
        };
        {
            let mut call = pin!(policy.execute(|| async {
                if point == "retry_sleep" {
                    Err("fails, then the retry sleeps")
                } else {
                    std::future::pending::<Result<(), &str>>().await
                }
            }));
            poll_pending(call.as_mut()).await;
            match point {
                "rate_limiter" | "bulkhead" | "call" => {
                    assert_eq!(cb.state(), State::HalfOpen, "{point}")
                }
                _ => assert_eq!(cb.state(), State::Open, "{point}: the probe failed"),
            }
            if point == "bulkhead" {
                assert_eq!(bulkhead.queued(), 1);
            }
            if point == "call" {
                assert_eq!(bulkhead.in_flight(), 1);
            }
        }
        drop(held_place);
        assert_eq!(bulkhead.in_flight(), 0, "{point}");
        assert_eq!(bulkhead.queued(), 0, "{point}");
        if point != "retry_sleep" {
            assert_eq!(cb.stats().released, 1, "{point}");
            advance(Duration::from_secs(1)).await; // the limiter's next turn
            probe_slot_is_free(&cb).await;
        }
    }
}
