//! A deterministic measure of the breaker's hot paths: the same loop as the
//! criterion benchmarks, counted in instructions by callgrind, which a loaded
//! machine does not disturb.
//!
//! ```sh
//! cargo build --release -p seawall-benches --example ipc_probe
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/ipc_probe closed 1000
//! ```
//!
//! Run it with 1,000 and 2,000 iterations: the difference of the two totals
//! over 1,000 is the instructions per call. `floor` is one `fetch_add`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use seawall_core::breaker::{BreakerConfig, CircuitBreaker};
use seawall_core::time::Instant;

static CONFIG: BreakerConfig = match BreakerConfig::builder()
    .failure_threshold(5)
    .open_duration(Duration::from_secs(3600))
    .build()
{
    Ok(config) => config,
    Err(_) => panic!("a valid configuration"),
};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(Ok(iterations))) = (args.next(), args.next().map(|n| n.parse::<u64>()))
    else {
        eprintln!("usage: ipc_probe closed|open|half_open|floor ITERATIONS");
        std::process::exit(2);
    };
    let breaker = CircuitBreaker::new(&CONFIG);
    let now = Instant::from_secs(1);
    let counter = AtomicU64::new(0);
    match path.as_str() {
        "floor" => {
            for _ in 0..iterations {
                black_box(black_box(&counter).fetch_add(1, Ordering::Relaxed));
            }
        }
        "closed" => {
            for _ in 0..iterations {
                let permit = black_box(&breaker).try_acquire(&now).unwrap();
                black_box(permit.success(&now));
            }
        }
        "open" => {
            for _ in 0..5 {
                breaker.try_acquire(&now).unwrap().failure(&now);
            }
            for _ in 0..iterations {
                black_box(black_box(&breaker).try_acquire(&now).unwrap_err());
            }
        }
        "half_open" => {
            for _ in 0..5 {
                breaker.try_acquire(&now).unwrap().failure(&now);
            }
            let later = Instant::from_secs(3601);
            drop(breaker.try_acquire(&later).unwrap());
            for _ in 0..iterations {
                drop(black_box(black_box(&breaker).try_acquire(&later).unwrap()));
            }
        }
        other => {
            eprintln!("unknown path {other:?}: closed, open, half_open or floor");
            std::process::exit(2);
        }
    }
}
