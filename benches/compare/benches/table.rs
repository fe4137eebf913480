//! The comparison table of docs/BENCHMARKS.md, seawall against every peer, in
//! one run: `scripts/bench.sh` runs it in the default release profile and
//! with LTO, and prints both tables.
//!
//! ```sh
//! cargo bench -p seawall-compare --bench table            # 15 rounds
//! cargo bench -p seawall-compare --bench table -- 31      # more rounds
//! cargo bench -p seawall-compare --bench table -- 9 window # the rows whose work says "window"
//! ```
//!
//! Every case runs for about 10 ms per round, all cases in turn, and keeps its
//! fastest round: on a shared machine a case measured minutes after another
//! sees another load, and interleaving puts both under the same. Each table row
//! is one piece of work; the ratio column is the peer's time over seawall's,
//! measured in the same rounds (above 1: seawall is faster). The goals of
//! issue 19 are ratios of seawall's own rows, printed after the table.
#![allow(missing_docs, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant as StdInstant};

use seawall_core::breaker::{BreakerConfig, CountWindow, Outcome, Slot};
use seawall_core::time::{Clock, Instant};
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceExt};

// ---------------------------------------------------------------------------
// Heap accounting: bytes allocated by a constructor (a counting allocator).

struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting the bytes asked for.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is System's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes `make` allocates (what the value keeps alive, if it frees nothing).
fn heap_of<T>(make: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATED.load(Ordering::Relaxed);
    let value = make();
    (ALLOCATED.load(Ordering::Relaxed) - before, value)
}

// ---------------------------------------------------------------------------
// The harness.

/// One case: a piece of work done by one implementation. `run(n)` does it `n`
/// times and returns the ns per call.
struct Case {
    work: &'static str,
    who: &'static str,
    run: Box<dyn FnMut(u64) -> f64>,
    iters: u64,
    best: f64,
}

struct Table {
    cases: Vec<Case>,
}

impl Table {
    fn add(
        &mut self,
        work: &'static str,
        who: &'static str,
        run: impl FnMut(u64) -> f64 + 'static,
    ) {
        self.cases.push(Case {
            work,
            who,
            run: Box::new(run),
            iters: 0,
            best: f64::MAX,
        });
    }

    fn ns(&self, work: &str, who: &str) -> f64 {
        self.cases
            .iter()
            .find(|c| c.work == work && c.who == who)
            .unwrap_or_else(|| panic!("no case {work} / {who}"))
            .best
    }

    fn run(&mut self, rounds: usize) {
        // Calibrate: about 10 ms a round per case.
        for case in &mut self.cases {
            let mut n = 1_000u64;
            loop {
                let ns = (case.run)(n);
                let total = ns * n as f64;
                if total > 2e6 || n > 1 << 30 {
                    case.iters = ((1e7 / ns.max(0.1)) as u64).max(1_000);
                    break;
                }
                n *= 4;
            }
        }
        for round in 0..rounds {
            for case in &mut self.cases {
                case.best = case.best.min((case.run)(case.iters));
            }
            eprint!("\rround {} of {rounds}", round + 1);
        }
        eprintln!();
    }
}

/// ns per call of `$body`, `$n` times in a plain loop.
macro_rules! looped {
    ($n:expr, $body:expr) => {{
        let n = $n;
        let start = StdInstant::now();
        for _ in 0..n {
            let _ = black_box($body);
        }
        start.elapsed().as_nanos() as f64 / n as f64
    }};
}

/// ns per await of `$op`, `$n` times in one `block_on`.
macro_rules! awaited {
    ($rt:expr, $n:expr, $op:expr) => {{
        let n = $n;
        $rt.block_on(async {
            let start = StdInstant::now();
            for _ in 0..n {
                let _ = black_box($op.await);
            }
            start.elapsed().as_nanos() as f64 / n as f64
        })
    }};
}

/// Two threads doing `body` `n` times each on shared state, started together
/// (a barrier): the time each caller sees per call (`per_caller`, the mean of
/// the two), or the time until both finished over all `2 n` calls.
fn two_threads(n: u64, per_caller: bool, body: impl Fn() + Sync) -> f64 {
    let barrier = std::sync::Barrier::new(2);
    let own: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = StdInstant::now();
                    for _ in 0..n {
                        body();
                    }
                    start.elapsed().as_nanos() as f64
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    if per_caller {
        own.iter().sum::<f64>() / (2 * n) as f64
    } else {
        own.iter().copied().fold(0.0, f64::max) / (2 * n) as f64
    }
}

