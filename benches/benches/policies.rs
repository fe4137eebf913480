//! The policies beside the breaker: the GCRA check against governor in the same
//! run, the bulkhead's enter and drop, and the backoff's delay computation.
//!
//! `cargo bench -p seawall-benches --bench policies`; results in docs/BENCHMARKS.md.
//!
//! governor always reads its own clock (quanta's TSC clock by default), so our
//! check is measured three ways: with the time given (what an adapter that
//! already read its clock pays), with the same quanta clock read inside, and
//! with a `std::time::Instant` read inside.
#![allow(missing_docs)]

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant as StdInstant};

use criterion::{Criterion, criterion_group, criterion_main};
use seawall_core::backoff::{Backoff, BackoffState, Jitter};
use seawall_core::bulkhead::Bulkhead;
use seawall_core::rate_limit::{Quota, RateLimiter};
use seawall_core::retry::{Failure, RetryPolicy};
use seawall_core::rng::SplitMix64;
use seawall_core::time::{Clock, Instant};

/// The core's clock over `std::time::Instant`.
struct StdClock(StdInstant);

impl Clock for StdClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.0.elapsed().as_nanos() as u64)
    }
}

/// The core's clock over quanta, read the way governor's default clock reads it
/// (raw TSC ticks scaled to nanoseconds), so both pay the same for the time.
struct QuantaClock(quanta::Clock);

impl Clock for QuantaClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.0.delta_as_nanos(0, self.0.raw()))
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// A quota no benchmark can exhaust while time runs: a billion per second, in
/// bursts of a million.
fn roomy() -> Quota {
    Quota::new(1_000_000_000, Duration::from_secs(1), 1_000_000).unwrap()
}

fn roomy_governor() -> governor::Quota {
    governor::Quota::per_second(nonzero(1_000_000_000)).allow_burst(nonzero(1_000_000))
}

/// One per hour, burst 1: after the first check every check is refused.
fn tight() -> Quota {
    Quota::new(1, Duration::from_secs(3600), 1).unwrap()
}

fn tight_governor() -> governor::Quota {
    governor::Quota::per_hour(nonzero(1))
}

fn gcra_allowed(c: &mut Criterion) {
    let mut group = c.benchmark_group("gcra_check_allowed");
    // The floor: one uncontended compare-and-swap, which every admitted check does.
    let word = AtomicU64::new(0);
    let mut t = 0u64;
    group.bench_function("floor_compare_exchange", |b| {
        b.iter(|| {
            t += 1_000;
            let current = black_box(&word).load(Ordering::Relaxed);
            word.compare_exchange(current, black_box(t), Ordering::Relaxed, Ordering::Relaxed)
        })
    });
    let limiter = RateLimiter::new(Quota::new(1, Duration::from_micros(1), 1).unwrap());
    // Time given: each check comes one interval after the last, so each is admitted
    // and takes the compare-and-swap path.
    let mut t = 0u64;
    group.bench_function("seawall_time_given", |b| {
        b.iter(|| {
            t += 1_000;
            black_box(&limiter)
                .check(&Instant::from_nanos(black_box(t)))
                .unwrap()
        })
    });
    let limiter = RateLimiter::new(roomy());
    let quanta_clock = QuantaClock(quanta::Clock::new());
    group.bench_function("seawall_quanta_clock", |b| {
        b.iter(|| black_box(&limiter).check(&quanta_clock).unwrap())
    });
    let limiter = RateLimiter::new(roomy());
    let std_clock = StdClock(StdInstant::now());
    group.bench_function("seawall_std_clock", |b| {
        b.iter(|| black_box(&limiter).check(&std_clock).unwrap())
    });
    let governor = governor::RateLimiter::direct(roomy_governor());
    group.bench_function("governor", |b| {
        b.iter(|| black_box(&governor).check().unwrap())
    });
    group.finish();
}

/// What each clock read costs alone, to separate it from the check.
fn clock_read(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock_read");
    let quanta_clock = QuantaClock(quanta::Clock::new());
    group.bench_function("quanta", |b| b.iter(|| black_box(&quanta_clock).now()));
    let std_clock = StdClock(StdInstant::now());
    group.bench_function("std", |b| b.iter(|| black_box(&std_clock).now()));
    group.finish();
}

