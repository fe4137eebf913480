//! The async circuit breaker: the classic behaviour, statistics, manual control,
//! classifiers, slow calls measured on tokio's clock, keyed breakers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::core::ManualClock;
use seawall::core::breaker::Outcome;
use seawall::{
    CircuitBreaker, CircuitBreakerConfig, Error, FailureWhen, KeyedCircuitBreaker, RejectReason,
    SlidingWindow, State, Transition,
};
use tokio::time::advance;

fn seed_config() -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        failure_threshold: 5,
        success_threshold: 2,
        timeout: Duration::from_secs(60),
        ..Default::default()
    }
}

async fn fail(cb: &CircuitBreaker) -> Result<(), Error<&'static str>> {
    cb.call(|| async { Err("down") }).await
}

async fn succeed(cb: &CircuitBreaker) -> Result<(), Error<&'static str>> {
    cb.call(|| async { Ok(()) }).await
}

#[tokio::test(start_paused = true)]
async fn test_circuit_breaker_closed_to_open() {
    let cb = CircuitBreaker::new("database", seed_config());
    for _ in 0..4 {
        assert_eq!(fail(&cb).await, Err(Error::Inner("down")));
    }
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(fail(&cb).await, Err(Error::Inner("down")));
    assert_eq!(cb.state(), State::Open);
    let called = std::cell::Cell::new(false);
    let rejected = cb
        .call(|| async {
            called.set(true);
            Ok::<_, ()>(())
        })
        .await
        .unwrap_err();
    assert!(!called.get(), "an open breaker must not call");
    let rejection = rejected.rejection().unwrap();
    assert_eq!(rejection.reason(), RejectReason::Open);
    assert_eq!(rejection.retry_after(), Some(Duration::from_secs(60)));
    advance(Duration::from_secs(15)).await;
    assert_eq!(
        succeed(&cb).await.unwrap_err().retry_after(),
        Some(Duration::from_secs(45))
    );
}

#[tokio::test(start_paused = true)]
async fn test_circuit_breaker_half_open_recovery() {
    let cb = CircuitBreaker::new("database", seed_config());
    for _ in 0..5 {
        let _ = fail(&cb).await;
    }
    advance(Duration::from_secs(59)).await;
    assert!(succeed(&cb).await.unwrap_err().is_rejected());
    advance(Duration::from_secs(1)).await;
    succeed(&cb).await.unwrap();
    assert_eq!(cb.state(), State::HalfOpen);
    succeed(&cb).await.unwrap();
    assert_eq!(cb.state(), State::Closed);

    // A failed probe reopens it for another full timeout.
    for _ in 0..5 {
        let _ = fail(&cb).await;
    }
    advance(Duration::from_secs(60)).await;
    assert_eq!(fail(&cb).await, Err(Error::Inner("down")));
    assert_eq!(cb.state(), State::Open);
    assert_eq!(
        succeed(&cb).await.unwrap_err().retry_after(),
        Some(Duration::from_secs(60))
    );
}

#[tokio::test(start_paused = true)]
async fn test_circuit_breaker_manual_control() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let cb = CircuitBreaker::builder("database")
        .config(seed_config())
        .on_transition(move |name, t| log.lock().unwrap().push((name.to_string(), t)))
        .build()
        .unwrap();
    cb.force_open();
    let error = succeed(&cb).await.unwrap_err();
    assert_eq!(
        error.rejection().unwrap().reason(),
        RejectReason::ForcedOpen
    );
    assert_eq!(error.retry_after(), None);
    cb.disable();
    for _ in 0..20 {
        let _ = fail(&cb).await;
    }
    assert_eq!(cb.state(), State::Disabled);
    cb.reset();
    assert_eq!(cb.state(), State::Closed);
    let transitions: Vec<Transition> = seen.lock().unwrap().iter().map(|(_, t)| *t).collect();
    assert_eq!(
        transitions,
        [
            Transition {
                from: State::Closed,
                to: State::ForcedOpen
            },
            Transition {
                from: State::ForcedOpen,
                to: State::Disabled
            },
            Transition {
                from: State::Disabled,
                to: State::Closed
            },
        ]
    );
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|(name, _)| name == "database")
    );
}

