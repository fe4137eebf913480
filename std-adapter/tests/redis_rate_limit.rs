//! The shared rate limiter against a real redis-server: the core's GCRA
//! semantics, decided on Redis's clock for every task and process.

mod redis_support;

use std::time::Duration;

use seawall::RateLimiterConfig;
use seawall::core::Instant;
use seawall::core::rate_limit::{InsufficientCapacity, Quota, RateLimiter};
use seawall::redis::SharedRateLimiter;

use redis_support::{RedisServer, fast, store};

const HOUR: Duration = Duration::from_secs(3600);

fn limiter(
    server: &RedisServer,
    name: &str,
    rate: u64,
    period: Duration,
    burst: u32,
) -> SharedRateLimiter {
    store(&server.url(), fast())
        .rate_limiter(
            name,
            RateLimiterConfig {
                rate,
                period,
                burst,
                max_wait: Duration::ZERO,
            },
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_decisions_as_the_core() {
    let server = RedisServer::start();
    // One cell an hour: the milliseconds this test takes change nothing.
    let shared = limiter(&server, "same", 1, HOUR, 5);
    let core = RateLimiter::new(Quota::new(1, HOUR, 5).unwrap());
    let now = Instant::from_secs(1_000_000);
    let start = server.time_micros();
    for n in [2, 2, 2, 1, 0, 1, 5, 6, u32::MAX] {
        let local = core.check_n(n, &now);
        let remote = shared.check_n(n).await;
        match (local, remote) {
            (Err(a), Err(b)) => assert_eq!(a, b),
            (Ok(Ok(())), Ok(Ok(()))) => {}
            (Ok(Err(a)), Ok(Err(b))) => {
                // The core's wait from `now`; Redis's from a moment later on
                // its own clock, by no more than that clock has moved since.
                let elapsed = Duration::from_micros(server.time_micros() - start);
                let (a, b) = (a.retry_after(), b.retry_after());
                assert!(b <= a && a <= b + elapsed, "core {a:?}, redis {b:?}");
            }
            (a, b) => panic!("n = {n}: core {a:?}, redis {b:?}"),
        }
    }
    assert_eq!(
        shared.check_n(6).await,
        Err(InsufficientCapacity {
            requested: 6,
            burst: 5
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_burst_then_the_rate_in_nanoseconds() {
    let server = RedisServer::start();
    // An interval of 333,333,334 ns, burst 1.
    let shared = limiter(&server, "thirds", 3, Duration::from_secs(1), 1);
    let start = server.time_micros();
    shared.check().await.unwrap();
    let refused = shared.check().await.unwrap_err();
    let between = Duration::from_micros(server.time_micros() - start);
    let interval = Duration::from_nanos(333_333_334);
    let wait = refused.retry_after();
    // The interval less what Redis's clock moved between the two checks
    // (within the microseconds of TIME).
    assert!(
        wait <= interval && wait + between + Duration::from_micros(1) >= interval,
        "{wait:?} after {between:?}"
    );
    // Admitted once the wait is over.
    redis_support::eventually(
        "admitted once the wait is over",
        Duration::from_secs(5),
        || async { shared.check().await.is_ok() },
    )
    .await;
    // The key forgets itself once the TAT has passed.
    let ttl: i64 = server.command(&["PTTL", "test:rate:thirds"])[1..]
        .trim()
        .parse()
        .unwrap();
    assert!(0 < ttl && ttl <= 335, "{ttl} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tasks_on_separate_connections_share_exactly_the_burst() {
    let server = RedisServer::start();
    let limiters: Vec<_> = (0..4)
        .map(|_| limiter(&server, "tasks", 1, HOUR, 7))
        .collect();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let limiter = limiters[i % 4].clone();
            tokio::spawn(async move { limiter.check().await.is_ok() })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.unwrap());
    }
    assert_eq!(admitted, 7);
    // Another name has its own quota.
    assert!(limiter(&server, "other", 1, HOUR, 7).check().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_waits_its_turn_within_max_wait() {
    let server = RedisServer::start();
    let patient = store(&server.url(), fast())
        .rate_limiter(
            "patient",
            RateLimiterConfig {
                rate: 20,
                period: Duration::from_secs(1),
                burst: 1,
                max_wait: Duration::from_millis(200),
            },
        )
        .unwrap();
    patient.acquire().await.unwrap();
    // The second call is refused at first, then admitted after its wait.
    assert_eq!(patient.call(|| async { Ok::<_, ()>(7) }).await.unwrap(), 7);
    let (admitted, refused) = patient.counts();
    assert_eq!(admitted, 2);
    assert!(refused >= 1, "{refused}");
    let impatient = limiter(&server, "impatient", 1, HOUR, 1);
    impatient.acquire().await.unwrap();
    let error = impatient
        .call(|| async { Ok::<_, ()>(()) })
        .await
        .unwrap_err();
    assert!(error.is_rate_limited());
    assert!(error.retry_after().unwrap() > HOUR - Duration::from_secs(60));
}

#[tokio::test]
async fn quotas_past_what_lua_counts_exactly_are_refused() {
    let store = seawall::redis::RedisStore::new("redis://127.0.0.1:1", fast()).unwrap();
    let config = RateLimiterConfig {
        rate: 1,
        period: HOUR * 24 * 60,
        burst: 1,
        ..Default::default()
    };
    assert_eq!(
        store.rate_limiter("x", config).unwrap_err().field(),
        "burst"
    );
    let config = RateLimiterConfig {
        rate: 0,
        ..Default::default()
    };
    assert_eq!(store.rate_limiter("x", config).unwrap_err().field(), "rate");
}
