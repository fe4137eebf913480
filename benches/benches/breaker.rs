//! The circuit breaker's hot paths against failsafe and recloser, in one run,
//! with one uncontended `fetch_add` as the floor.
//!
//! `cargo bench -p seawall-benches --bench breaker`; results in docs/BENCHMARKS.md.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant as StdInstant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use seawall_core::breaker::{BreakerConfig, CircuitBreaker, CountWindow, Outcome, Slot};
use seawall_core::time::{Clock, Instant};

/// The core's clock over `std::time::Instant`, as an adapter without a runtime
/// clock would read it.
struct StdClock(StdInstant);

impl Clock for StdClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.0.elapsed().as_nanos() as u64)
    }
}

/// A TSC-based clock (quanta): a cheaper monotonic source.
struct TscClock(quanta::Clock, quanta::Instant);

impl Clock for TscClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.0.now().duration_since(self.1).as_nanos() as u64)
    }
}

/// `CLOCK_MONOTONIC_COARSE`: the kernel's tick-granular clock, read from the vDSO.
struct CoarseClock;

impl Clock for CoarseClock {
    fn now(&self) -> Instant {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid pointer to a timespec; the call cannot fail for this clock id.
        #[allow(unsafe_code)]
        unsafe {
            libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts)
        };
        Instant::from_nanos(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }
}

static CONSECUTIVE: BreakerConfig = match BreakerConfig::builder()
    .failure_threshold(5)
    .open_duration(Duration::from_secs(3600))
    .success_threshold(1000)
    .half_open_max_calls(1)
    .build()
{
    Ok(config) => config,
    Err(_) => panic!("valid"),
};

type Failsafe = failsafe::StateMachine<
    failsafe::failure_policy::ConsecutiveFailures<failsafe::backoff::Constant>,
    (),
>;

fn failsafe_breaker() -> Failsafe {
    let backoff = failsafe::backoff::constant(Duration::from_secs(3600));
    failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::consecutive_failures(5, backoff))
        .build()
}

fn recloser_breaker() -> recloser::Recloser {
    recloser::Recloser::custom()
        .error_rate(0.5)
        .closed_len(100)
        .open_wait(Duration::from_secs(3600))
        .build()
}

/// Times `$body` in a plain loop, written out in place. Criterion's `iter`,
/// or a closure called from a loop, costs a few nanoseconds of its own per call
/// around some routines on this machine, as much as what is measured; every
/// benchmark here, the floor and the peers included, goes through this loop.
///
/// A breaker's outcome is consumed as a bool (did it cause a transition), as an
/// adapter consumes it; storing the two-byte `Option<Transition>` for
/// `black_box` and reading it back whole would time a store-forwarding stall
/// of the benchmark's own making.
macro_rules! looped {
    ($b:expr, || $body:expr) => {
        $b.iter_custom(|iters| {
            let start = StdInstant::now();
            for _ in 0..iters {
                let _ = black_box($body);
            }
            start.elapsed()
        })
    };
}

fn floor(c: &mut Criterion) {
    let counter = AtomicU64::new(0);
    c.bench_function("floor/atomic_fetch_add", |b| {
        looped!(b, || black_box(&counter).fetch_add(1, Ordering::Relaxed))
    });
}