// ---------------------------------------------------------------------------
// The contenders, each configured for the same rule.

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

/// recloser has one rule: a failure rate over a ring of the last calls.
fn recloser_breaker(len: usize) -> recloser::Recloser {
    recloser::Recloser::custom()
        .error_rate(0.5)
        .closed_len(len)
        .open_wait(Duration::from_secs(3600))
        .build()
}

/// The core's clock over quanta, read as governor reads its default clock.
struct QuantaClock(quanta::Clock);

impl Clock for QuantaClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.0.delta_as_nanos(0, self.0.raw()))
    }
}

/// The core's clock over `std::time::Instant`.
struct StdClock(StdInstant);

impl Clock for StdClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.0.elapsed().as_nanos() as u64)
    }
}

async fn work(x: u64) -> Result<u64, std::io::Error> {
    Ok(black_box(x))
}

async fn failing(_: u64) -> Result<u64, std::io::Error> {
    Err(std::io::Error::other("down"))
}

fn seawall_tokio_breaker() -> seawall::CircuitBreaker {
    seawall::CircuitBreaker::new(
        "bench",
        seawall::CircuitBreakerConfig {
            failure_threshold: 5,
            timeout: Duration::from_secs(3600),
            ..Default::default()
        },
    )
}

fn failsafe_async() -> impl failsafe::futures::CircuitBreaker + Clone {
    failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::consecutive_failures(
            5,
            failsafe::backoff::constant(Duration::from_secs(3600)),
        ))
        .build()
}

fn tower_resilience_layer() -> tower_resilience_circuitbreaker::CircuitBreakerLayer<
    tower_resilience_circuitbreaker::DefaultClassifier,
> {
    tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .failure_rate_threshold(0.5)
        .sliding_window_size(100)
        .minimum_number_of_calls(100)
        .wait_duration_in_open(Duration::from_secs(3600))
        .build()
        .unwrap()
}

/// seatbelt's context on tokio's clock (which spawns a task: call it inside a runtime).
fn seatbelt_context() -> seatbelt::ResilienceContext<u64, Result<u64, std::io::Error>> {
    seatbelt::ResilienceContext::new(tick::Clock::new_tokio())
}

fn current_thread() -> &'static Runtime {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    Box::leak(Box::new(rt))
}

fn multi_thread() -> &'static Runtime {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    Box::leak(Box::new(rt))
}

// Row names, shared by the cases and the goals.
const CORE_CLOSED: &str = "core breaker, Closed: acquire + success (consecutive rule)";
const CORE_WINDOW: &str = "core breaker, Closed: acquire + success into a 100-call window";
const CORE_OPEN: &str = "core breaker, Open: rejection, reading `std::time::Instant`";
const CORE_OPEN_GIVEN: &str = "core breaker, Open: rejection, time given";
const TWO_CALLER: &str = "2 threads, one consecutive breaker: ns per call, as each caller sees it";
const TWO_TOTAL: &str =
    "2 threads, one consecutive breaker: time until both finish, over all calls";
const TWO_WINDOW: &str =
    "2 threads, one 100-call window breaker: ns per call, as each caller sees it";
const GCRA_OK: &str = "rate limiter (GCRA), admitted, quanta clock read inside";
const GCRA_NO: &str = "rate limiter (GCRA), refused, quanta clock read inside";
const FLOOR: &str = "floor: one uncontended `fetch_add`";
const PLAIN: &str = "tokio: a plain await of the same future";
const CALL: &str = "tokio: a call through a Closed breaker";
const TOWER: &str = "tower: a call through a breaker layer (`ready` + `call`)";
const TOWER_NONE: &str = "tower: the same service, no layer";
const OPEN_MT: &str = "tokio: a call rejected by an Open breaker (multi-thread runtime)";
const TIMEOUT: &str = "tokio: a timeout around a future that is ready";
const RETRY: &str = "tokio: a retry whose first attempt succeeds";

