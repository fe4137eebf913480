//! What fault injection and hedging cost on the path of a call.
//!
//! - `fault_injection_off`: a plain await against the same call through a
//!   `FaultInjector` switched off, directly and as a tower layer (the claim:
//!   off costs nothing measurable), and switched on with a plan whose rule
//!   never fires (the price of deciding).
//! - `hedge_fast_call`: a call that answers before any hedge is due, plain
//!   and through a `Hedge`.
//!
//! Each sample runs its iterations inside one `block_on`. Results:
//! `docs/BENCHMARKS.md`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use seawall::core::fault::{Fault, FaultRule};
use seawall::core::hedge::HedgeDelay;
use seawall::{FaultInjector, FaultLayer, FaultPlan, Hedge};
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceExt, service_fn};

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
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

async fn call<S: Service<u64>>(service: &mut S) -> Result<S::Response, S::Error> {
    service.ready().await?.call(1).await
}

fn fault_injection(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("fault_injection_off");
    let plan = FaultPlan::new(1)
        .rule(FaultRule::new(Fault::Error, 0.0))
        .rule(FaultRule::new(
            Fault::Latency(Duration::from_millis(200)),
            0.0,
        ));
    let off = FaultInjector::new("off", plan.clone()).unwrap();
    bench_async!(group, rt, "plain await", work(1));
    bench_async!(group, rt, "FaultInjector::call, off", off.call(|| work(1)));
    // The same service called again and again (no clone per call).
    let mut plain = service_fn(work);
    bench_async!(group, rt, "tower: no layer", call(&mut plain));
    let mut layered = FaultLayer::new(off.clone()).layer(service_fn(work));
    bench_async!(group, rt, "tower: FaultLayer, off", call(&mut layered));
    let on = FaultInjector::new("on", plan).unwrap();
    on.enable();
    bench_async!(
        group,
        rt,
        "FaultInjector::call, on, no rule fires",
        on.call(|| work(1))
    );
    group.finish();
}

fn hedge(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("hedge_fast_call");
    let hedge = Hedge::builder("bench")
        .delay(HedgeDelay::fixed(Duration::from_secs(1)))
        .build()
        .unwrap();
    bench_async!(group, rt, "plain await", work(1));
    bench_async!(group, rt, "Hedge::call", hedge.call(|| work(1)));
    group.finish();
}

criterion_group!(benches, fault_injection, hedge);
criterion_main!(benches);
