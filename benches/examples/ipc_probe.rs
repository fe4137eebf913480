#![allow(missing_docs)]
use std::hint::black_box;
use std::time::Duration;
use seawall_core::breaker::{BreakerConfig, CircuitBreaker};
use seawall_core::time::Instant;
static CONFIG: BreakerConfig = match BreakerConfig::builder().failure_threshold(5).open_duration(Duration::from_secs(3600)).build() { Ok(c) => c, Err(_) => panic!() };
fn main() {
    let which = std::env::args().nth(1).unwrap();
    let n: u64 = std::env::args().nth(2).unwrap().parse().unwrap();
    let b = CircuitBreaker::new(&CONFIG);
    let now = Instant::from_secs(1);
    if which == "open" { for _ in 0..5 { b.try_acquire(&now).unwrap().failure(&now); } }
    let counter = std::sync::atomic::AtomicU64::new(0);
    if which == "floor" { for _ in 0..n { black_box(black_box(&counter).fetch_add(1, std::sync::atomic::Ordering::Relaxed)); } return; }
    for _ in 0..n {
        if which == "open" { black_box(black_box(&b).try_acquire(&now).unwrap_err()); }
        else { let p = black_box(&b).try_acquire(&now).unwrap(); black_box(p.success(&now)); }
    }
}
