//! The adapter's hot paths and their peers in interleaved rounds, fastest round
//! kept: a measurement that stays usable on a shared, loaded machine, where
//! criterion's medians drift between cases measured minutes apart.
//!
//! ```sh
//! cargo bench -p seawall --bench interleaved            # 15 rounds
//! cargo bench -p seawall --bench interleaved -- 31      # more rounds
//! ```
//!
//! Each round runs every case once, `N` awaits in one `block_on`; the table
//! shows each case's fastest round in ns per await, and what it adds to the
//! plain await of the same future.

use std::hint::black_box;
use std::time::{Duration, Instant};

use backon::Retryable as _;
use failsafe::futures::CircuitBreaker as _;
use seawall::{CircuitBreaker, CircuitBreakerConfig, RetryPolicy, with_timeout};
use tokio::runtime::Runtime;

const N: u32 = 2_000_000;

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

fn failsafe_breaker() -> impl failsafe::futures::CircuitBreaker {
    failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::consecutive_failures(
            1,
            failsafe::backoff::constant(Duration::from_secs(3600)),
        ))
        .build()
}

/// ns per await of `$op`, `N` times in one `block_on`.
macro_rules! time {
    ($rt:expr, $op:expr) => {{
        $rt.block_on(async {
            let start = Instant::now();
            for _ in 0..N {
                let _ = black_box($op.await);
            }
            start.elapsed().as_nanos() as f64 / f64::from(N)
        })
    }};
}

struct Case {
    name: &'static str,
    run: Box<dyn Fn() -> f64>,
    best: f64,
}

fn case(name: &'static str, run: impl Fn() -> f64 + 'static) -> Case {
    Case {
        name,
        run: Box::new(run),
        best: f64::MAX,
    }
}

fn runtime(multi_thread: bool) -> &'static Runtime {
    let mut builder = if multi_thread {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(1);
        builder
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = builder.enable_all().build().unwrap();
    Box::leak(Box::new(runtime))
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(15);
    let ct = runtime(false);
    let mt = runtime(true);

    let closed = seawall_breaker();
    let closed_fs = failsafe_breaker();
    let open_ct = seawall_breaker();
    let open_mt = seawall_breaker();
    let open_fs = failsafe_breaker();
    ct.block_on(async {
        let _ = open_ct.call(|| failing(0)).await;
        let _ = open_fs.call(failing(0)).await;
    });
    mt.block_on(async {
        let _ = open_mt.call(|| failing(0)).await;
    });
    assert!(ct.block_on(open_ct.call(|| work(1))).is_err());
    assert!(mt.block_on(open_mt.call(|| work(1))).is_err());
    let policy = RetryPolicy::default();
    let limit = Duration::from_secs(5);

    let mut cases = vec![
        case("plain await", move || time!(ct, work(1))),
        case("closed: seawall cb.call", move || {
            time!(ct, closed.call(|| work(1)))
        }),
        case("closed: failsafe call", move || {
            time!(ct, closed_fs.call(work(1)))
        }),
        case("open, multi-thread: seawall cb.call", move || {
            time!(mt, open_mt.call(|| work(1)))
        }),
        case("open, current-thread: seawall cb.call", move || {
            time!(ct, open_ct.call(|| work(1)))
        }),
        case("open: failsafe call", move || {
            time!(ct, open_fs.call(work(1)))
        }),
        case("tokio::time::timeout", move || {
            time!(ct, tokio::time::timeout(limit, work(1)))
        }),
        case("seawall with_timeout", move || {
            time!(ct, with_timeout(limit, || work(1)))
        }),
        case("retry: seawall execute", move || {
            time!(ct, policy.execute(|| work(1)))
        }),
        case("retry: backon", move || {
            time!(
                ct,
                (|| work(1)).retry(backon::ExponentialBuilder::default())
            )
        }),
        case("std::time::Instant::now", move || {
            time!(ct, async { Instant::now() })
        }),
    ];
    for _ in 0..rounds {
        for case in &mut cases {
            case.best = case.best.min((case.run)());
        }
    }
    let plain = cases[0].best;
    println!("| case | ns per await | added to the plain await (ns) |");
    println!("|---|---:|---:|");
    for case in &cases {
        println!(
            "| {} | {:.1} | {:.1} |",
            case.name,
            case.best,
            case.best - plain
        );
    }
}
