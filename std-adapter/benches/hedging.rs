//! seawall's hedge and tower's, side by side on one load, in tokio's paused
//! (virtual) time: a 100-way fan-out whose calls are 10x slower 1 % of the
//! time, each attempt drawn on its own from a seeded generator, so that both
//! meet the same latencies. Prints one table; results in `docs/BENCHMARKS.md`.
//!
//! ```sh
//! cargo bench -p seawall --bench hedging            # 3 000 requests
//! cargo bench -p seawall --bench hedging -- 10000   # more
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use seawall::Hedge;
use seawall::core::hedge::HedgeDelay;
use seawall::core::rng::{Rng, SplitMix64, unit};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::{ServiceExt, service_fn};

const FAN_OUT: u64 = 100;
const RATE: f64 = 100.0;

/// One call: which request and part it is, and its attempts so far (shared
/// by the copies tower's hedge sends).
#[derive(Clone)]
struct Call {
    id: u64,
    attempts: Arc<AtomicU32>,
}

/// The dependency: lognormal, median 10 ms and p99 12 ms, plus 90 ms on 1 %
/// of the attempts; the same for the same call and attempt in every run.
fn latency(seed: u64, call: u64, attempt: u32) -> Duration {
    let mut rng =
        SplitMix64::new(seed ^ call.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(attempt) << 56);
    rng.next_u64();
    let (u1, u2) = (unit(&mut rng).max(1e-12), unit(&mut rng));
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let sigma = 1.2f64.ln() / 2.326_347_874_040_841;
    let mut ms = 10.0 * (sigma * z).exp();
    if unit(&mut rng) < 0.01 {
        ms += 90.0;
    }
    Duration::from_secs_f64(ms / 1e3)
}

struct Outcome {
    requests: Vec<Duration>,
    attempts: u64,
    calls: u64,
}

/// Runs `requests` fan-out requests, calling `call` for each of their calls.
async fn run<C, F>(seed: u64, requests: u64, call: C) -> Outcome
where
    C: Fn(Call) -> F + Clone + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let mut arrivals = SplitMix64::new(seed);
    let mut set = JoinSet::new();
    let attempts = Arc::new(AtomicU64::new(0));
    for request in 0..requests {
        let gap = -unit(&mut arrivals).max(1e-12).ln() / RATE;
        tokio::time::sleep(Duration::from_secs_f64(gap)).await;
        let (call, attempts) = (call.clone(), Arc::clone(&attempts));
        set.spawn(async move {
            let begun = Instant::now();
            let mut parts = JoinSet::new();
            for part in 0..FAN_OUT {
                let one = Call {
                    id: request * FAN_OUT + part,
                    attempts: Arc::new(AtomicU32::new(0)),
                };
                let (call, attempts, counter) = (
                    call.clone(),
                    Arc::clone(&attempts),
                    Arc::clone(&one.attempts),
                );
                parts.spawn(async move {
                    call(one).await;
                    attempts.fetch_add(
                        u64::from(counter.load(Ordering::Relaxed)),
                        Ordering::Relaxed,
                    );
                });
            }
            while parts.join_next().await.is_some() {}
            begun.elapsed()
        });
    }
    let mut latencies = Vec::new();
    while let Some(latency) = set.join_next().await {
        latencies.push(latency.unwrap());
    }
    latencies.sort();
    Outcome {
        requests: latencies,
        attempts: attempts.load(Ordering::Relaxed),
        calls: requests * FAN_OUT,
    }
}

/// The dependency's attempt for `call`.
async fn attempt(seed: u64, call: Call) -> Result<(), std::io::Error> {
    let number = call.attempts.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(latency(seed, call.id, number)).await;
    Ok(())
}

fn seawall(
    seed: u64,
    max_attempts: u32,
    at_once: u32,
) -> impl Fn(Call) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Clone {
    let hedge = Hedge::builder("bench")
        .max_attempts(max_attempts)
        .at_once(at_once)
        .delay(HedgeDelay::Percentile {
            percentile: 0.95,
            min: Duration::from_millis(1),
            max: Duration::from_secs(2),
            min_samples: 100,
            window: Duration::from_secs(10),
        })
        .build()
        .unwrap();
    move |call: Call| {
        let hedge = hedge.clone();
        Box::pin(async move {
            let _ = hedge.call(|| attempt(seed, call.clone())).await;
        })
    }
}

#[derive(Clone)]
struct Always;

impl tower::hedge::Policy<Call> for Always {
    fn clone_request(&self, call: &Call) -> Option<Call> {
        Some(call.clone())
    }
    fn can_retry(&self, _: &Call) -> bool {
        true
    }
}

fn tower_hedge(
    seed: u64,
) -> impl Fn(Call) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Clone {
    let inner = service_fn(move |call: Call| attempt(seed, call));
    // The same rule as seawall's below: the 95th percentile (a quantile in
    // 0..=1, as tower's tests give it) once 100 latencies are known, over a
    // rotating histogram of 10 s periods.
    let hedge = tower::hedge::Hedge::new(inner, Always, 100, 0.95, Duration::from_secs(10));
    let service = tower::buffer::Buffer::new(hedge, 100_000);
    move |call: Call| {
        let service = service.clone();
        Box::pin(async move {
            let _ = service.oneshot(call).await;
        })
    }
}

fn row(name: &str, outcome: &Outcome, base: Option<Duration>) -> Duration {
    let at = |q: f64| {
        let n = outcome.requests.len();
        outcome.requests[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
    };
    let p99 = at(0.99);
    let down = base.map_or(String::from("-"), |b| {
        format!(
            "{:.1} %",
            (1.0 - p99.as_secs_f64() / b.as_secs_f64()) * 100.0
        )
    });
    println!(
        "| {name} | {:.2} % | {:.1} ms | {:.1} ms | {down} |",
        (outcome.attempts - outcome.calls) as f64 * 100.0 / outcome.calls as f64,
        at(0.5).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
    );
    p99
}

fn main() {
    let requests: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3_000);
    let seed = 1;
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    };
    println!("{requests} requests of {FAN_OUT} calls, virtual time\n");
    println!("| hedge | extra calls | request p50 | request p99 | p99 down |");
    println!("|---|---|---|---|---|");
    let plain = runtime().block_on(run(seed, requests, move |call: Call| async move {
        let _ = attempt(seed, call).await;
    }));
    let base = row("none", &plain, None);
    let tower = runtime().block_on(async move { run(seed, requests, tower_hedge(seed)).await });
    row("tower hedge (p95, one hedge)", &tower, Some(base));
    for (name, max_attempts, at_once) in [
        ("seawall Hedge (p95, one hedge)", 2, 1),
        ("seawall Hedge (p95, two in a row)", 3, 1),
        ("seawall Hedge (p95, two at once)", 3, 2),
    ] {
        let outcome = runtime().block_on(run(seed, requests, seawall(seed, max_attempts, at_once)));
        row(name, &outcome, Some(base));
    }
}