fn cases(table: &mut Table) {
    let ct = current_thread();
    let mt = multi_thread();
    let _entered = ct.enter();

    // The floor.
    let counter = Arc::new(AtomicU64::new(0));
    table.add(FLOOR, "-", move |n| {
        looped!(n, black_box(&*counter).fetch_add(1, Ordering::Relaxed))
    });

    // Core breaker, Closed, consecutive rule.
    let now = Instant::from_secs(1);
    let core = seawall_core::breaker::CircuitBreaker::new(&CONSECUTIVE);
    table.add(CORE_CLOSED, "seawall", move |n| {
        looped!(n, {
            let permit = black_box(&core).try_acquire(&now).unwrap();
            permit.success(&now).is_some()
        })
    });
    let fs = failsafe_breaker();
    table.add(CORE_CLOSED, "failsafe", move |n| {
        looped!(n, {
            let breaker = black_box(&fs);
            assert!(breaker.is_call_permitted());
            breaker.on_success();
        })
    });
    let rc = recloser_breaker(100);
    table.add(
        CORE_CLOSED,
        "recloser (100-call ring, its only rule)",
        move |n| {
            looped!(
                n,
                black_box(&rc).call(|| Ok::<u32, ()>(black_box(1))).is_ok()
            )
        },
    );

    // Core breaker, 100-call window.
    let config: &'static BreakerConfig = Box::leak(Box::new(
        BreakerConfig::builder().minimum_calls(100).build().unwrap(),
    ));
    let windowed = seawall_core::breaker::CircuitBreaker::with_window(
        config,
        CountWindow::<[Slot; 100]>::new(),
    );
    table.add(CORE_WINDOW, "seawall", move |n| {
        looped!(n, {
            let permit = black_box(&windowed).try_acquire(&now).unwrap();
            permit.record(Outcome::Success, None, &now).is_some()
        })
    });
    let rc = recloser_breaker(100);
    table.add(CORE_WINDOW, "recloser", move |n| {
        looped!(
            n,
            black_box(&rc).call(|| Ok::<u32, ()>(black_box(1))).is_ok()
        )
    });

    // Core breaker, Open.
    let std_clock = StdClock(StdInstant::now());
    let open = seawall_core::breaker::CircuitBreaker::new(&CONSECUTIVE);
    let t = std_clock.now();
    for _ in 0..5 {
        open.try_acquire(&t).unwrap().failure(&t);
    }
    let open = Arc::new(open);
    let open2 = Arc::clone(&open);
    table.add(CORE_OPEN_GIVEN, "seawall", move |n| {
        looped!(n, black_box(&*open2).try_acquire(&t).is_err())
    });
    table.add(CORE_OPEN, "seawall", move |n| {
        looped!(n, black_box(&*open).try_acquire(&std_clock).is_err())
    });
    let fs = failsafe_breaker();
    for _ in 0..5 {
        fs.on_error();
    }
    table.add(CORE_OPEN, "failsafe", move |n| {
        looped!(n, !black_box(&fs).is_call_permitted())
    });
    let rc = recloser_breaker(100);
    for _ in 0..200 {
        let _ = rc.call(|| Err::<(), u32>(1));
    }
    table.add(CORE_OPEN, "recloser", move |n| {
        looped!(n, black_box(&rc).call(|| Ok::<u32, ()>(1)).is_err())
    });

    // Two threads on one breaker.
    for (work, per_caller) in [(TWO_CALLER, true), (TWO_TOTAL, false)] {
        let core = Arc::new(seawall_core::breaker::CircuitBreaker::new(&CONSECUTIVE));
        table.add(work, "seawall", move |n| {
            two_threads(n, per_caller, || {
                let permit = core.try_acquire(&now).unwrap();
                black_box(permit.success(&now).is_some());
            })
        });
        let fs = Arc::new(failsafe_breaker());
        table.add(work, "failsafe", move |n| {
            two_threads(n, per_caller, || {
                assert!(fs.is_call_permitted());
                fs.on_success();
            })
        });
        let rc = Arc::new(recloser_breaker(100));
        table.add(work, "recloser (100-call ring)", move |n| {
            two_threads(n, per_caller, || {
                black_box(rc.call(|| Ok::<u32, ()>(black_box(1))).is_ok());
            })
        });
    }
    let windowed = Arc::new(seawall_core::breaker::CircuitBreaker::with_window(
        config,
        CountWindow::<[Slot; 100]>::new(),
    ));
    table.add(TWO_WINDOW, "seawall", move |n| {
        two_threads(n, true, || {
            let permit = windowed.try_acquire(&now).unwrap();
            black_box(permit.record(Outcome::Success, None, &now).is_some());
        })
    });
    let rc = Arc::new(recloser_breaker(100));
    table.add(TWO_WINDOW, "recloser", move |n| {
        two_threads(n, true, || {
            black_box(rc.call(|| Ok::<u32, ()>(black_box(1))).is_ok());
        })
    });

    // GCRA against governor, both reading quanta.
    let roomy = || {
        seawall_core::rate_limit::Quota::new(1_000_000_000, Duration::from_secs(1), 1_000_000)
            .unwrap()
    };
    let nz = |n| std::num::NonZeroU32::new(n).unwrap();
    let limiter = seawall_core::rate_limit::RateLimiter::new(roomy());
    let qc = QuantaClock(quanta::Clock::new());
    table.add(GCRA_OK, "seawall", move |n| {
        looped!(n, black_box(&limiter).check(&qc).is_ok())
    });
    let gov = governor::RateLimiter::direct(
        governor::Quota::per_second(nz(1_000_000_000)).allow_burst(nz(1_000_000)),
    );
    table.add(GCRA_OK, "governor", move |n| {
        looped!(n, black_box(&gov).check().is_ok())
    });
    let tight = seawall_core::rate_limit::RateLimiter::new(
        seawall_core::rate_limit::Quota::new(1, Duration::from_secs(3600), 1).unwrap(),
    );
    let qc = QuantaClock(quanta::Clock::new());
    tight.check(&qc).unwrap();
    table.add(GCRA_NO, "seawall", move |n| {
        looped!(n, black_box(&tight).check(&qc).is_err())
    });
    let gov = governor::RateLimiter::direct(governor::Quota::per_hour(nz(1)));
    gov.check().unwrap();
    table.add(GCRA_NO, "governor", move |n| {
        looped!(n, black_box(&gov).check().is_err())
    });

    // tokio: a plain await, and the core's acquire + success inside the same loop.
    table.add(PLAIN, "-", move |n| awaited!(ct, n, work(1)));
    let core = seawall_core::breaker::CircuitBreaker::new(&CONSECUTIVE);
    table.add(PLAIN, "the core's acquire + success around it", move |n| {
        awaited!(ct, n, async {
            let permit = black_box(&core).try_acquire(&now).unwrap();
            let result = work(1).await;
            black_box(permit.success(&now).is_some());
            result
        })
    });

    // tokio: a Closed call.
    let cb = seawall_tokio_breaker();
    table.add(CALL, "seawall", move |n| {
        awaited!(ct, n, cb.call(|| work(1)))
    });
    use failsafe::futures::CircuitBreaker as _;
    let fs = failsafe_async();
    table.add(CALL, "failsafe", move |n| awaited!(ct, n, fs.call(work(1))));
    {
        use layered::{Execute, Service as _, Stack as _};
        let ctx = seatbelt_context();
        let service = (
            seatbelt::breaker::Breaker::layer("bench", &ctx)
                .recovery_with(|out: &Result<u64, std::io::Error>, _| match out {
                    Ok(_) => seatbelt::RecoveryInfo::never(),
                    Err(_) => seatbelt::RecoveryInfo::retry(),
                })
                .rejected_input_error(|_, _| std::io::Error::other("open")),
            Execute::new(work),
        )
            .into_service();
        table.add(CALL, "seatbelt", move |n| {
            awaited!(ct, n, service.execute(1))
        });
    }

    // tower: the same service with and without a breaker layer.
    let mut plain = tower::service_fn(work);
    table.add(TOWER_NONE, "-", move |n| {
        awaited!(ct, n, async { plain.ready().await?.call(1).await })
    });
    let mut layered =
        seawall::CircuitBreakerLayer::new(seawall_tokio_breaker()).layer(tower::service_fn(work));
    table.add(TOWER, "seawall", move |n| {
        awaited!(ct, n, async { layered.ready().await?.call(1).await })
    });
    let mut peer = tower_resilience_layer().layer(tower::service_fn(work));
    table.add(TOWER, "tower-resilience", move |n| {
        awaited!(ct, n, async { peer.ready().await?.call(1).await })
    });

    // tokio: an Open rejection on a multi-thread runtime (the adapters' clock).
    let cb = seawall_tokio_breaker();
    let fs = failsafe_async();
    mt.block_on(async {
        for _ in 0..5 {
            let _ = cb.call(|| failing(0)).await;
            let _ = fs.call(failing(0)).await;
        }
    });
    assert!(mt.block_on(cb.call(|| work(1))).is_err());
    table.add(OPEN_MT, "seawall", move |n| {
        awaited!(mt, n, cb.call(|| work(1)))
    });
    table.add(OPEN_MT, "failsafe", move |n| {
        awaited!(mt, n, fs.call(work(1)))
    });

    // tokio: a timeout around a ready future.
    let limit = Duration::from_secs(5);
    table.add(TIMEOUT, "seawall", move |n| {
        awaited!(ct, n, seawall::with_timeout(limit, || work(1)))
    });
    table.add(TIMEOUT, "tokio::time::timeout", move |n| {
        awaited!(ct, n, tokio::time::timeout(limit, work(1)))
    });
    {
        use layered::{Execute, Service as _, Stack as _};
        let ctx = seatbelt_context();
        let service = (
            seatbelt::timeout::Timeout::layer("bench", &ctx)
                .timeout_error(|_| std::io::Error::other("timed out"))
                .timeout(limit),
            Execute::new(work),
        )
            .into_service();
        table.add(TIMEOUT, "seatbelt", move |n| {
            awaited!(ct, n, service.execute(1))
        });
    }

    // tokio: a retry whose first attempt succeeds.
    let policy = seawall::RetryPolicy::default();
    table.add(RETRY, "seawall", move |n| {
        awaited!(ct, n, policy.execute(|| work(1)))
    });
    table.add(RETRY, "backon", move |n| {
        use backon::Retryable as _;
        awaited!(
            ct,
            n,
            (|| work(1)).retry(backon::ExponentialBuilder::default())
        )
    });
    {
        use layered::{Execute, Service as _, Stack as _};
        let ctx = seatbelt_context();
        let service = (
            seatbelt::retry::Retry::layer("bench", &ctx)
                .clone_input()
                .recovery_with(|out: &Result<u64, std::io::Error>, _| match out {
                    Ok(_) => seatbelt::RecoveryInfo::never(),
                    Err(_) => seatbelt::RecoveryInfo::retry(),
                }),
            Execute::new(work),
        )
            .into_service();
        table.add(RETRY, "seatbelt", move |n| {
            awaited!(ct, n, service.execute(1))
        });
    }
}

