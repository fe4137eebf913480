//! Shared state on Redis (feature `redis`), against a redis-server on
//! 127.0.0.1 that the benchmark starts itself:
//!
//! - a call through a Closed breaker: the local `CircuitBreaker` and the
//!   `SharedCircuitBreaker` (whose hot path must stay local);
//! - a failed call: what the caller pays (the report is sent by the sync task),
//!   and one script round trip (`sync`);
//! - a call rejected by an Open breaker;
//! - how long an Open decided by one breaker takes to reach eight others (each
//!   with its own connection and sync task, as separate processes have), with
//!   the default sync interval (100 ms) and with 10 ms;
//! - a shared rate limiter's check (one script call) against the local one;
//! - Redis's load: the script calls per second one process sends while it
//!   calls a shared breaker 1,000 and 100,000 times a second with 0 %, 1 % and
//!   10 % failures below the threshold (printed, not timed by criterion).
//!
//! Results: `docs/BENCHMARKS.md`.

#[path = "../tests/redis_support/mod.rs"]
mod redis_support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use seawall::redis::{RedisStore, SharedCircuitBreaker, SharedConfig};
use seawall::{CircuitBreaker, CircuitBreakerConfig, RateLimiter, RateLimiterConfig, State};
use tokio::runtime::Runtime;

use redis_support::RedisServer;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Times `iters` awaits of `op` inside one `block_on`.
macro_rules! bench_async {
    ($group:expr, $rt:expr, $name:expr, $op:expr) => {
        $group.bench_function($name, |b| {
            b.iter_custom(|iters| {
                $rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let _ = black_box($op.await);
                    }
                    start.elapsed()
                })
            })
        });
    };
}

async fn work(x: u64) -> Result<u64, std::io::Error> {
    Ok(black_box(x))
}

async fn failing(_: u64) -> Result<u64, std::io::Error> {
    Err(std::io::Error::other("down"))
}

fn config(failure_threshold: u32) -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        failure_threshold,
        timeout: Duration::from_secs(3600),
        ..Default::default()
    }
}

fn store(rt: &Runtime, server: &RedisServer, sync_interval: Duration) -> RedisStore {
    let _guard = rt.enter();
    let config = SharedConfig {
        prefix: "bench".into(),
        sync_interval,
        ..SharedConfig::default()
    };
    RedisStore::new(&server.url(), config).unwrap()
}

fn shared(
    rt: &Runtime,
    server: &RedisServer,
    name: &str,
    failure_threshold: u32,
) -> SharedCircuitBreaker {
    let cb = store(rt, server, Duration::from_millis(100))
        .breaker(name, config(failure_threshold))
        .unwrap();
    rt.block_on(cb.sync()).unwrap();
    cb
}

fn calls(c: &mut Criterion) {
    let rt = runtime();
    let server = RedisServer::start();
    let mut group = c.benchmark_group("redis/closed_call");
    let local = CircuitBreaker::new("bench", config(5));
    bench_async!(group, rt, "local", local.call(|| work(1)));
    let cb = shared(&rt, &server, "closed", 5);
    bench_async!(group, rt, "shared", cb.call(|| work(1)));
    group.finish();

    // Far from the threshold: every failure joins the batch and wakes the sync task.
    let mut group = c.benchmark_group("redis/failed_call");
    let local = CircuitBreaker::new("bench", config(100_000_000));
    bench_async!(group, rt, "local", local.call(|| failing(1)));
    let cb = shared(&rt, &server, "failing", 100_000_000);
    bench_async!(group, rt, "shared", cb.call(|| failing(1)));
    bench_async!(group, rt, "script_round_trip", cb.sync());
    group.finish();

    let mut group = c.benchmark_group("redis/open_rejection");
    let local = CircuitBreaker::new("bench", config(1));
    let _ = rt.block_on(local.call(|| failing(1)));
    bench_async!(group, rt, "local", local.call(|| work(1)));
    let cb = shared(&rt, &server, "open", 1);
    let _ = rt.block_on(cb.call(|| failing(1)));
    rt.block_on(cb.sync()).unwrap();
    assert_eq!(cb.state(), State::Open);
    bench_async!(group, rt, "shared", cb.call(|| work(1)));
    group.finish();

    let mut group = c.benchmark_group("redis/rate_limit_check");
    let quota = RateLimiterConfig {
        rate: u64::from(u32::MAX),
        burst: u32::MAX,
        ..Default::default()
    };
    let local = RateLimiter::new(quota);
    bench_async!(group, rt, "local", async { local.check() });
    let limiter = store(&rt, &server, Duration::from_millis(100))
        .rate_limiter("limit", quota)
        .unwrap();
    bench_async!(group, rt, "shared", limiter.check());
    group.finish();
}

