//! Unit tests of every transition and rule.

use super::*;
use crate::time::ManualClock;

fn config(builder: BreakerConfigBuilder) -> BreakerConfig {
    builder.build().unwrap()
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn consecutive_failures_trip_and_a_success_resets_the_count() {
    let config = config(BreakerConfig::builder().failure_threshold(3));
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    for _ in 0..2 {
        assert_eq!(breaker.try_acquire(&clock).unwrap().failure(&clock), None);
    }
    assert_eq!(breaker.try_acquire(&clock).unwrap().success(&clock), None);
    for _ in 0..2 {
        assert_eq!(breaker.try_acquire(&clock).unwrap().failure(&clock), None);
    }
    assert_eq!(breaker.state(), State::Closed);
    let transition = breaker.try_acquire(&clock).unwrap().failure(&clock);
    assert_eq!(
        transition,
        Some(Transition {
            from: State::Closed,
            to: State::Open
        })
    );
    assert_eq!(breaker.state(), State::Open);
    let stats = breaker.stats();
    assert_eq!(
        (stats.successful, stats.failed, stats.state_transitions),
        (1, 5, 1)
    );
}

#[test]
fn open_rejects_with_the_remaining_time_then_probes() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .open_duration(10 * SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    clock.advance(4 * SECOND);
    let rejection = breaker.try_acquire(&clock).unwrap_err();
    assert_eq!(rejection.reason(), RejectReason::Open);
    assert_eq!(rejection.retry_after(), Some(6 * SECOND));
    clock.advance(6 * SECOND);
    let probe = breaker.try_acquire(&clock).unwrap();
    assert!(probe.is_probe());
    assert_eq!(
        probe.transition(),
        Some(Transition {
            from: State::Open,
            to: State::HalfOpen
        })
    );
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(breaker.stats().rejected, 1);
    drop(probe);
}

#[test]
fn half_open_admits_the_limit_and_closes_after_the_success_threshold() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .half_open_max_calls(2)
            .success_threshold(3)
            .open_duration(SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    clock.advance(SECOND);
    let a = breaker.try_acquire(&clock).unwrap();
    let b = breaker.try_acquire(&clock).unwrap();
    let full = breaker.try_acquire(&clock).unwrap_err();
    assert_eq!(full.reason(), RejectReason::HalfOpenFull);
    assert_eq!(full.retry_after(), None);
    assert_eq!(a.success(&clock), None);
    let c = breaker.try_acquire(&clock).unwrap();
    assert_eq!(b.success(&clock), None);
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(
        c.success(&clock),
        Some(Transition {
            from: State::HalfOpen,
            to: State::Closed
        })
    );
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.stats().state_transitions, 3);
}

#[test]
fn a_failed_probe_reopens_and_stale_probes_change_nothing() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .half_open_max_calls(2)
            .open_duration(SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    clock.advance(SECOND);
    let a = breaker.try_acquire(&clock).unwrap();
    let b = breaker.try_acquire(&clock).unwrap();
    assert_eq!(
        a.failure(&clock),
        Some(Transition {
            from: State::HalfOpen,
            to: State::Open
        })
    );
    assert_eq!(
        breaker.try_acquire(&clock).unwrap_err().retry_after(),
        Some(SECOND)
    );
    // b belongs to the previous half-open round.
    assert_eq!(b.success(&clock), None);
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.stats().successful, 1);
}

#[test]
fn a_dropped_probe_frees_its_slot() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .open_duration(SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    clock.advance(SECOND);
    let probe = breaker.try_acquire(&clock).unwrap();
    assert!(breaker.try_acquire(&clock).is_err());
    drop(probe);
    let probe = breaker.try_acquire(&clock).unwrap();
    assert!(probe.is_probe());
    probe.release();
    let stats = breaker.stats();
    assert_eq!((stats.released, stats.rejected, stats.permitted), (2, 1, 3));
}

#[test]
fn open_duration_grows_on_consecutive_trips_and_resets_on_close() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .success_threshold(1)
            .open_duration(SECOND)
            .open_duration_multiplier(2.0)
            .max_open_duration(3 * SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    let mut expected = [SECOND, 2 * SECOND, 3 * SECOND, 3 * SECOND].into_iter();
    let mut open_for = expected.next().unwrap();
    for next in expected {
        assert_eq!(
            breaker.try_acquire(&clock).unwrap_err().retry_after(),
            Some(open_for)
        );
        clock.advance(open_for);
        breaker.try_acquire(&clock).unwrap().failure(&clock);
        open_for = next;
    }
    assert_eq!(
        breaker.try_acquire(&clock).unwrap_err().retry_after(),
        Some(3 * SECOND)
    );
    clock.advance(3 * SECOND);
    breaker.try_acquire(&clock).unwrap().success(&clock);
    assert_eq!(breaker.state(), State::Closed);
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    assert_eq!(
        breaker.try_acquire(&clock).unwrap_err().retry_after(),
        Some(SECOND)
    );
}

