//! The adaptive policies' hot paths: a call through the adaptive limiter
//! (acquire, then record its latency) beside the fixed bulkhead's enter and
//! drop, a refusal, a latency recorded in the histogram, a percentile read,
//! a retry quota charge and pay-back, and an attempt before any throttling
//! (the adaptive rate's common case).
//!
//! `cargo bench -p seawall-benches --bench adaptive`; results in docs/BENCHMARKS.md.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use seawall_core::bulkhead::Bulkhead;
use seawall_core::histogram::Histogram;
use seawall_core::limit::{AdaptiveLimiter, Aimd, Algorithm, LimitConfig, Outcome};
use seawall_core::retry::{AdaptiveRate, AdaptiveRateConfig, ErrorKind, QuotaCosts, RetryQuota};
use seawall_core::time::Instant;

fn limiter(c: &mut Criterion) {
    let mut group = c.benchmark_group("adaptive_limiter");
    for (name, algorithm) in [
        ("aimd", Algorithm::Aimd(Aimd::DEFAULT)),
        ("gradient", Algorithm::Gradient(Default::default())),
    ] {
        let config = LimitConfig::builder()
            .algorithm(algorithm)
            .initial_limit(1000)
            .probe_samples(1)
            .build()
            .unwrap();
        let limiter = AdaptiveLimiter::new(config);
        let mut now = 0u64;
        // Time moves 1 µs a call, so windows close every 100 000 calls.
        group.bench_function(format!("call_{name}"), |b| {
            b.iter(|| {
                now += 1_000;
                let at = Instant::from_nanos(now);
                let permit = black_box(&limiter).try_acquire(&at).unwrap();
                permit.record(Outcome::Success, &at);
            })
        });
    }
    let full = AdaptiveLimiter::new(
        LimitConfig::builder()
            .algorithm(Algorithm::Aimd(Aimd::DEFAULT))
            .initial_limit(1)
            .build()
            .unwrap(),
    );
    let _held = full.try_acquire(&Instant::ZERO).unwrap();
    group.bench_function("refused", |b| {
        b.iter(|| black_box(&full).try_acquire(&Instant::ZERO).is_err())
    });
    let bulkhead = Bulkhead::new(1000).unwrap();
    group.bench_function("bulkhead_enter_drop", |b| {
        b.iter(|| drop(black_box(&bulkhead).try_enter().unwrap()))
    });
    group.finish();
}

fn histogram(c: &mut Criterion) {
    let mut group = c.benchmark_group("histogram");
    let histogram = Histogram::<192>::new(Duration::from_micros(1)).unwrap();
    let mut i = 0u64;
    group.bench_function("record", |b| {
        b.iter(|| {
            i = i.wrapping_add(7919);
            black_box(&histogram).record(Duration::from_micros(i % 100_000));
        })
    });
    group.bench_function("percentile", |b| {
        b.iter(|| black_box(&histogram).percentile(black_box(0.99)))
    });
    group.finish();
}

fn retry(c: &mut Criterion) {
    let mut group = c.benchmark_group("adaptive_retry");
    let quota = RetryQuota::new(500, QuotaCosts::DEFAULT).unwrap();
    group.bench_function("quota_charge_and_pay_back", |b| {
        b.iter(|| {
            let cost = black_box(&quota).try_acquire(ErrorKind::Transient).unwrap();
            quota.record_success(cost);
        })
    });
    let rate = AdaptiveRate::new(AdaptiveRateConfig::DEFAULT).unwrap();
    group.bench_function("rate_before_any_throttle", |b| {
        b.iter(|| black_box(&rate).try_acquire(&Instant::ZERO).is_ok())
    });
    group.finish();
}

criterion_group!(benches, limiter, histogram, retry);
criterion_main!(benches);
