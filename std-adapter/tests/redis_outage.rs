//! Redis unavailable: hung (SIGSTOP, as a cut network looks), killed and
//! restarted. A call that asks Redis gives up on it and returns the fallback
//! policy's decision, and the shared state resumes without the local counts.
//! No assertion reads a wall clock: what shows that a call gave up on Redis
//! is the decision it returned (the fallback's) while Redis could not answer.

mod redis_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use seawall::core::breaker::RejectReason;
use seawall::redis::{SharedCircuitBreaker, SharedConfig, StoreError, WhenUnavailable};
use seawall::{CircuitBreakerConfig, RateLimiterConfig, State};

use redis_support::{RedisServer, eventually, fast, store};

const BOUND: Duration = Duration::from_secs(20);
const TIMEOUT: Duration = Duration::from_millis(100);

fn shared(when_unavailable: WhenUnavailable) -> SharedConfig {
    SharedConfig {
        timeout: TIMEOUT,
        when_unavailable,
        ..fast()
    }
}

fn config(failure_threshold: u32) -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        failure_threshold,
        timeout: Duration::from_secs(60),
        ..Default::default()
    }
}

async fn fail(cb: &SharedCircuitBreaker) -> Result<(), seawall::Error<&'static str>> {
    cb.call(|| async { Err::<(), _>("down") }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_falls_back_to_the_last_shared_state_and_resumes_without_local_counts() {
    let server = RedisServer::start();
    let cb = store(&server.url(), shared(WhenUnavailable::FailOpen))
        .breaker("db", config(5))
        .unwrap();
    fail(&cb).await.unwrap_err();
    fail(&cb).await.unwrap_err();
    assert_eq!(cb.sync().await.unwrap().consecutive_failures, 2);

    server.freeze();
    eventually("fallback", BOUND, || async { cb.is_fallback() }).await;
    // The local breaker starts from the fleet's two failures: three more open it.
    for _ in 0..2 {
        assert!(fail(&cb).await.unwrap_err().is_inner());
    }
    assert_eq!(cb.state(), State::Closed);
    assert!(fail(&cb).await.unwrap_err().is_inner());
    assert_eq!(cb.state(), State::Open);
    let error = fail(&cb).await.unwrap_err();
    assert_eq!(error.rejection().unwrap().reason(), RejectReason::Open);

    server.thaw();
    eventually("resumed", BOUND, || async { !cb.is_fallback() }).await;
    // The fleet's state as it was: the five local failures were not replayed.
    let shared = cb.shared_state().await.unwrap();
    assert_eq!(
        (shared.state, shared.consecutive_failures),
        (State::Closed, 2)
    );
    assert_eq!(cb.state(), State::Closed);
    assert!(cb.call(|| async { Ok::<_, ()>(()) }).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_asks_a_hung_redis_gives_up_at_the_timeout() {
    let server = RedisServer::start();
    // The sync task stays quiet: the call below is the one that asks Redis.
    let quiet = SharedConfig {
        sync_interval: Duration::from_secs(60),
        ..shared(WhenUnavailable::FailOpen)
    };
    let probing = CircuitBreakerConfig {
        failure_threshold: 1,
        timeout: Duration::from_millis(50),
        ..Default::default()
    };
    let cb = store(&server.url(), quiet)
        .breaker("hung", probing)
        .unwrap();
    fail(&cb).await.unwrap_err();
    eventually("the open duration ends", BOUND, || async {
        cb.shared_state().await.unwrap().open_remaining.is_zero()
    })
    .await;

    server.freeze();
    // Nothing has asked the frozen Redis yet (the sync task is quiet).
    assert!(!cb.is_fallback());
    // Past the open duration the call asks Redis for a probe slot; Redis
    // does not answer; the call gives up on it (it returns, and is what put
    // the breaker in fallback) and the local breaker, half-open, lets it probe.
    let result = cb.call(|| async { Ok::<_, ()>("served") }).await;
    assert_eq!(result.unwrap(), "served");
    assert!(cb.is_fallback());
    server.thaw();
    assert!(cb.sync().await.is_ok());
    assert!(!cb.is_fallback());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_and_restarted() {
    let mut server = RedisServer::start();
    let config = shared(WhenUnavailable::FailOpen);
    let a = store(&server.url(), config.clone())
        .breaker("api", config_of(2))
        .unwrap();
    let b = store(&server.url(), config)
        .breaker("api", config_of(2))
        .unwrap();

    // A steady load on `a`: every call is served or rejected, none is lost.
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn({
        let (a, stop) = (a.clone(), stop.clone());
        async move {
            let (mut served, mut rejected) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                match a.call(|| async { Ok::<_, ()>(()) }).await {
                    Ok(()) => served += 1,
                    Err(error) => {
                        assert!(error.is_rejected());
                        rejected += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            (served, rejected)
        }
    });

    eventually("the first sync", BOUND, || async { a.sync().await.is_ok() }).await;
    server.kill();
    eventually("both fall back", BOUND, || async {
        a.is_fallback() && b.is_fallback()
    })
    .await;
    // Calls keep being served while Redis is gone.
    let before = a.stats().successful;
    eventually("calls served in the outage", BOUND, || async {
        a.stats().successful >= before + 10
    })
    .await;
    assert!(a.is_fallback());
    server.restart();
    eventually("both resume", BOUND, || async {
        !a.is_fallback() && !b.is_fallback()
    })
    .await;

    // The shared state works again: `b`'s failures open `a` too.
    for _ in 0..2 {
        let _ = b.call(|| async { Err::<(), _>("down") }).await;
    }
    eventually("a sees Open", BOUND, || async { a.state() == State::Open }).await;
    stop.store(true, Ordering::Relaxed);
    let (served, rejected) = load.await.unwrap();
    assert!(served >= before + 10);
    assert_eq!(a.stats().successful, served);
    assert_eq!(a.stats().rejected, rejected);
}

fn config_of(failure_threshold: u32) -> CircuitBreakerConfig {
    config(failure_threshold)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_closed_rejects_every_call_until_redis_answers() {
    let mut server = RedisServer::start();
    let cb = store(&server.url(), shared(WhenUnavailable::FailClosed))
        .breaker("strict", config(5))
        .unwrap();
    assert!(cb.call(|| async { Ok::<_, ()>(()) }).await.is_ok());
    server.kill();
    eventually("fallback", BOUND, || async { cb.is_fallback() }).await;
    let mut ran = false;
    let error = cb
        .call(|| async {
            ran = true;
            Ok::<_, ()>(())
        })
        .await
        .unwrap_err();
    assert!(!ran);
    let rejection = error.rejection().unwrap();
    assert_eq!(rejection.reason(), RejectReason::Open);
    assert_eq!(rejection.retry_after(), Some(fast().sync_interval));
    assert_eq!(cb.state(), State::Open);
    server.restart();
    eventually("resumed", BOUND, || async { !cb.is_fallback() }).await;
    assert!(cb.call(|| async { Ok::<_, ()>(()) }).await.is_ok());
}

fn quota() -> RateLimiterConfig {
    RateLimiterConfig {
        rate: 1,
        period: Duration::from_secs(3600),
        burst: 3,
        max_wait: Duration::ZERO,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limiter_decides_locally_or_refuses_while_redis_is_down() {
    let mut server = RedisServer::start();
    let open = store(&server.url(), shared(WhenUnavailable::FailOpen))
        .rate_limiter("quota", quota())
        .unwrap();
    let closed = store(&server.url(), shared(WhenUnavailable::FailClosed))
        .rate_limiter("quota", quota())
        .unwrap();
    // Two of the fleet's three cells are spent.
    open.check().await.unwrap();
    closed.check().await.unwrap();
    server.kill();
    // Failing open: the local limiter has the whole quota of its own.
    for _ in 0..3 {
        open.check().await.unwrap();
    }
    assert!(open.check().await.is_err());
    assert!(open.is_fallback());
    // Failing closed: refused, until the next try.
    let refused = closed.check().await.unwrap_err();
    assert!(refused.retry_after() <= fast().sync_interval);
    server.restart();
    // Redis is back (and empty): after one sync interval both ask it again.
    eventually("shared again", BOUND, || async {
        closed.check().await.is_ok() && !closed.is_fallback()
    })
    .await;
    eventually("shared again", BOUND, || async {
        open.check().await.is_ok() && !open.is_fallback()
    })
    .await;
}

// --- a stall while half-open -------------------------------------------------

/// Four processes share a breaker (timeout 100 ms, sync 50 ms, lease 30 s),
/// past the end of its open duration: the next call asks Redis for a probe.
async fn ready_to_probe(server: &RedisServer) -> Vec<SharedCircuitBreaker> {
    let probing = CircuitBreakerConfig {
        failure_threshold: 1,
        timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let shared = SharedConfig {
        timeout: TIMEOUT,
        sync_interval: Duration::from_millis(50),
        ..fast()
    };
    let fleet: Vec<_> = (0..4)
        .map(|_| {
            store(&server.url(), shared.clone())
                .breaker("stalled", probing.clone())
                .unwrap()
        })
        .collect();
    fail(&fleet[0]).await.unwrap_err();
    assert_eq!(fleet[0].sync().await.unwrap().state, State::Open);
    eventually("the open duration ends", BOUND, || async {
        fleet[0]
            .shared_state()
            .await
            .unwrap()
            .open_remaining
            .is_zero()
    })
    .await;
    fleet
}

/// After Redis held back a request for a probe past its caller's timeout:
/// the request took no slot, and another process gets a probe at once (not
/// after the 30 s lease a slot taken for nobody would hold).
async fn no_slot_was_taken(fleet: &[SharedCircuitBreaker]) {
    eventually("Redis answers again", BOUND, || async {
        fleet[2].sync().await.is_ok()
    })
    .await;
    let shared = fleet[2].shared_state().await.unwrap();
    assert_eq!(shared.probes_in_flight, 0, "{shared:?}");
    let probe = fleet[2].try_acquire().await.unwrap();
    assert!(probe.is_probe());
    assert!(!fleet[2].is_fallback());
    assert_eq!(
        fleet[2].shared_state().await.unwrap().state,
        State::HalfOpen
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_takes_no_probe_slot_for_a_caller_that_gave_up() {
    let server = RedisServer::start();
    let fleet = ready_to_probe(&server).await;
    // Redis holds every command for a second (as a DEBUG SLEEP 1 would):
    // far past the 100 ms timeout, even on a loaded machine.
    server.stall(Duration::from_secs(1));
    let result = fleet[1].try_acquire().await;
    // It gave up on Redis and decided locally (the fallback probes).
    assert!(fleet[1].is_fallback());
    drop(result);
    no_slot_was_taken(&fleet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_takes_no_probe_slot_for_a_caller_that_gave_up() {
    let server = RedisServer::start();
    let fleet = ready_to_probe(&server).await;
    server.freeze();
    let result = fleet[1].try_acquire().await;
    assert!(fleet[1].is_fallback());
    drop(result);
    // The request waits in Redis's socket, and runs when Redis does.
    server.thaw();
    no_slot_was_taken(&fleet).await;
}

// --- lost and corrupt data ---------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_starts_the_shared_breaker_afresh() {
    let server = RedisServer::start();
    let cb = store(&server.url(), shared(WhenUnavailable::FailOpen))
        .breaker("flushed", config(1))
        .unwrap();
    let old = cb.sync().await.unwrap();
    let stale = cb.try_acquire().await.unwrap();
    fail(&cb).await.unwrap_err();
    assert_eq!(cb.sync().await.unwrap().state, State::Open);
    assert!(server.command(&["FLUSHALL"]).starts_with("+OK"));
    let fresh = cb.sync().await.unwrap();
    assert_eq!(fresh.state, State::Closed);
    assert!(fresh.generation > old.generation, "{fresh:?} after {old:?}");
    assert_eq!(cb.state(), State::Closed);
    // A permit of the round before the loss changes nothing.
    stale.failure().await;
    assert_eq!(cb.sync().await.unwrap().state, State::Closed);
    // The breaker works: one failure trips it again.
    fail(&cb).await.unwrap_err();
    assert_eq!(cb.sync().await.unwrap().state, State::Open);
}

const CORRUPT: &str = "{test:breaker:corrupt}";

/// The sync task reads at start, then not for an hour: the tests sync.
fn quiet() -> SharedConfig {
    SharedConfig {
        sync_interval: Duration::from_secs(3600),
        ..shared(WhenUnavailable::FailOpen)
    }
}

fn corrupt_fields(error: StoreError) -> Vec<&'static str> {
    match error {
        StoreError::Corrupt(fields) => fields,
        other => panic!("expected a corrupt state, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_count_is_reported_repaired_and_the_fleet_still_trips() {
    let server = RedisServer::start();
    let cb = store(&server.url(), quiet())
        .breaker("corrupt", config(5))
        .unwrap();
    cb.sync().await.unwrap();
    server.hset(CORRUPT, "failures", "nan");
    assert_eq!(corrupt_fields(cb.sync().await.unwrap_err()), ["failures"]);
    assert_eq!(cb.corrupt_reads(), 1);
    assert_eq!(server.hget(CORRUPT, "failures").as_deref(), Some("0"));
    assert!(cb.sync().await.is_ok(), "repaired");
    // Twelve failures: the fifth trips the breaker, the rest are rejected.
    let mut rejected = 0;
    for _ in 0..12 {
        match cb.call(|| async { Err::<(), _>("down") }).await {
            Err(error) if error.is_rejected() => rejected += 1,
            _ => {}
        }
        cb.sync().await.unwrap();
    }
    assert_eq!(cb.stats().failed, 5);
    assert_eq!(rejected, 7);
}

/// Two processes' breakers on the key `CORRUPT`, each having read the state.
async fn two_processes(server: &RedisServer) -> (SharedCircuitBreaker, SharedCircuitBreaker) {
    let breaker = || {
        store(&server.url(), quiet())
            .breaker("corrupt", config(5))
            .unwrap()
    };
    let (a, b) = (breaker(), breaker());
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_version_does_not_blind_a_process_to_later_states() {
    let server = RedisServer::start();
    let (a, b) = two_processes(&server).await;
    server.hset(CORRUPT, "version", "99999999999999999999999");
    assert_eq!(corrupt_fields(a.sync().await.unwrap_err()), ["version"]);
    b.force_open().await.unwrap();
    assert_eq!(a.sync().await.unwrap().state, State::ForcedOpen);
    let mut admitted = 0;
    for _ in 0..100 {
        admitted += usize::from(a.call(|| async { Ok::<_, ()>(()) }).await.is_ok());
    }
    assert_eq!(admitted, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_state_is_repaired_and_force_open_still_works() {
    let server = RedisServer::start();
    let (a, b) = two_processes(&server).await;
    server.hset(CORRUPT, "state", "99");
    // Before anyone reads it, a manual operation writes a whole valid state.
    b.force_open().await.unwrap();
    assert_eq!(a.sync().await.unwrap().state, State::ForcedOpen);
    server.hset(CORRUPT, "state", "99");
    assert_eq!(corrupt_fields(a.sync().await.unwrap_err()), ["state"]);
    assert_eq!(a.state(), State::Closed, "read as a new Closed round");
    assert_eq!(server.hget(CORRUPT, "state").as_deref(), Some("0"));
    b.force_open().await.unwrap();
    assert_eq!(a.sync().await.unwrap().state, State::ForcedOpen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_deadline_beyond_the_open_duration_is_brought_back() {
    let server = RedisServer::start();
    let cb = store(&server.url(), quiet())
        .breaker("corrupt", config(1))
        .unwrap();
    fail(&cb).await.unwrap_err();
    // The trip in sight woke the sync task, which trips the breaker (and
    // then stays quiet).
    eventually("the trip", BOUND, || async { cb.state() == State::Open }).await;
    let longest = config(1).timeout;
    // Not a number: corrupt, read as an open duration from now.
    server.hset(CORRUPT, "until", "1e20");
    assert_eq!(corrupt_fields(cb.sync().await.unwrap_err()), ["until"]);
    let after = cb.try_acquire().await.unwrap_err().retry_after().unwrap();
    assert!(after <= longest, "{after:?}");
    // A number, in the year 2255: past any open duration, so restarted from now.
    server.hset(CORRUPT, "until", "9000000000000000");
    cb.sync().await.unwrap();
    let after = cb.try_acquire().await.unwrap_err().retry_after().unwrap();
    assert!(after <= longest, "{after:?}");
    let until: u64 = server.hget(CORRUPT, "until").unwrap().parse().unwrap();
    assert!(until < 9_000_000_000_000_000, "written back: {until}");
}

// --- what the local breaker does, the shared one does ------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_panics_is_a_failure() {
    let server = RedisServer::start();
    let cb = store(&server.url(), quiet())
        .breaker("panics", config(2))
        .unwrap();
    cb.sync().await.unwrap();
    let call = tokio::spawn({
        let cb = cb.clone();
        async move { cb.call(|| async { panic!("boom") as Result<(), ()> }).await }
    });
    assert!(call.await.unwrap_err().is_panic());
    // A permit dropped while its thread unwinds.
    let permit = cb.try_acquire().await.unwrap();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _permit = permit;
        panic!("boom");
    }));
    assert!(unwound.is_err());
    let stats = cb.stats();
    assert_eq!((stats.failed, stats.released), (2, 0));
    assert_eq!(cb.sync().await.unwrap().state, State::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_fallbacks_transitions_are_heard_in_the_order_it_made_them() {
    let mut server = RedisServer::start();
    let clock = Arc::new(seawall::core::ManualClock::new());
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let cb = store(&server.url(), shared(WhenUnavailable::FailOpen))
        .breaker_builder("ordered")
        .config(CircuitBreakerConfig {
            failure_threshold: 1,
            success_threshold: 1,
            half_open_max_calls: 4,
            timeout: Duration::from_millis(1),
            ..Default::default()
        })
        .clock(clock.clone())
        .on_transition({
            let heard = heard.clone();
            move |_, transition| heard.lock().unwrap().push(transition)
        })
        .build()
        .unwrap();
    cb.sync().await.unwrap();
    server.kill();
    eventually("fallback", BOUND, || async { cb.is_fallback() }).await;

    // Four threads trip, probe and close the local breaker, over and over.
    let tasks: Vec<_> = (0..4)
        .map(|task| {
            let (cb, clock) = (cb.clone(), clock.clone());
            tokio::spawn(async move {
                for i in 0..25_000u32 {
                    clock.advance(Duration::from_micros(300));
                    let _ = cb
                        .call(|| async move { if (i + task) % 3 == 0 { Err(()) } else { Ok(()) } })
                        .await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let heard = heard.lock().unwrap();
    assert!(
        heard.len() > 100,
        "{} {:?} {}",
        heard.len(),
        cb.stats(),
        cb.state()
    );
    assert_eq!(heard.len() as u64, cb.stats().state_transitions);
    assert_eq!(heard[0].from, State::Closed);
    for pair in heard.windows(2) {
        assert_eq!(pair[0].to, pair[1].from, "{:?}", pair);
    }
}