#[test]
fn max_wait_in_half_open_reopens_when_probes_hang() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .open_duration(SECOND)
            .max_wait_in_half_open(5 * SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    clock.advance(SECOND);
    let hung = breaker.try_acquire(&clock).unwrap();
    clock.advance(4 * SECOND);
    assert_eq!(
        breaker.try_acquire(&clock).unwrap_err().reason(),
        RejectReason::HalfOpenFull
    );
    clock.advance(SECOND);
    let rejection = breaker.try_acquire(&clock).unwrap_err();
    assert_eq!(rejection.reason(), RejectReason::Open);
    assert_eq!(
        rejection.transition(),
        Some(Transition {
            from: State::HalfOpen,
            to: State::Open
        })
    );
    assert_eq!(rejection.retry_after(), Some(SECOND));
    assert_eq!(breaker.state(), State::Open);
    // The hung probe's late answer belongs to a finished round.
    assert_eq!(hung.success(&clock), None);
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn without_max_wait_a_hung_probe_keeps_half_open() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .open_duration(SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    clock.advance(SECOND);
    let _hung = breaker.try_acquire(&clock).unwrap();
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        breaker.try_acquire(&clock).unwrap_err().reason(),
        RejectReason::HalfOpenFull
    );
}

#[test]
fn force_open_disable_and_reset() {
    let config = config(BreakerConfig::builder().failure_threshold(1));
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    assert_eq!(
        breaker.force_open(),
        Some(Transition {
            from: State::Closed,
            to: State::ForcedOpen
        })
    );
    assert_eq!(breaker.force_open(), None);
    let rejection = breaker.try_acquire(&clock).unwrap_err();
    assert_eq!(
        (rejection.reason(), rejection.retry_after()),
        (RejectReason::ForcedOpen, None)
    );
    clock.advance(Duration::from_secs(1_000_000));
    assert!(breaker.try_acquire(&clock).is_err());

    assert_eq!(
        breaker.disable(),
        Some(Transition {
            from: State::ForcedOpen,
            to: State::Disabled
        })
    );
    for _ in 0..10 {
        assert_eq!(breaker.try_acquire(&clock).unwrap().failure(&clock), None);
    }
    assert_eq!(breaker.state(), State::Disabled);
    assert_eq!(breaker.stats().failed, 10);

    assert_eq!(
        breaker.reset(),
        Some(Transition {
            from: State::Disabled,
            to: State::Closed
        })
    );
    assert_eq!(breaker.reset(), None);
    assert_eq!(breaker.stats().state_transitions, 3);
}

