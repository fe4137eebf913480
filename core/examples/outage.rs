//! A breaker through an outage, driven by a manual clock: what the core decides,
//! second by second. Run with `cargo run -p seawall-core --example outage`.

use core::time::Duration;

use seawall_core::breaker::{BreakerConfig, CircuitBreaker};
use seawall_core::time::ManualClock;

fn main() {
    let config = BreakerConfig::builder()
        .failure_threshold(3)
        .success_threshold(2)
        .open_duration(Duration::from_secs(5))
        .build()
        .expect("a valid configuration");
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();

    // The dependency is down from second 3 to second 14.
    let healthy = |second: u64| !(3..14).contains(&second);
    println!(
        "{:>6}  {:>9}  {:<10}  event",
        "second", "dependency", "state"
    );
    for second in 0..24 {
        let event = match breaker.try_acquire(&clock) {
            Ok(permit) => {
                let probe = permit
                    .transition()
                    .map(|t| format!("({t}) "))
                    .unwrap_or_default();
                let transition = if healthy(second) {
                    permit.success(&clock)
                } else {
                    permit.failure(&clock)
                };
                let outcome = if healthy(second) {
                    "success"
                } else {
                    "failure"
                };
                match transition {
                    Some(t) => format!("{probe}{outcome} ({t})"),
                    None => format!("{probe}{outcome}"),
                }
            }
            Err(rejection) => format!("rejected: {rejection}"),
        };
        let dependency = if healthy(second) { "up" } else { "down" };
        println!(
            "{second:>6}  {dependency:>9}  {:<10}  {event}",
            breaker.state().as_str()
        );
        clock.advance(Duration::from_secs(1));
    }
    let stats = breaker.stats();
    println!(
        "\n{} calls: {} successful, {} failed, {} rejected ({:.0} % fail-fast), {} transitions",
        stats.total_calls(),
        stats.successful,
        stats.failed,
        stats.rejected,
        stats.rejection_rate() * 100.0,
        stats.state_transitions
    );
}