#[tokio::test(start_paused = true)]
async fn test_circuit_breaker_stats() {
    let cb = CircuitBreaker::new("database", seed_config());
    for _ in 0..3 {
        succeed(&cb).await.unwrap();
    }
    for _ in 0..5 {
        let _ = fail(&cb).await;
    }
    for _ in 0..2 {
        let _ = succeed(&cb).await;
    }
    let stats = cb.stats();
    assert_eq!((stats.successful, stats.failed, stats.rejected), (3, 5, 2));
    assert_eq!(stats.success_rate(), 3.0 / 8.0);
    assert_eq!(stats.rejection_rate(), 2.0 / 10.0);
    assert_eq!(stats.state_transitions, 1);
}

#[tokio::test(start_paused = true)]
async fn the_classifier_decides_what_counts() {
    let cb = CircuitBreaker::builder("api")
        .config(CircuitBreakerConfig {
            failure_threshold: 1,
            ..Default::default()
        })
        .classifier(FailureWhen(|status: &u16| *status >= 500))
        .build()
        .unwrap();
    for _ in 0..10 {
        let error = cb.call(|| async { Err::<(), u16>(404) }).await.unwrap_err();
        assert_eq!(error, Error::Inner(404));
    }
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(cb.stats().successful, 10);
    let _ = cb.call(|| async { Err::<(), u16>(503) }).await;
    assert_eq!(cb.state(), State::Open);

    // Ignored outcomes count as neither and free the probe slot.
    let ignoring = CircuitBreaker::builder("ignoring")
        .classifier(|_: &Result<(), ()>| None::<Outcome>)
        .build()
        .unwrap();
    let _ = ignoring.call(|| async { Err::<(), ()>(()) }).await;
    assert_eq!(ignoring.stats().released, 1);
    assert_eq!(ignoring.stats().failed, 0);
}

#[tokio::test(start_paused = true)]
async fn slow_calls_are_measured_on_tokio_time() {
    let cb = CircuitBreaker::new(
        "slow",
        CircuitBreakerConfig {
            window: Some(SlidingWindow::Count { size: 4 }),
            minimum_calls: 4,
            slow_call_duration: Duration::from_secs(1),
            slow_call_rate_threshold: 0.5,
            ..Default::default()
        },
    );
    let call = |secs: u64| {
        cb.call(move || async move {
            tokio::time::sleep(Duration::from_millis(secs)).await;
            Ok::<_, ()>(())
        })
    };
    call(1000).await.unwrap();
    call(10).await.unwrap();
    call(1001).await.unwrap();
    assert_eq!(cb.stats().slow, 1);
    assert_eq!(cb.state(), State::Closed);
    call(5000).await.unwrap();
    assert_eq!(cb.stats().slow, 2);
    assert_eq!(cb.state(), State::Open);
    let window = cb.window_totals();
    assert_eq!(
        (window.calls, window.slow),
        (4, 2),
        "the window keeps the calls that tripped it"
    );
}