fn closed(c: &mut Criterion) {
    let mut group = c.benchmark_group("closed_acquire_success");
    let now = Instant::from_secs(1);
    let breaker = CircuitBreaker::new(&CONSECUTIVE);
    group.bench_function("seawall", |b| {
        looped!(b, || {
            let permit = black_box(&breaker).try_acquire(&now).unwrap();
            permit.success(&now).is_some()
        })
    });
    let std_clock = StdClock(StdInstant::now());
    group.bench_function("seawall_with_std_clock", |b| {
        looped!(b, || {
            let permit = black_box(&breaker).try_acquire(&std_clock).unwrap();
            permit.success(&std_clock).is_some()
        })
    });
    let failsafe = failsafe_breaker();
    group.bench_function("failsafe", |b| {
        looped!(b, || {
            let breaker = black_box(&failsafe);
            assert!(breaker.is_call_permitted());
            breaker.on_success();
        })
    });
    let recloser = recloser_breaker();
    group.bench_function("recloser", |b| {
        looped!(b, || {
            black_box(&recloser).call(|| Ok::<u32, ()>(black_box(1)))
        })
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_rejection");
    let breaker = CircuitBreaker::new(&CONSECUTIVE);
    let std_clock = StdClock(StdInstant::now());
    let quanta = quanta::Clock::new();
    let tsc_clock = TscClock(quanta.clone(), quanta.now());
    // Each breaker opens for an hour from its clock's now.
    let now = std_clock.now();
    for _ in 0..5 {
        breaker.try_acquire(&now).unwrap().failure(&now);
    }
    group.bench_function("seawall_time_given", |b| {
        looped!(b, || black_box(&breaker).try_acquire(&now).unwrap_err())
    });
    group.bench_function("seawall_std_clock", |b| {
        looped!(b, || {
            black_box(&breaker).try_acquire(&std_clock).unwrap_err()
        })
    });
    let tsc = CircuitBreaker::new(&CONSECUTIVE);
    let tsc_now = tsc_clock.now();
    for _ in 0..5 {
        tsc.try_acquire(&tsc_now).unwrap().failure(&tsc_now);
    }
    group.bench_function("seawall_tsc_clock", |b| {
        looped!(b, || black_box(&tsc).try_acquire(&tsc_clock).unwrap_err())
    });
    let coarse = CircuitBreaker::new(&CONSECUTIVE);
    let coarse_now = CoarseClock.now();
    for _ in 0..5 {
        coarse
            .try_acquire(&coarse_now)
            .unwrap()
            .failure(&coarse_now);
    }
    group.bench_function("seawall_coarse_clock", |b| {
        looped!(b, || {
            black_box(&coarse).try_acquire(&CoarseClock).unwrap_err()
        })
    });
    let failsafe = failsafe_breaker();
    for _ in 0..5 {
        failsafe.on_error();
    }
    group.bench_function("failsafe", |b| {
        looped!(b, || assert!(!black_box(&failsafe).is_call_permitted()))
    });
    let recloser = recloser_breaker();
    for _ in 0..200 {
        let _ = recloser.call(|| Err::<(), u32>(1));
    }
    group.bench_function("recloser", |b| {
        looped!(b, || {
            black_box(&recloser).call(|| Ok::<u32, ()>(1)).unwrap_err()
        })
    });
    group.finish();
    let mut clocks = c.benchmark_group("clock_read");
    clocks.bench_function("std_instant_now", |b| {
        looped!(b, || black_box(StdInstant::now()))
    });
    clocks.bench_function("quanta_now", |b| looped!(b, || black_box(tsc_clock.now())));
    clocks.bench_function("monotonic_coarse", |b| {
        looped!(b, || black_box(CoarseClock.now()))
    });
    clocks.finish();
}

fn half_open(c: &mut Criterion) {
    let breaker = CircuitBreaker::new(&CONSECUTIVE);
    let mut now = Instant::from_secs(1);
    for _ in 0..5 {
        breaker.try_acquire(&now).unwrap().failure(&now);
    }
    now = now + Duration::from_secs(3600);
    drop(breaker.try_acquire(&now).unwrap());
    c.bench_function("half_open_probe_cycle/seawall_acquire_release", |b| {
        looped!(b, || drop(black_box(&breaker).try_acquire(&now).unwrap()))
    });
}

fn rate_mode(c: &mut Criterion) {
    let mut group = c.benchmark_group("rate_mode_record");
    let config = BreakerConfig::builder().minimum_calls(100).build().unwrap();
    let breaker = CircuitBreaker::with_window(&config, CountWindow::<[Slot; 100]>::new());
    let now = Instant::from_secs(1);
    group.bench_function("seawall_count_window_100", |b| {
        looped!(b, || {
            let permit = black_box(&breaker).try_acquire(&now).unwrap();
            permit
                .record(Outcome::Success, Some(Duration::from_micros(5)), &now)
                .is_some()
        })
    });
    let recloser = recloser_breaker();
    group.bench_function("recloser_ring_100", |b| {
        looped!(b, || {
            black_box(&recloser).call(|| Ok::<u32, ()>(black_box(1)))
        })
    });
    group.finish();
}

fn two_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("two_threads_closed_acquire_success");
    let seawall = Arc::new(CircuitBreaker::new(&CONSECUTIVE));
    let failsafe = Arc::new(failsafe_breaker());
    for name in ["seawall", "failsafe"] {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let per_thread = iters / 2;
                let start = StdInstant::now();
                std::thread::scope(|s| {
                    for _ in 0..2 {
                        let (seawall, failsafe) = (&seawall, &failsafe);
                        s.spawn(move || {
                            let now = Instant::from_secs(1);
                            for _ in 0..per_thread {
                                if name == "seawall" {
                                    let permit = seawall.try_acquire(&now).unwrap();
                                    black_box(permit.success(&now).is_some());
                                } else {
                                    assert!(failsafe.is_call_permitted());
                                    failsafe.on_success();
                                }
                            }
                        });
                    }
                });
                // Wall time over the calls of both threads: the time per call
                // of the pair's combined throughput.
                start.elapsed()
            })
        });
    }
    group.finish();
}

fn sizes(_: &mut Criterion) {
    use seawall_core::breaker::{Bucket, TimeWindow};
    println!(
        "size_of: consecutive breaker {} B; with CountWindow<100> {} B; with TimeWindow<10> {} B",
        std::mem::size_of::<CircuitBreaker>(),
        std::mem::size_of::<CircuitBreaker<&BreakerConfig, CountWindow<[Slot; 100]>>>(),
        std::mem::size_of::<CircuitBreaker<&BreakerConfig, TimeWindow<[Bucket; 10]>>>(),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = sizes, floor, closed, open, half_open, rate_mode, two_threads
}
criterion_main!(benches);