/// One breaker trips the fleet; the time until all nine see Open.
async fn propagation(fleet: &[SharedCircuitBreaker]) -> Duration {
    fleet[0].reset().await.unwrap();
    while fleet.iter().any(|cb| cb.state() != State::Closed) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Let the syncs drift apart from the reset.
    tokio::time::sleep(Duration::from_millis(black_box(7))).await;
    let start = Instant::now();
    let _ = fleet[0].call(|| failing(1)).await;
    while fleet.iter().any(|cb| cb.state() != State::Open) {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    start.elapsed()
}

fn open_reaches_every_process(c: &mut Criterion) {
    let rt = runtime();
    let server = RedisServer::start();
    let mut group = c.benchmark_group("redis/open_reaches_9_breakers");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(10));
    for interval in [100, 10] {
        let fleet: Vec<_> = (0..9)
            .map(|_| {
                store(&rt, &server, Duration::from_millis(interval))
                    .breaker(format!("fleet-{interval}"), config(1))
                    .unwrap()
            })
            .collect();
        let mut worst = Duration::ZERO;
        group.bench_function(format!("sync_interval_{interval}ms"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let took = propagation(&fleet).await;
                        worst = worst.max(took);
                        total += took;
                    }
                    total
                })
            })
        });
        eprintln!("sync interval {interval} ms: slowest propagation {worst:?}");
    }
    group.finish();
}

/// Calls `cb` at `rate` calls a second for `seconds`, one in `every` a
/// failure (0: none), paced each millisecond.
async fn drive(cb: &SharedCircuitBreaker, rate: u64, every: u64, seconds: u64) {
    let per_tick = rate / 1000;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n = 0u64;
    for _ in 0..seconds * 1000 {
        tick.tick().await;
        for _ in 0..per_tick {
            n += 1;
            if every != 0 && n.is_multiple_of(every) {
                let _ = cb.call(|| failing(n)).await;
            } else {
                let _ = cb.call(|| work(n)).await;
            }
        }
    }
}

/// Script calls per second to Redis from one process, by call rate and
/// failure rate (failures spread out: never enough in a row, or in the
/// window, to trip), for the consecutive rule and a count window.
fn redis_load(_: &mut Criterion) {
    let rt = runtime();
    let server = RedisServer::start();
    let scripts = || server.calls_of("evalsha") + server.calls_of("eval");
    let seconds = 5;
    eprintln!("redis load, one process, sync interval 100 ms, {seconds} s per row:");
    eprintln!("| rule | calls/s | failures | scripts/s |");
    eprintln!("|---|---:|---:|---:|");
    let rules = [
        ("consecutive (threshold 5)", config(5)),
        (
            "count window of 100 (rate 0.5)",
            CircuitBreakerConfig {
                window: Some(seawall::SlidingWindow::Count { size: 100 }),
                failure_rate_threshold: 0.5,
                minimum_calls: 100,
                timeout: Duration::from_secs(3600),
                ..Default::default()
            },
        ),
    ];
    for (rule, config) in rules {
        for rate in [1_000, 100_000] {
            for (failures, every) in [("0 %", 0), ("1 %", 100), ("10 %", 10)] {
                let name = format!("load-{rate}-{every}-{}", rule.len());
                let cb = {
                    let _guard = rt.enter();
                    let store = store(&rt, &server, Duration::from_millis(100));
                    store.breaker(name, config.clone()).unwrap()
                };
                rt.block_on(cb.sync()).unwrap();
                let before = scripts();
                let start = Instant::now();
                rt.block_on(drive(&cb, rate, every, seconds));
                let took = start.elapsed().as_secs_f64();
                let sent = scripts() - before;
                assert_eq!(cb.state(), State::Closed, "{rule} tripped");
                eprintln!(
                    "| {rule} | {} | {failures} | {:.1} |",
                    (cb.stats().permitted as f64 / took).round(),
                    sent as f64 / took
                );
            }
        }
    }
}

criterion_group!(benches, calls, open_reaches_every_process, redis_load);
criterion_main!(benches);