#[tokio::test(start_paused = true)]
async fn the_open_duration_grows_on_repeated_trips() {
    let cb = CircuitBreaker::new(
        "growing",
        CircuitBreakerConfig {
            failure_threshold: 1,
            success_threshold: 1,
            timeout: Duration::from_secs(10),
            open_duration_multiplier: 2.0,
            max_open_duration: Some(Duration::from_secs(30)),
            ..Default::default()
        },
    );
    let _ = fail(&cb).await;
    for expected in [20, 30, 30] {
        let previous = succeed(&cb).await.unwrap_err().retry_after().unwrap();
        advance(previous).await;
        let _ = fail(&cb).await; // the probe fails
        let after = succeed(&cb).await.unwrap_err().retry_after();
        assert_eq!(after, Some(Duration::from_secs(expected)));
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_probe_is_given_up_after_max_wait_in_half_open() {
    let cb = CircuitBreaker::new(
        "hang",
        CircuitBreakerConfig {
            failure_threshold: 1,
            timeout: Duration::from_secs(10),
            max_wait_in_half_open: Some(Duration::from_secs(5)),
            ..Default::default()
        },
    );
    let _ = fail(&cb).await;
    advance(Duration::from_secs(10)).await;
    let probe = tokio::spawn({
        let cb = cb.clone();
        async move { cb.call(std::future::pending::<Result<(), ()>>).await }
    });
    tokio::task::yield_now().await;
    assert_eq!(cb.state(), State::HalfOpen);
    let full = succeed(&cb).await.unwrap_err();
    assert_eq!(
        full.rejection().unwrap().reason(),
        RejectReason::HalfOpenFull
    );
    advance(Duration::from_secs(5)).await;
    let reopened = succeed(&cb).await.unwrap_err();
    assert_eq!(reopened.rejection().unwrap().reason(), RejectReason::Open);
    assert_eq!(cb.state(), State::Open);
    probe.abort();
}

#[test]
fn a_manual_clock_drives_a_breaker_without_a_runtime() {
    let clock = Arc::new(ManualClock::new());
    let cb = CircuitBreaker::builder("manual")
        .config(CircuitBreakerConfig {
            failure_threshold: 1,
            timeout: Duration::from_secs(5),
            ..Default::default()
        })
        .clock(clock.clone())
        .build()
        .unwrap();
    cb.try_acquire().unwrap().failure();
    assert!(cb.try_acquire().is_err());
    clock.advance(Duration::from_secs(5));
    assert!(cb.try_acquire().unwrap().is_probe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_on_a_multi_thread_runtime_rejects_in_real_time() {
    // The real-time shortcut: rejections read the kernel's coarse clock. The
    // open duration is long enough that no scheduling delay matters.
    let cb = CircuitBreaker::new(
        "mt",
        CircuitBreakerConfig {
            failure_threshold: 1,
            timeout: Duration::from_secs(3600),
            ..Default::default()
        },
    );
    let _ = fail(&cb).await;
    let worker = tokio::spawn({
        let cb = cb.clone();
        async move { succeed(&cb).await }
    });
    let error = worker.await.unwrap().unwrap_err();
    let after = error.retry_after().unwrap();
    assert!(after <= Duration::from_secs(3600), "{after:?}");
    assert!(after > Duration::from_secs(3500), "{after:?}");
    assert!(format!("{cb:?}").contains("real_time: true"), "{cb:?}");
}

#[tokio::test(start_paused = true)]
async fn keyed_breakers_isolate_keys_and_bound_them() {
    let keyed = KeyedCircuitBreaker::new(
        "tenants",
        CircuitBreakerConfig {
            failure_threshold: 1,
            ..Default::default()
        },
        2,
    );
    let _ = keyed.call("a", || async { Err::<(), _>("down") }).await;
    assert_eq!(keyed.get(&"a").state(), State::Open);
    keyed.call("b", || async { Ok::<_, ()>(()) }).await.unwrap();
    assert_eq!(keyed.len(), 2);
    // A third key evicts the least recently used closed breaker ("b"), not
    // the open one ("a"), although "a" was used before "b".
    keyed.call("c", || async { Ok::<_, ()>(()) }).await.unwrap();
    assert_eq!(keyed.len(), 2);
    let mut states = keyed.states();
    states.sort();
    assert_eq!(states, [("a", State::Open), ("c", State::Closed)]);
    assert_eq!(keyed.get(&"a").name(), "tenants/a");
    assert!(keyed.remove(&"a").is_some());
    assert_eq!(keyed.get(&"a").state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn every_open_key_can_be_evicted_when_all_are_open() {
    let keyed = KeyedCircuitBreaker::new(
        "hosts",
        CircuitBreakerConfig {
            failure_threshold: 1,
            ..Default::default()
        },
        1,
    );
    let _ = keyed.call(1, || async { Err::<(), _>(()) }).await;
    let _ = keyed.call(2, || async { Err::<(), _>(()) }).await;
    assert_eq!(keyed.states(), [(2, State::Open)]);
}

/// A call that panics is a failure (like a lock a panic poisons), and the
/// panic goes on; it used to release the permit, counting as nothing.
#[tokio::test(start_paused = true)]
async fn a_panicking_call_counts_as_a_failure_and_the_panic_goes_on() {
    let cb = CircuitBreaker::new(
        "panics",
        CircuitBreakerConfig {
            failure_threshold: 1,
            ..Default::default()
        },
    );
    let spawned = cb.clone();
    let joined = tokio::spawn(async move {
        spawned
            .call(|| async {
                tokio::task::yield_now().await;
                panic!("the call panicked");
                #[allow(unreachable_code)]
                Ok::<(), &str>(())
            })
            .await
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    let stats = cb.stats();
    assert_eq!((stats.failed, stats.released), (1, 0));
    assert_eq!(cb.state(), State::Open);

    // The same through a tower service, whose permit is owned.
    use tower::{Layer, Service, ServiceExt};
    let cb = CircuitBreaker::new("tower", CircuitBreakerConfig::default());
    let mut service =
        seawall::CircuitBreakerLayer::new(cb.clone()).layer(tower::service_fn(|()| async {
            panic!("the service panicked");
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        }));
    let call = service.ready().await.unwrap().call(());
    assert!(tokio::spawn(call).await.unwrap_err().is_panic());
    assert_eq!((cb.stats().failed, cb.stats().released), (1, 0));

    // A call cancelled without a panic is still released.
    let slow = cb.call(std::future::pending::<Result<(), &str>>);
    assert!(
        tokio::time::timeout(Duration::from_secs(1), slow)
            .await
            .is_err()
    );
    assert_eq!((cb.stats().failed, cb.stats().released), (1, 1));
}

/// Transitions made by many threads reach the listener in the order the
/// breaker made them: each starts where the one before it ended, and none is
/// lost (before, about one in 5,000 arrived out of order).
#[test]
fn listeners_hear_transitions_in_order_across_threads() {
    let clock = Arc::new(ManualClock::new());
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&heard);
    let cb = CircuitBreaker::builder("contended")
        .config(CircuitBreakerConfig {
            failure_threshold: 1,
            success_threshold: 1,
            timeout: Duration::from_micros(1),
            half_open_max_calls: 4,
            ..Default::default()
        })
        .clock(clock.clone())
        .on_transition(move |_, transition| log.lock().unwrap().push(transition))
        .build()
        .unwrap();
    std::thread::scope(|threads| {
        for thread in 0..8u64 {
            let (cb, clock) = (cb.clone(), Arc::clone(&clock));
            threads.spawn(move || {
                for i in 0..5_000u64 {
                    if let Ok(permit) = cb.try_acquire() {
                        if (i * 7 + thread) % 3 == 0 {
                            permit.failure();
                        } else {
                            permit.success();
                        }
                    }
                    if i % 5 == 0 {
                        clock.advance(Duration::from_micros(1));
                    }
                }
            });
        }
    });
    let heard = heard.lock().unwrap();
    assert!(heard.len() > 500, "only {} transitions", heard.len());
    assert_eq!(heard.len() as u64, cb.stats().state_transitions);
    let mut state = State::Closed;
    for (i, transition) in heard.iter().enumerate() {
        assert_eq!(transition.from, state, "transition {i} of {}", heard.len());
        state = transition.to;
    }
    assert_eq!(state, cb.state());
}

/// A call future holds the user's future, the breaker's reference and the
/// permit's ticket (with the call's start when it is timed): at most 32 bytes
/// more than the user's future, whatever its size (a future aligned to less
/// than 8 bytes is padded to 8 first).
#[test]
fn a_call_future_adds_at_most_32_bytes_to_the_users_future() {
    async fn small(x: u64) -> Result<u64, std::io::Error> {
        Ok(x)
    }
    async fn large() -> Result<u64, std::io::Error> {
        let buffer = [7u8; 200];
        tokio::task::yield_now().await;
        Ok(u64::from(buffer[std::hint::black_box(3)]))
    }
    let cb = CircuitBreaker::new("size", CircuitBreakerConfig::default());
    let added = |user: usize, call: usize| call - user;
    assert!(added(size_of_val(&small(1)), size_of_val(&cb.call(|| small(1)))) <= 32);
    assert!(added(size_of_val(&large()), size_of_val(&cb.call(large))) <= 32);
}