fn size<F: Future>(future: F) -> usize {
    std::mem::size_of_val(&future)
}

/// Heap and future sizes: deterministic, printed once.
fn memory() {
    println!("| memory | seawall | failsafe | recloser | seatbelt | tower-resilience |");
    println!("|---|---:|---:|---:|---:|---:|");
    let rt = current_thread();
    let _entered = rt.enter();
    let (seawall_heap, cb) = heap_of(seawall_tokio_breaker);
    let (failsafe_heap, fs) = heap_of(failsafe_async);
    let (recloser_heap, _rc) = heap_of(|| recloser_breaker(100));
    let (seatbelt_heap, _sb) = heap_of(|| {
        use layered::{Execute, Stack as _};
        let ctx = seatbelt_context();
        (
            seatbelt::breaker::Breaker::layer("bench", &ctx)
                .recovery_with(|_: &Result<u64, std::io::Error>, _| seatbelt::RecoveryInfo::never())
                .rejected_input_error(|_, _| std::io::Error::other("open")),
            Execute::new(work),
        )
            .into_service()
    });
    let (tr_heap, _tr) = heap_of(|| tower_resilience_layer().layer(tower::service_fn(work)));
    println!(
        "| a breaker's heap (B) | {seawall_heap} | {failsafe_heap} | {recloser_heap} (100-call ring) | {seatbelt_heap} (with its service) | {tr_heap} (with its service) |"
    );
    println!(
        "| of which (B) | the core's breaker {}, its configuration {}, the adapter's `CircuitBreakerConfig` {} | | | | |",
        std::mem::size_of::<seawall_core::breaker::CircuitBreaker>(),
        std::mem::size_of::<BreakerConfig>(),
        std::mem::size_of::<seawall::CircuitBreakerConfig>(),
    );
    use failsafe::futures::CircuitBreaker as _;
    let user = size(work(1));
    println!(
        "| a Closed call's future (B; the user's future: {user}) | {} | {} | | | |",
        size(cb.call(|| work(1))),
        size(fs.call(work(1))),
    );
    let policy = seawall::RetryPolicy::default();
    use backon::Retryable as _;
    println!(
        "| a retry's future (B) | {} | | | | backon: {} |",
        size(policy.execute(|| work(1))),
        size((|| work(1)).retry(backon::ExponentialBuilder::default())),
    );
    println!(
        "| a timeout's future (B) | {} | | | | tokio: {} |",
        size(seawall::with_timeout(Duration::from_secs(1), || work(1))),
        size(tokio::time::timeout(Duration::from_secs(1), work(1))),
    );
    println!();
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(15);
    // Any other argument: run only the rows whose work contains it (no goals).
    let only: Option<String> = std::env::args()
        .skip(1)
        .find(|arg| arg.parse::<usize>().is_err() && !arg.starts_with('-'));
    memory();
    let mut table = Table { cases: Vec::new() };
    cases(&mut table);
    if let Some(only) = &only {
        table.cases.retain(|case| case.work.contains(only.as_str()));
    }
    table.run(rounds);

    println!("| work | implementation | ns per call | peer / seawall |");
    println!("|---|---|---:|---:|");
    let mut works: Vec<&str> = Vec::new();
    for case in &table.cases {
        if !works.contains(&case.work) {
            works.push(case.work);
        }
    }
    for work in works {
        let ours = table
            .cases
            .iter()
            .find(|c| c.work == work && c.who == "seawall")
            .map(|c| c.best);
        for case in table.cases.iter().filter(|c| c.work == work) {
            let ratio = match ours {
                Some(ours) if case.who != "seawall" && case.who != "-" => {
                    format!("{:.2}x", case.best / ours)
                }
                _ => String::new(),
            };
            let who = if case.who == "seawall" {
                "**seawall**".to_string()
            } else {
                case.who.to_string()
            };
            println!("| {work} | {who} | {:.1} | {ratio} |", case.best);
        }
    }
    println!();
    if only.is_some() {
        return;
    }

    // The goals of issue 19, each a ratio within this run.
    let fastest = |work: &str| {
        table
            .cases
            .iter()
            .filter(|c| c.work == work && c.who != "seawall" && c.who != "-")
            .map(|c| c.best)
            .fold(f64::MAX, f64::min)
    };
    let plain = table.ns(PLAIN, "-");
    let core_added = table.ns(PLAIN, "the core's acquire + success around it") - plain;
    let call_added = table.ns(CALL, "seawall") - plain;
    let goals = [
        (
            "core breaker (consecutive) at least 3x cheaper than the fastest peer",
            fastest(CORE_CLOSED) / table.ns(CORE_CLOSED, "seawall"),
            3.0,
            true,
        ),
        (
            "core breaker (100-call window) at least 3x cheaper than the fastest peer",
            fastest(CORE_WINDOW) / table.ns(CORE_WINDOW, "seawall"),
            3.0,
            true,
        ),
        (
            "tokio `cb.call` (Closed) within 1.5x of the same await with the core's acquire + success by hand",
            table.ns(CALL, "seawall") / table.ns(PLAIN, "the core's acquire + success around it"),
            1.5,
            false,
        ),
        (
            "... and what it adds to the plain await, within 1.5x of what the core's adds",
            call_added / core_added,
            1.5,
            false,
        ),
        (
            "tower layer within 1.3x of the same service without it",
            table.ns(TOWER, "seawall") / table.ns(TOWER_NONE, "-"),
            1.3,
            false,
        ),
        (
            "tower layer within 1.3x of the direct `cb.call`",
            table.ns(TOWER, "seawall") / table.ns(CALL, "seawall"),
            1.3,
            false,
        ),
        (
            "`with_timeout` (ready future) no slower than the fastest peer",
            table.ns(TIMEOUT, "seawall") / fastest(TIMEOUT),
            1.0,
            false,
        ),
        (
            "windowed breaker under 2 threads within 2x of the consecutive one (per caller)",
            table.ns(TWO_WINDOW, "seawall") / table.ns(TWO_CALLER, "seawall"),
            2.0,
            false,
        ),
    ];
    println!("| goal | ratio in this run | verdict |");
    println!("|---|---:|---|");
    for (goal, ratio, bound, at_least) in goals {
        let met = if at_least {
            ratio >= bound
        } else {
            ratio <= bound
        };
        println!(
            "| {goal} | {ratio:.2}x | {} |",
            if met { "met" } else { "**missed**" }
        );
    }
    println!();
    println!(
        "(tokio `cb.call` adds {call_added:.1} ns to the plain await ({plain:.1} ns); the core's acquire + success adds {core_added:.1} ns.)"
    );
}
