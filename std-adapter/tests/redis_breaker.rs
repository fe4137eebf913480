//! The shared breaker against a real redis-server, with several breakers (each
//! with its own connection, as in separate processes) in one test process.

mod redis_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::core::breaker::RejectReason;
use seawall::core::{Instant, ManualClock};
use seawall::redis::{RedisStore, SharedCircuitBreaker, SharedConfig, StoreError};
use seawall::{CircuitBreakerConfig, SlidingWindow, State, Transition};

use redis_support::{RedisServer, eventually, eventually_some, fast, store};

const BOUND: Duration = Duration::from_secs(10);

fn config(failure_threshold: u32) -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        failure_threshold,
        timeout: Duration::from_secs(60),
        ..Default::default()
    }
}

/// `n` breakers named `name`, each on its own connection.
fn fleet(
    server: &RedisServer,
    shared: &SharedConfig,
    name: &str,
    config: &CircuitBreakerConfig,
    n: usize,
) -> Vec<SharedCircuitBreaker> {
    (0..n)
        .map(|_| {
            store(&server.url(), shared.clone())
                .breaker(name, config.clone())
                .unwrap()
        })
        .collect()
}

async fn fail(cb: &SharedCircuitBreaker) {
    let result = cb.call(|| async { Err::<(), _>("down") }).await;
    assert!(result.unwrap_err().is_inner());
}