fn gcra_refused(c: &mut Criterion) {
    let mut group = c.benchmark_group("gcra_check_refused");
    let now = Instant::from_secs(1);
    let limiter = RateLimiter::new(tight());
    limiter.check(&now).unwrap();
    group.bench_function("seawall_time_given", |b| {
        b.iter(|| black_box(&limiter).check(black_box(&now)).unwrap_err())
    });
    let quanta_clock = QuantaClock(quanta::Clock::new());
    let limiter = RateLimiter::new(tight());
    limiter.check(&quanta_clock).unwrap();
    group.bench_function("seawall_quanta_clock", |b| {
        b.iter(|| black_box(&limiter).check(&quanta_clock).unwrap_err())
    });
    let std_clock = StdClock(StdInstant::now());
    let limiter = RateLimiter::new(tight());
    limiter.check(&std_clock).unwrap();
    group.bench_function("seawall_std_clock", |b| {
        b.iter(|| black_box(&limiter).check(&std_clock).unwrap_err())
    });
    let governor = governor::RateLimiter::direct(tight_governor());
    governor.check().unwrap();
    group.bench_function("governor", |b| {
        b.iter(|| black_box(&governor).check().unwrap_err())
    });
    // governor with its fake clock: no clock cost, like our time-given check.
    let fake = governor::clock::FakeRelativeClock::default();
    fake.advance(Duration::from_secs(1));
    let governor = governor::RateLimiter::direct_with_clock(tight_governor(), fake);
    governor.check().unwrap();
    group.bench_function("governor_fake_clock", |b| {
        b.iter(|| black_box(&governor).check().unwrap_err())
    });
    group.finish();
}

fn bulkhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("bulkhead");
    let bulkhead = Bulkhead::new(64).unwrap();
    group.bench_function("enter_drop", |b| {
        b.iter(|| drop(black_box(&bulkhead).try_enter().unwrap()))
    });
    let full = Bulkhead::new(1).unwrap();
    let _held = full.try_enter().unwrap();
    group.bench_function("enter_refused", |b| {
        b.iter(|| black_box(&full).try_enter().unwrap_err())
    });
    group.finish();
}

fn backoff(c: &mut Criterion) {
    let mut group = c.benchmark_group("backoff_delay");
    let exponential =
        Backoff::exponential(Duration::from_millis(100), 2.0, Duration::from_secs(30)).unwrap();
    let mut rng = SplitMix64::new(1);
    let mut attempt = 0u32;
    group.bench_function("exponential", |b| {
        b.iter(|| {
            // Attempts 1 to 16: the powers below and at the cap.
            attempt = attempt % 16 + 1;
            exponential.delay(black_box(attempt), Duration::ZERO, &mut rng)
        })
    });
    let full = exponential.with_jitter(Jitter::Full);
    group.bench_function("exponential_full_jitter", |b| {
        b.iter(|| {
            attempt = attempt % 16 + 1;
            full.delay(black_box(attempt), Duration::ZERO, &mut rng)
        })
    });
    let decorrelated =
        Backoff::decorrelated_jitter(Duration::from_millis(100), Duration::from_secs(30)).unwrap();
    let mut state = BackoffState::new();
    group.bench_function("decorrelated_jitter", |b| {
        b.iter(|| black_box(&decorrelated).next_delay(&mut state, &mut rng))
    });
    let policy = RetryPolicy::builder()
        .max_attempts(u32::MAX)
        .backoff(full)
        .build()
        .unwrap();
    let now = Instant::ZERO;
    let mut retry = policy.start(&now);
    group.bench_function("retry_on_failure", |b| {
        b.iter(|| {
            // A call retried 8 times, then a new call: realistic attempt numbers.
            if retry.attempt() > 8 {
                retry = policy.start(&now);
            }
            black_box(&policy).on_failure(&mut retry, Failure::retryable(), None, &now, &mut rng)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = clock_read, gcra_allowed, gcra_refused, bulkhead, backoff
}
criterion_main!(benches);