#[test]
fn reset_clears_consecutive_failures_and_stale_permits_are_ignored() {
    let config = config(BreakerConfig::builder().failure_threshold(2));
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    assert_eq!(breaker.reset(), None);
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    assert_eq!(breaker.state(), State::Closed);
    let old = breaker.try_acquire(&clock).unwrap();
    breaker.force_open();
    breaker.reset();
    // `old` was issued two transitions ago: counted, but no longer part of a run.
    assert_eq!(old.failure(&clock), None);
    assert_eq!(breaker.try_acquire(&clock).unwrap().failure(&clock), None);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn rate_rule_on_a_count_window() {
    let config = config(
        BreakerConfig::builder()
            .failure_rate_threshold(0.5)
            .minimum_calls(4)
            .failure_threshold(1), // ignored with a window
    );
    let breaker = CircuitBreaker::with_window(&config, CountWindow::<[Slot; 4]>::new());
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    breaker.try_acquire(&clock).unwrap().success(&clock);
    assert_eq!(breaker.state(), State::Closed, "minimum_calls not reached");
    let transition = breaker.try_acquire(&clock).unwrap().success(&clock);
    assert_eq!(
        transition,
        Some(Transition {
            from: State::Closed,
            to: State::Open
        })
    );
    let opened_by = WindowTotals {
        calls: 4,
        failed: 2,
        slow: 0,
    };
    assert_eq!(
        breaker.window_totals(&clock),
        opened_by,
        "the window keeps the outcomes that opened the breaker"
    );
    assert_eq!(breaker.window_totals(&clock).failure_rate(), 0.5);
    clock.advance(Duration::from_secs(60));
    let probe = breaker.try_acquire(&clock).unwrap();
    assert_eq!(breaker.window_totals(&clock), opened_by, "and in half-open");
    probe.success(&clock);
    breaker.try_acquire(&clock).unwrap().success(&clock);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        breaker.window_totals(&clock),
        WindowTotals::default(),
        "closing starts a fresh window"
    );
    // A single failure of the new round does not trip on the old outcomes.
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn slow_probes_reopen_a_windowed_breaker() {
    let config = config(
        BreakerConfig::builder()
            .failure_rate_threshold(0.5)
            .slow_call_rate_threshold(0.5)
            .slow_call_duration(SECOND)
            .minimum_calls(2)
            .success_threshold(2)
            .half_open_max_calls(2)
            .open_duration(SECOND),
    );
    let breaker = CircuitBreaker::with_window(&config, CountWindow::<[Slot; 2]>::new());
    let clock = ManualClock::new();
    let trip = |breaker: &CircuitBreaker<&BreakerConfig, CountWindow<[Slot; 2]>>| {
        breaker.try_acquire(&clock).unwrap().failure(&clock);
        breaker.try_acquire(&clock).unwrap().failure(&clock);
        assert_eq!(breaker.state(), State::Open);
        clock.advance(SECOND);
    };
    trip(&breaker);
    // Two successful probes, one of them slow: the slow-call rate of the probes
    // is 0.5, at the threshold, so the breaker reopens instead of closing.
    let slow = breaker.try_acquire(&clock).unwrap();
    let fast = breaker.try_acquire(&clock).unwrap();
    assert_eq!(
        slow.record(Outcome::Success, Some(2 * SECOND), &clock),
        None
    );
    assert_eq!(
        fast.record(Outcome::Success, Some(SECOND), &clock),
        Some(Transition {
            from: State::HalfOpen,
            to: State::Open
        })
    );
    assert_eq!(
        breaker.try_acquire(&clock).unwrap_err().retry_after(),
        Some(SECOND)
    );
    // Fast probes of the next round close it: the slow one of the last round
    // is not counted again.
    clock.advance(SECOND);
    for _ in 0..2 {
        let probe = breaker.try_acquire(&clock).unwrap();
        probe.record(Outcome::Success, Some(SECOND), &clock);
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.stats().slow, 1);
}

#[test]
fn slow_call_rate_trips_on_a_time_window() {
    let config = config(
        BreakerConfig::builder()
            .slow_call_rate_threshold(0.5)
            .slow_call_duration(SECOND)
            .minimum_calls(2),
    );
    let window = TimeWindow::<[Bucket; 10]>::new(Duration::from_secs(10)).unwrap();
    let breaker = CircuitBreaker::with_window(&config, window);
    let clock = ManualClock::new();
    let fast = Some(Duration::from_millis(100));
    let slow = Some(Duration::from_millis(1001));
    breaker
        .try_acquire(&clock)
        .unwrap()
        .record(Outcome::Success, fast, &clock);
    breaker
        .try_acquire(&clock)
        .unwrap()
        .record(Outcome::Success, fast, &clock);
    clock.advance(Duration::from_secs(11));
    // The two fast calls slid out of the window; one slow call is 100 %.
    assert_eq!(
        breaker
            .try_acquire(&clock)
            .unwrap()
            .record(Outcome::Success, Some(SECOND), &clock),
        None
    );
    let transition = breaker
        .try_acquire(&clock)
        .unwrap()
        .record(Outcome::Success, slow, &clock);
    assert_eq!(
        transition,
        Some(Transition {
            from: State::Closed,
            to: State::Open
        })
    );
    assert_eq!(breaker.stats().slow, 1);
}

#[test]
fn a_count_window_smaller_than_minimum_calls_uses_its_size() {
    let config = BreakerConfig::default(); // minimum_calls 100
    let breaker = CircuitBreaker::with_window(&config, CountWindow::<[Slot; 2]>::new());
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn disabled_breakers_never_trip_even_with_a_window() {
    let config = config(BreakerConfig::builder().minimum_calls(1));
    let breaker = CircuitBreaker::with_window(&config, CountWindow::<[Slot; 2]>::new());
    let clock = ManualClock::new();
    breaker.disable();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    assert_eq!(breaker.state(), State::Disabled);
    assert_eq!(breaker.window_totals(&clock).calls, 0);
}

#[test]
fn a_clock_going_backwards_never_extends_open_beyond_its_duration() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .open_duration(10 * SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::starting_at(Instant::from_secs(1000));
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    clock.set(Instant::from_secs(5));
    let rejection = breaker.try_acquire(&clock).unwrap_err();
    assert_eq!(rejection.retry_after(), Some(10 * SECOND));
    clock.advance(10 * SECOND);
    assert!(breaker.try_acquire(&clock).unwrap().is_probe());
}

#[test]
fn a_small_step_back_keeps_the_deadline() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .open_duration(10 * SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::starting_at(Instant::from_secs(100));
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    clock.set(Instant::from_secs(105));
    clock.set(Instant::from_secs(104));
    assert_eq!(
        breaker.try_acquire(&clock).unwrap_err().retry_after(),
        Some(6 * SECOND)
    );
}

#[test]
fn tickets_work_like_permits() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .open_duration(SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    let ticket = breaker.try_acquire_ticket(&clock).unwrap();
    assert!(!ticket.is_probe());
    assert_eq!(
        breaker.record(ticket, Outcome::Failure, None, &clock),
        Some(Transition {
            from: State::Closed,
            to: State::Open
        })
    );
    clock.advance(SECOND);
    let ticket = breaker.try_acquire_ticket(&clock).unwrap();
    assert!(ticket.is_probe());
    assert!(ticket.transition().is_some());
    breaker.release(ticket);
    let permit = breaker.permit(breaker.try_acquire_ticket(&clock).unwrap());
    assert!(permit.is_probe());
    let ticket = permit.into_ticket();
    breaker.release(ticket);
    assert_eq!(breaker.stats().released, 2);
}

#[test]
fn the_consecutive_breaker_fits_in_a_cache_line() {
    assert!(
        core::mem::size_of::<CircuitBreaker>() <= 64,
        "{}",
        core::mem::size_of::<CircuitBreaker>()
    );
}

#[test]
fn rejection_display() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(1)
            .open_duration(SECOND),
    );
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    breaker.try_acquire(&clock).unwrap().failure(&clock);
    let text = format!("{}", breaker.try_acquire(&clock).unwrap_err());
    assert_eq!(text, "circuit breaker is open; retry after 1s");
}