async fn succeed(cb: &SharedCircuitBreaker) {
    cb.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakers_on_one_name_open_together_when_the_fleets_failures_cross_the_threshold() {
    let server = RedisServer::start();
    let breakers = fleet(&server, &fast(), "payments", &config(6), 3);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let bystander = store(&server.url(), fast())
        .breaker_builder("payments")
        .config(config(6))
        .on_transition(move |name, t| log.lock().unwrap().push((name.to_owned(), t)))
        .build()
        .unwrap();

    // Two failures each: none of them alone is near the threshold.
    for cb in &breakers[..2] {
        fail(cb).await;
        fail(cb).await;
        let shared = cb.sync().await.unwrap();
        assert_eq!(shared.state, State::Closed);
    }
    assert_eq!(breakers[1].sync().await.unwrap().consecutive_failures, 4);
    fail(&breakers[2]).await;
    fail(&breakers[2]).await;

    // Reported by the sync task (no explicit sync): all open, the bystander too.
    eventually("every breaker sees Open", BOUND, || async {
        breakers.iter().all(|cb| cb.state() == State::Open) && bystander.state() == State::Open
    })
    .await;
    let shared = bystander.shared_state().await.unwrap();
    assert_eq!((shared.state, shared.trips), (State::Open, 1));
    assert!(shared.open_remaining <= Duration::from_secs(60));

    let called = AtomicUsize::new(0);
    for cb in breakers.iter().chain([&bystander]) {
        let error = cb
            .call(|| async {
                called.fetch_add(1, Ordering::Relaxed);
                Ok::<_, &str>(())
            })
            .await
            .unwrap_err();
        let rejection = *error.rejection().unwrap();
        assert_eq!(rejection.reason(), RejectReason::Open);
        let after = rejection.retry_after().unwrap();
        assert!(
            after > Duration::from_secs(50) && after <= Duration::from_secs(60),
            "{after:?}"
        );
    }
    assert_eq!(called.load(Ordering::Relaxed), 0);
    assert_eq!(
        *seen.lock().unwrap(),
        [(
            "payments".to_owned(),
            Transition {
                from: State::Closed,
                to: State::Open
            }
        )]
    );
    assert_eq!(bystander.stats().rejected, 1);
    assert_eq!(breakers[0].stats().failed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_anywhere_ends_the_fleets_run_of_failures() {
    let server = RedisServer::start();
    let cbs = fleet(&server, &fast(), "search", &config(3), 2);
    fail(&cbs[0]).await;
    fail(&cbs[0]).await;
    assert_eq!(cbs[0].sync().await.unwrap().consecutive_failures, 2);
    // The other process learns that the fleet counts failures, then succeeds.
    cbs[1].sync().await.unwrap();
    succeed(&cbs[1]).await;
    assert_eq!(cbs[1].sync().await.unwrap().consecutive_failures, 0);
    // So two more failures do not open it; a third does.
    fail(&cbs[0]).await;
    fail(&cbs[1]).await;
    assert_eq!(cbs[1].sync().await.unwrap().state, State::Closed);
    assert_eq!(cbs[0].sync().await.unwrap().consecutive_failures, 2);
    fail(&cbs[0]).await;
    assert_eq!(cbs[0].sync().await.unwrap().state, State::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_from_an_earlier_round_are_ignored() {
    let server = RedisServer::start();
    let cbs = fleet(&server, &fast(), "ledger", &config(1), 2);
    cbs[0].sync().await.unwrap();
    let old = cbs[0].try_acquire().await.unwrap();
    // The fleet opens and closes again meanwhile.
    cbs[1].force_open().await.unwrap();
    cbs[1].reset().await.unwrap();
    // One failure would trip this breaker (threshold 1), but it is stale.
    assert_eq!(old.failure().await, None);
    let shared = cbs[0].sync().await.unwrap();
    assert_eq!(
        (shared.state, shared.consecutive_failures),
        (State::Closed, 0)
    );
    // A failure of the current round does trip it.
    fail(&cbs[0]).await;
    assert_eq!(cbs[0].sync().await.unwrap().state, State::Open);
}

/// Trips `name` (threshold 1) and waits until its open duration is over and
/// `cb` holds a probe.
async fn first_probe(
    cb: &SharedCircuitBreaker,
) -> seawall::redis::SharedPermit<seawall::ErrorsAreFailures> {
    fail(cb).await;
    assert_eq!(cb.sync().await.unwrap().state, State::Open);
    let probe = eventually_some("the open duration ends", BOUND, || async {
        match cb.try_acquire().await {
            Ok(permit) => Some(permit),
            Err(rejection) => {
                assert_eq!(rejection.reason(), RejectReason::Open);
                None
            }
        }
    })
    .await;
    assert!(probe.is_probe());
    probe
}

fn probing(half_open_max_calls: u32, success_threshold: u32) -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        failure_threshold: 1,
        success_threshold,
        half_open_max_calls,
        timeout: Duration::from_millis(50),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_admits_exactly_the_limit_across_the_fleet() {
    let server = RedisServer::start();
    let cbs = fleet(&server, &fast(), "inventory", &probing(3, 3), 8);
    let first = first_probe(&cbs[0]).await;

    // Every breaker asks, several times, at once.
    let tasks: Vec<_> = cbs
        .iter()
        .cloned()
        .map(|cb| {
            tokio::spawn(async move {
                let mut held = Vec::new();
                let mut full = 0;
                for _ in 0..3 {
                    // A process that last read the state just before the open
                    // duration ended may say Open for a moment more.
                    let answer = eventually_some("past Open", BOUND, || async {
                        match cb.try_acquire().await {
                            Err(rejection) if rejection.reason() == RejectReason::Open => None,
                            answer => Some(answer),
                        }
                    })
                    .await;
                    match answer {
                        Ok(permit) => held.push(permit),
                        Err(rejection) => {
                            assert_eq!(rejection.reason(), RejectReason::HalfOpenFull);
                            full += 1;
                        }
                    }
                }
                (held, full)
            })
        })
        .collect();
    let mut probes = vec![first];
    let mut full = 0;
    for task in tasks {
        let (held, rejected) = task.await.unwrap();
        assert!(held.iter().all(|p| p.is_probe()));
        probes.extend(held);
        full += rejected;
    }
    assert_eq!(probes.len(), 3);
    assert_eq!(full, 8 * 3 - 2);
    let shared = cbs[3].shared_state().await.unwrap();
    assert_eq!(
        (shared.state, shared.probes_in_flight),
        (State::HalfOpen, 3)
    );

    // Three successful probes close it for everyone.
    for probe in probes {
        probe.success().await;
    }
    eventually("every breaker sees Closed", BOUND, || async {
        cbs.iter().all(|cb| cb.state() == State::Closed)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_that_never_answers_frees_its_slot_when_its_lease_expires() {
    let server = RedisServer::start();
    let lease = Duration::from_secs(30);
    let shared = SharedConfig {
        probe_lease: lease,
        ..fast()
    };
    let cbs = fleet(&server, &shared, "mail", &probing(1, 1), 2);
    let key = "{test:breaker:mail}";
    let before = server.time_micros();
    let probe = first_probe(&cbs[0]).await;
    let after = server.time_micros();
    // Its holder vanishes without releasing it (a process that died).
    std::mem::forget(probe);

    // The slot is held for the lease from when it was granted, on the
    // fleet's clock: Redis's, as this process reckons it from its last reply
    // (within a round trip, which took place between `before` and `after`).
    let leases = server.hget(key, "leases").unwrap();
    let (token, expiry) = leases.split_once(' ').unwrap();
    let expiry: u64 = expiry.parse().unwrap();
    let (lease_micros, round_trip) = (lease.as_micros() as u64, after - before);
    assert!(
        before + lease_micros - round_trip <= expiry && expiry <= after + lease_micros + round_trip,
        "{before} {expiry} {after}"
    );
    // Read first: a view from before the probe may say Open a moment more
    // (its reckoning of Redis's clock lags by up to a round trip).
    cbs[1].sync().await.unwrap();
    let rejection = cbs[1].try_acquire().await.unwrap_err();
    assert_eq!(rejection.reason(), RejectReason::HalfOpenFull);

    // Redis's clock passes the expiry (the lease is moved into the past
    // rather than waited for): the slot is free for another process.
    let lapsed = format!("{token} {}", server.time_micros() - 1);
    server.hset(key, "leases", &lapsed);
    cbs[1].sync().await.unwrap();
    let probe = cbs[1].try_acquire().await.unwrap();
    assert!(probe.is_probe());
    assert_eq!(
        probe.success().await,
        Some(Transition {
            from: State::HalfOpen,
            to: State::Closed
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_probe_frees_its_slot_at_once() {
    let server = RedisServer::start();
    let cbs = fleet(&server, &fast(), "cancel", &probing(1, 1), 2);
    let probe = first_probe(&cbs[0]).await;
    // Read first: a view from before the probe may say Open a moment more.
    cbs[1].sync().await.unwrap();
    assert_eq!(
        cbs[1].try_acquire().await.unwrap_err().reason(),
        RejectReason::HalfOpenFull
    );
    drop(probe);
    // Released in the background, long before the 30 s lease.
    eventually("the slot is free", BOUND, || async {
        cbs[1].shared_state().await.unwrap().probes_in_flight == 0
    })
    .await;
    assert!(cbs[1].try_acquire().await.unwrap().is_probe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skewed_local_clocks_do_not_matter() {
    let server = RedisServer::start();
    // Long enough that the rejections below come before its end on a loaded
    // machine.
    let open = Duration::from_secs(1);
    let config = CircuitBreakerConfig {
        failure_threshold: 1,
        success_threshold: 3,
        half_open_max_calls: 3,
        timeout: open,
        ..Default::default()
    };
    // Frozen clocks, days apart, and one that will jump back an hour.
    let clocks = [
        Arc::new(ManualClock::starting_at(Instant::from_secs(10))),
        Arc::new(ManualClock::starting_at(Instant::from_secs(9_000_000))),
        Arc::new(ManualClock::starting_at(Instant::from_secs(500_000))),
    ];
    let cbs: Vec<_> = clocks
        .iter()
        .map(|clock| {
            store(&server.url(), fast())
                .breaker_builder("skewed")
                .config(config.clone())
                .clock(clock.clone())
                .build()
                .unwrap()
        })
        .collect();
    let start = server.time_micros();
    fail(&cbs[1]).await;
    eventually("every breaker sees Open", BOUND, || async {
        cbs.iter().all(|cb| cb.state() == State::Open)
    })
    .await;
    clocks[2].set(Instant::from_secs(500_000 - 3600));
    for cb in &cbs {
        let rejection = cb.try_acquire().await.unwrap_err();
        let after = rejection.retry_after().unwrap();
        assert!(after <= open, "{after:?}");
    }
    // No local clock moves, yet each breaker gets its probe when Redis's
    // open duration is over, and not before.
    let mut probes = Vec::new();
    for cb in &cbs {
        let probe = eventually_some("a probe after the open duration", BOUND, || async {
            cb.try_acquire().await.ok()
        })
        .await;
        probes.push(probe);
    }
    // Redis's clock, the one the rules run on, passed the open duration.
    let waited = Duration::from_micros(server.time_micros() - start);
    assert!(waited >= open, "{waited:?}");
    for probe in probes {
        assert!(probe.is_probe());
        probe.success().await;
    }
    assert_eq!(cbs[0].sync().await.unwrap().state, State::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_calls_and_their_failures_do_not_touch_redis_until_the_sync() {
    let server = RedisServer::start();
    // The sync task reads at start, then not for a minute.
    let shared = SharedConfig {
        sync_interval: Duration::from_secs(60),
        ..fast()
    };
    let cb = store(&server.url(), shared)
        .breaker("hot", config(5))
        .unwrap();
    let scripts = || server.calls_of("evalsha") + server.calls_of("eval");
    eventually("the first sync", BOUND, || async { scripts() == 1 }).await;
    let before = scripts();
    // Thousands of calls, a failure in every ten, never four in a row: the
    // batch holds them all, and no trip is in sight to wake the sync early.
    for i in 0..10_000 {
        if i % 10 == 9 {
            fail(&cb).await;
        } else {
            succeed(&cb).await;
        }
    }
    assert_eq!(scripts(), before);
    // The sync reports them: one script (the fleet's count did not change).
    let shared = cb.sync().await.unwrap();
    assert_eq!(shared.consecutive_failures, 1);
    assert!(scripts() <= before + 2, "{} scripts", scripts() - before);
    assert_eq!(cb.stats().successful, 9_000);
    assert_eq!(cb.stats().failed, 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_in_sight_is_reported_without_waiting_for_the_sync() {
    let server = RedisServer::start();
    let shared = SharedConfig {
        sync_interval: Duration::from_secs(60),
        ..fast()
    };
    let cb = store(&server.url(), shared)
        .breaker("early", config(3))
        .unwrap();
    eventually("the first sync", BOUND, || async {
        cb.sync().await.is_ok()
    })
    .await;
    for _ in 0..3 {
        fail(&cb).await;
    }
    // Three failures reach the threshold: the sync task is woken at once.
    eventually("the trip reaches Redis", BOUND, || async {
        cb.state() == State::Open
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_operations_reach_every_process() {
    let server = RedisServer::start();
    let cbs = fleet(&server, &fast(), "manual", &config(5), 2);
    assert_eq!(
        cbs[0].force_open().await.unwrap(),
        Some(Transition {
            from: State::Closed,
            to: State::ForcedOpen
        })
    );
    eventually("forced open everywhere", BOUND, || async {
        cbs[1].state() == State::ForcedOpen
    })
    .await;
    let rejection = cbs[1].try_acquire().await.unwrap_err();
    assert_eq!(
        (rejection.reason(), rejection.retry_after()),
        (RejectReason::ForcedOpen, None)
    );
    cbs[1].disable().await.unwrap();
    eventually("disabled everywhere", BOUND, || async {
        cbs[0].state() == State::Disabled
    })
    .await;
    for _ in 0..10 {
        fail(&cbs[0]).await;
    }
    assert_eq!(cbs[0].sync().await.unwrap().state, State::Disabled);
    cbs[0].reset().await.unwrap();
    eventually("closed everywhere", BOUND, || async {
        cbs[1].state() == State::Closed
    })
    .await;
    assert_eq!(cbs[1].reset().await.unwrap(), None);
}

#[tokio::test]
async fn bad_options_are_refused_at_construction() {
    let store = RedisStore::new("redis://127.0.0.1:1", SharedConfig::default()).unwrap();
    let windowed = CircuitBreakerConfig {
        window: Some(SlidingWindow::Count { size: 0 }),
        ..Default::default()
    };
    assert_eq!(
        store.breaker("w", windowed).unwrap_err().field(),
        "window_size"
    );
    assert_eq!(
        store.breaker("t", config(0)).unwrap_err().field(),
        "failure_threshold"
    );
    let empty = SharedConfig {
        prefix: String::new(),
        ..SharedConfig::default()
    };
    assert!(matches!(
        RedisStore::new("redis://127.0.0.1:1", empty),
        Err(StoreError::Config(e)) if e.field() == "prefix"
    ));
    assert!(matches!(
        RedisStore::new("not a url", SharedConfig::default()),
        Err(StoreError::Redis(_))
    ));
}

#[test]
fn a_store_needs_a_runtime() {
    assert!(matches!(
        RedisStore::new("redis://127.0.0.1:1", SharedConfig::default()),
        Err(StoreError::NoRuntime)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_and_names_keep_breakers_apart() {
    let server = RedisServer::start();
    let a = store(&server.url(), fast())
        .breaker("db", config(1))
        .unwrap();
    let other_name = store(&server.url(), fast())
        .breaker("cache", config(1))
        .unwrap();
    let other_prefix = store(
        &server.url(),
        SharedConfig {
            prefix: "other".into(),
            ..fast()
        },
    )
    .breaker("db", config(1))
    .unwrap();
    fail(&a).await;
    assert_eq!(a.sync().await.unwrap().state, State::Open);
    assert_eq!(other_name.sync().await.unwrap().state, State::Closed);
    assert_eq!(other_prefix.sync().await.unwrap().state, State::Closed);
    assert!(
        server
            .command(&["EXISTS", "{test:breaker:db}"])
            .starts_with(":1")
    );
}
