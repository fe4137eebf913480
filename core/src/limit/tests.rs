use super::*;
use crate::time::ManualClock;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn aimd(initial: u32) -> LimitConfig {
    LimitConfig::builder()
        .algorithm(Algorithm::Aimd(Aimd::DEFAULT))
        .initial_limit(initial)
        .min_samples(1)
        .build()
        .unwrap()
}

fn gradient() -> LimitConfig {
    LimitConfig::builder()
        .initial_limit(10)
        .min_samples(1)
        .probe_limit(2)
        .probe_samples(4)
        .probe_interval(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `N` calls admitted at once, all succeeding `latency` later.
fn batch<const N: usize>(limiter: &AdaptiveLimiter, clock: &ManualClock, latency: Duration) {
    let permits: [_; N] = core::array::from_fn(|_| limiter.try_acquire(clock).unwrap());
    clock.advance(latency);
    for permit in permits {
        permit.success(clock);
    }
}

/// Finishes a gradient limiter's first probe with four calls of `latency`.
fn probe(limiter: &AdaptiveLimiter, clock: &ManualClock, latency: Duration) {
    for _ in 0..4 {
        batch::<1>(limiter, clock, latency);
    }
    assert!(!limiter.is_probing());
}

#[test]
fn admits_up_to_the_limit_and_drops_release() {
    let limiter = AdaptiveLimiter::new(aimd(2));
    let clock = ManualClock::new();
    let first = limiter.try_acquire(&clock).unwrap();
    let second = limiter.try_acquire(&clock).unwrap();
    assert_eq!(limiter.in_flight(), 2);
    assert_eq!(
        limiter.try_acquire(&clock).unwrap_err(),
        LimitExceeded { limit: 2 }
    );
    drop(first);
    assert_eq!(limiter.in_flight(), 1);
    let ticket = second.into_ticket();
    assert_eq!((ticket.in_flight(), ticket.is_probe()), (2, false));
    assert_eq!(limiter.in_flight(), 1, "into_ticket keeps the place");
    limiter.release(ticket);
    let stats = limiter.stats();
    assert_eq!((stats.in_flight, stats.released, stats.rejected), (0, 2, 1));
    assert_eq!((stats.succeeded, stats.overloaded), (0, 0));
    extern crate std;
    use std::string::ToString;
    assert_eq!(
        LimitExceeded { limit: 2 }.to_string(),
        "concurrency limit reached (2 calls in flight)"
    );
}

#[test]
fn aimd_grows_on_busy_windows_and_backs_off_on_overload() {
    let limiter = AdaptiveLimiter::new(aimd(10));
    let clock = ManualClock::new();
    // Busy windows: 7 of 10 in flight (at least half the limit) grow it by one,
    // when the next window's first call ends.
    for expected in [10, 11, 12, 13] {
        batch::<7>(&limiter, &clock, MS(10));
        assert_eq!(limiter.limit(), expected);
        clock.advance(MS(90));
    }
    // The fourth window is decided on by a quiet call, which opens a window of
    // its own: one call in flight, less than half the limit, changes nothing.
    batch::<1>(&limiter, &clock, MS(10));
    assert_eq!(limiter.limit(), 14);
    clock.advance(MS(90));
    limiter.try_acquire(&clock).unwrap().overload(&clock);
    assert_eq!(limiter.limit(), 14);
    // The overload's window: 14 * 0.9 = 12.6.
    clock.advance(MS(100));
    batch::<1>(&limiter, &clock, MS(10));
    assert_eq!(limiter.limit(), 12);
    // A call slower than the 5 s timeout is an overload too: 12.6 * 0.9.
    batch::<1>(&limiter, &clock, Duration::from_secs(6));
    clock.advance(MS(100));
    batch::<1>(&limiter, &clock, MS(1));
    assert_eq!(limiter.limit(), 11);
    assert_eq!(limiter.stats().overloaded, 2);
    assert_eq!(limiter.baseline(), None, "aimd never probes");
}

#[test]
fn a_window_needs_min_samples() {
    let config = aimd(4).to_builder().min_samples(3).build().unwrap();
    let limiter = AdaptiveLimiter::new(config);
    let clock = ManualClock::new();
    batch::<2>(&limiter, &clock, MS(10));
    clock.advance(MS(90));
    batch::<3>(&limiter, &clock, MS(10));
    assert_eq!(
        limiter.limit(),
        4,
        "two calls are too few: that window is dropped"
    );
    clock.advance(MS(90));
    batch::<1>(&limiter, &clock, MS(10));
    assert_eq!(limiter.limit(), 5);
}

#[test]
fn the_probe_measures_the_baseline_at_a_low_concurrency() {
    let limiter = AdaptiveLimiter::new(gradient());
    let clock = ManualClock::new();
    assert!(limiter.is_probing());
    assert_eq!(limiter.baseline(), None);
    // At most probe_limit calls at once while probing.
    let probes: [_; 2] = core::array::from_fn(|_| limiter.try_acquire(&clock).unwrap());
    assert_eq!(
        limiter.try_acquire(&clock).unwrap_err(),
        LimitExceeded { limit: 2 }
    );
    assert!(probes.iter().all(|p| p.start() == Instant::ZERO));
    clock.advance(MS(10));
    for permit in probes {
        permit.success(&clock);
    }
    // A dropped probe call teaches nothing.
    drop(limiter.try_acquire(&clock).unwrap());
    for latency in [20, 30] {
        batch::<1>(&limiter, &clock, MS(latency));
    }
    // The mean, every call being within four times the others' mean.
    assert_eq!(limiter.baseline(), Some(Duration::from_micros(17_500)));
    assert!(!limiter.is_probing());
    let permits: [_; 10] = core::array::from_fn(|_| limiter.try_acquire(&clock).unwrap());
    assert!(
        limiter.try_acquire(&clock).is_err(),
        "the limit applies again"
    );
    assert!(!limiter.stats().probing);
    drop(permits);
}

#[test]
fn an_outlier_of_a_probe_is_left_out() {
    assert_eq!(
        probe_mean(10 + 10 + 20 + 30, 4, 10, 30),
        17,
        "ordinary spread"
    );
    assert_eq!(
        probe_mean(10 + 10 + 10 + 50, 4, 10, 50),
        10,
        "one slow call"
    );
    assert_eq!(probe_mean(300 * 9 + 20, 10, 20, 300), 300, "one fast call");
    assert_eq!(
        probe_mean(20 + 300 * 8 + 5000, 10, 20, 5000),
        300,
        "one of each"
    );
    assert_eq!(
        probe_mean(1 + 100, 2, 1, 100),
        50,
        "too few to tell an outlier"
    );
}

#[test]
fn calls_from_before_a_probe_do_not_count_in_it() {
    let limiter = AdaptiveLimiter::new(gradient());
    let clock = ManualClock::new();
    probe(&limiter, &clock, MS(10));
    assert_eq!(limiter.baseline(), Some(MS(10)));
    // Ten seconds later, the first window close starts the next probe while
    // calls run.
    clock.advance(Duration::from_secs(10));
    let [first, rest @ ..]: [_; 5] = core::array::from_fn(|_| limiter.try_acquire(&clock).unwrap());
    clock.advance(MS(100));
    first.success(&clock);
    assert!(limiter.is_probing());
    // The old calls end slow: they are not the probe's, and count nowhere.
    clock.advance(Duration::from_secs(1));
    for permit in rest {
        permit.success(&clock);
    }
    assert_eq!(limiter.baseline(), Some(MS(10)));
    for _ in 0..4 {
        let permit = limiter.try_acquire(&clock).unwrap();
        assert!(limiter.stats().probing);
        clock.advance(MS(12));
        permit.success(&clock);
    }
    assert_eq!(limiter.baseline(), Some(MS(12)));
    assert!(!limiter.is_probing());
}

#[test]
fn gradient_shrinks_under_queueing_and_grows_back() {
    let limiter = AdaptiveLimiter::new(gradient());
    let clock = ManualClock::new();
    probe(&limiter, &clock, MS(10));
    // Ten calls at once at 40 ms, four times the baseline: a gradient of 0.5
    // (1.5 * 10 / 40 = 0.375, clamped), decided on by the next window's call.
    batch::<10>(&limiter, &clock, MS(40));
    clock.advance(MS(60));
    batch::<9>(&limiter, &clock, MS(15));
    assert_eq!(limiter.limit(), 9, "10 * (0.8 + 0.2 * 0.5)");
    // 15 ms is within the tolerance: + 0.2 * 4 a window.
    clock.advance(MS(85));
    batch::<9>(&limiter, &clock, MS(15));
    assert_eq!(limiter.limit(), 9, "9.8");
    clock.advance(MS(85));
    batch::<9>(&limiter, &clock, MS(15));
    assert_eq!(limiter.limit(), 10, "10.6");
}

#[test]
fn reset_returns_to_the_initial_limit_and_probes_again() {
    let limiter = AdaptiveLimiter::new(aimd(10));
    let clock = ManualClock::new();
    limiter.try_acquire(&clock).unwrap().overload(&clock);
    clock.advance(MS(100));
    batch::<1>(&limiter, &clock, MS(1));
    assert_eq!(limiter.limit(), 9);
    limiter.reset();
    assert_eq!(limiter.limit(), 10);
    assert!(!limiter.is_probing());

    let limiter = AdaptiveLimiter::new(gradient());
    for _ in 0..4 {
        limiter.try_acquire(&clock).unwrap().success(&clock);
    }
    assert_eq!(
        limiter.baseline(),
        Some(Duration::from_nanos(1)),
        "instant calls"
    );
    limiter.reset();
    assert!(limiter.is_probing());
    assert_eq!(limiter.baseline(), None);
}

#[test]
fn a_clock_going_back_closes_the_window() {
    let limiter = AdaptiveLimiter::new(aimd(10));
    let clock = ManualClock::starting_at(Instant::from_secs(100));
    batch::<6>(&limiter, &clock, MS(1));
    clock.set(Instant::from_secs(1));
    batch::<1>(&limiter, &clock, MS(1));
    assert_eq!(limiter.limit(), 11);
}

#[test]
fn a_permit_records_through_its_ticket() {
    let limiter = AdaptiveLimiter::new(aimd(3));
    let clock = ManualClock::new();
    let ticket = limiter.try_acquire_ticket(&clock).unwrap();
    assert_eq!(ticket.start(), Instant::ZERO);
    limiter.record(ticket, Outcome::Overload, &clock);
    assert_eq!(limiter.stats().overloaded, 1);
    let permit = limiter.try_acquire(&clock).unwrap();
    permit.record(Outcome::Success, &clock);
    assert_eq!(limiter.stats().succeeded, 1);
    assert_eq!(
        (Outcome::Success.as_str(), Outcome::Overload.as_str()),
        ("success", "overload")
    );
    assert_eq!(limiter.config().initial_limit(), 3);
}
