//! The guide's picture is what a real run of the core draws.

use seawall_core::breaker::State;
use seawall_tests::timeline::{Event, OUTAGE, run, svg};

#[test]
fn the_committed_picture_matches_a_fresh_run() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/img/breaker-timeline.svg"
    );
    let committed = std::fs::read_to_string(path).expect("docs/img/breaker-timeline.svg exists");
    assert!(
        committed == svg(&run()),
        "docs/img/breaker-timeline.svg is stale: regenerate it with \
         `cargo run -p seawall-tests --bin timeline > docs/img/breaker-timeline.svg`"
    );
}

#[test]
fn the_run_shows_fail_fast_and_recovery() {
    let calls = run();
    let during =
        |c: &&seawall_tests::timeline::Call| (OUTAGE.0 as f64..OUTAGE.1 as f64).contains(&c.at);
    let outage: Vec<_> = calls.iter().filter(during).collect();
    let rejected = outage.iter().filter(|c| c.event == Event::Rejected).count();
    assert!(
        rejected * 10 > outage.len() * 8,
        "most outage calls fail fast: {rejected} of {}",
        outage.len()
    );
    assert_eq!(calls.first().unwrap().state, State::Closed);
    assert_eq!(
        calls.last().unwrap().state,
        State::Closed,
        "the breaker recovers"
    );
    assert!(calls.iter().any(|c| c.state == State::HalfOpen));
}