extern crate std;
use std::format;

#[test]
fn resume_starts_where_another_breaker_left_off() {
    let config = config(
        BreakerConfig::builder()
            .failure_threshold(3)
            .open_duration(SECOND)
            .open_duration_multiplier(2.0),
    );
    let clock = ManualClock::new();
    let closed = CircuitBreaker::resume(
        &config,
        NoWindow,
        Snapshot {
            generation: 0,
            phase: Phase::Closed { failures: 9 },
        },
    );
    assert_eq!(closed.state(), State::Closed);
    assert_eq!(
        closed.try_acquire(&clock).unwrap().failure(&clock),
        Some(Transition {
            from: State::Closed,
            to: State::Open
        }),
        "two failures were kept, the third trips"
    );

    let half_open = CircuitBreaker::resume(
        &config,
        NoWindow,
        Snapshot {
            generation: 0,
            phase: Phase::HalfOpen {
                trips: 2,
                probes: 0,
                successes: 0,
                slow: 0,
                active: Instant::ZERO,
            },
        },
    );
    let probe = half_open.try_acquire(&clock).unwrap();
    assert!(probe.is_probe());
    assert!(probe.failure(&clock).is_some());
    assert_eq!(
        half_open.try_acquire(&clock).unwrap_err().retry_after(),
        Some(4 * SECOND),
        "the third consecutive trip opens for 1 s x 2 x 2"
    );

    let forced = CircuitBreaker::resume(
        &config,
        NoWindow,
        Snapshot {
            generation: 0,
            phase: Phase::ForcedOpen,
        },
    );
    assert_eq!(
        forced.try_acquire(&clock).unwrap_err().reason(),
        RejectReason::ForcedOpen
    );
    let disabled = CircuitBreaker::resume(
        &config,
        NoWindow,
        Snapshot {
            generation: 0,
            phase: Phase::Disabled,
        },
    );
    assert_eq!(disabled.state(), State::Disabled);
    assert_eq!(disabled.stats().state_transitions, 0);
}

#[test]
fn rejections_made_elsewhere() {
    let rejection = Rejection::new(RejectReason::Open, Some(SECOND));
    assert_eq!(rejection.retry_after(), Some(SECOND));
    assert_eq!(rejection.transition(), None);
    assert_eq!(
        format!("{rejection}"),
        "circuit breaker is open; retry after 1s"
    );
}

#[test]
fn a_rejection_reports_at_most_416_days() {
    let long = Rejection::new(RejectReason::Open, Some(Duration::MAX));
    assert_eq!(
        long.retry_after(),
        Some(Duration::from_nanos((1 << 55) - 2))
    );
    assert_eq!(long.reason(), RejectReason::Open);
    let none = Rejection::new(RejectReason::HalfOpenFull, None);
    assert_eq!(
        (none.retry_after(), none.reason()),
        (None, RejectReason::HalfOpenFull)
    );
    assert_eq!(core::mem::size_of::<Rejection>(), 8);
}
