//! Benchmarks of the tokio adapter against its peers, measured in one run:
//!
//! - a call through a Closed breaker: a plain await, `seawall`'s `cb.call`,
//!   failsafe's future API, and as tower services (no layer, seawall's layer,
//!   tower-resilience's layer);
//! - a call rejected by an Open breaker, the same contenders;
//! - `with_timeout` against `tokio::time::timeout`;
//! - a retry whose first attempt succeeds: seawall against backon.
//!
//! Each sample runs its iterations inside one `block_on`, so the runtime's own
//! cost stays outside the loop. Results: `docs/BENCHMARKS.md`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::futures::CircuitBreaker as _;
use seawall::{
    CircuitBreaker, CircuitBreakerConfig, CircuitBreakerLayer, RetryPolicy, with_timeout,
};
use tokio::runtime::Runtime;
use tower::{Layer, ServiceExt, service_fn};

fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn multi_thread() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
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

fn seawall_breaker() -> CircuitBreaker {
    CircuitBreaker::new(
        "bench",
        CircuitBreakerConfig {
            failure_threshold: 1,
            timeout: Duration::from_secs(3600),
            ..Default::default()
        },
    )
}

fn failsafe_breaker() -> impl failsafe::futures::CircuitBreaker + Clone {
    failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::consecutive_failures(
            1,
            failsafe::backoff::constant(Duration::from_secs(3600)),
        ))
        .build()
}

fn tower_resilience_layer() -> tower_resilience_circuitbreaker::CircuitBreakerLayer<
    tower_resilience_circuitbreaker::DefaultClassifier,
> {
    tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(1)
        .minimum_number_of_calls(1)
        .wait_duration_in_open(Duration::from_secs(3600))
        .build()
        .unwrap()
}

fn closed(c: &mut Criterion) {
    let rt = current_thread();
    let mut group = c.benchmark_group("breaker_closed");
    bench_async!(group, rt, "plain await", work(1));
    let cb = seawall_breaker();
    bench_async!(group, rt, "seawall cb.call", cb.call(|| work(1)));
    let fs = failsafe_breaker();
    bench_async!(group, rt, "failsafe call", fs.call(work(1)));

    let plain = service_fn(work);
    bench_async!(group, rt, "tower: no layer", plain.oneshot(1));
    let layered = CircuitBreakerLayer::new(seawall_breaker()).layer(service_fn(work));
    bench_async!(
        group,
        rt,
        "tower: seawall layer",
        layered.clone().oneshot(1)
    );
    let peer = tower_resilience_layer().layer(service_fn(work));
    bench_async!(
        group,
        rt,
        "tower: tower-resilience layer",
        peer.clone().oneshot(1)
    );
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("breaker_open");
    for (flavor, rt) in [
        ("multi-thread", multi_thread()),
        ("current-thread", current_thread()),
    ] {
        let cb = seawall_breaker();
        rt.block_on(async {
            let _ = cb.call(|| failing(0)).await;
        });
        assert!(rt.block_on(cb.call(|| work(1))).is_err());
        bench_async!(
            group,
            rt,
            format!("seawall cb.call ({flavor} runtime)"),
            cb.call(|| work(1))
        );
        let fs = failsafe_breaker();
        let _ = rt.block_on(fs.call(failing(0)));
        assert!(rt.block_on(fs.call(work(1))).is_err());
        bench_async!(
            group,
            rt,
            format!("failsafe call ({flavor} runtime)"),
            fs.call(work(1))
        );
        let peer = tower_resilience_layer().layer(service_fn(|x: u64| async move {
            if x == 0 {
                failing(x).await
            } else {
                work(x).await
            }
        }));
        let _ = rt.block_on(peer.clone().oneshot(0));
        assert!(rt.block_on(peer.clone().oneshot(1)).is_err());
        bench_async!(
            group,
            rt,
            format!("tower-resilience layer ({flavor} runtime)"),
            peer.clone().oneshot(1)
        );
    }
    group.finish();
}

fn timeout(c: &mut Criterion) {
    let rt = current_thread();
    let mut group = c.benchmark_group("timeout");
    let limit = Duration::from_secs(5);
    bench_async!(
        group,
        rt,
        "tokio::time::timeout",
        tokio::time::timeout(limit, work(1))
    );
    bench_async!(
        group,
        rt,
        "seawall with_timeout",
        with_timeout(limit, || work(1))
    );
    group.finish();
}

fn retry(c: &mut Criterion) {
    use backon::Retryable as _;
    let rt = current_thread();
    let mut group = c.benchmark_group("retry_first_success");
    bench_async!(group, rt, "plain await", work(1));
    let policy = RetryPolicy::default();
    bench_async!(group, rt, "seawall execute", policy.execute(|| work(1)));
    bench_async!(
        group,
        rt,
        "backon retry",
        (|| work(1)).retry(backon::ExponentialBuilder::default())
    );
    group.finish();
}

criterion_group!(benches, closed, open, timeout, retry);
criterion_main!(benches, floors);

fn floor(c: &mut Criterion) {
    use seawall::core::Instant as CoreInstant;
    use seawall::core::breaker::{BreakerConfig, CircuitBreaker as Core};
    static CONFIG: BreakerConfig = BreakerConfig::DEFAULT;
    static CORE: Core = Core::new(&CONFIG);
    let mut group = c.benchmark_group("floor");
    group.bench_function("core acquire+success", |b| {
        b.iter(|| {
            CORE.try_acquire(&CoreInstant::ZERO)
                .unwrap()
                .success(&CoreInstant::ZERO)
        })
    });
    let cb = seawall_breaker();
    group.bench_function("adapter try_acquire+success", |b| {
        b.iter(|| cb.try_acquire().unwrap().success())
    });
    let counter = std::sync::atomic::AtomicU64::new(0);
    group.bench_function("fetch_add", |b| {
        b.iter(|| counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    });
    group.finish();
}
criterion_group!(floors, floor);
