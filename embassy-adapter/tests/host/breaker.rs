use std::cell::Cell;
use std::future::pending;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use embassy_time::Timer;
use seawall_embassy::{
    BreakerConfig, CircuitBreaker, Elapsed, Error, NoWindow, Outcome, RejectReason, State,
    Transition,
};

use crate::support::{Recorder, advance, leak, poll, ready, setup};

const CLOSED_TO_OPEN: Transition = Transition {
    from: State::Closed,
    to: State::Open,
};
const OPEN_TO_HALF_OPEN: Transition = Transition {
    from: State::Open,
    to: State::HalfOpen,
};
const HALF_OPEN_TO_CLOSED: Transition = Transition {
    from: State::HalfOpen,
    to: State::Closed,
};

/// 3 failures trip it for 10 s; one probe at a time, one success closes it.
fn config() -> &'static BreakerConfig {
    leak(
        BreakerConfig::builder()
            .failure_threshold(3)
            .success_threshold(1)
            .open_duration(Duration::from_secs(10)),
    )
}

fn recorded(config: &'static BreakerConfig) -> CircuitBreaker<NoWindow, Recorder> {
    CircuitBreaker::with_listener(config, NoWindow, Recorder::default())
}

async fn ok() -> Result<u32, &'static str> {
    Ok(7)
}

async fn fail() -> Result<u32, &'static str> {
    Err("bus fault")
}

fn trip(breaker: &CircuitBreaker<NoWindow, Recorder>) {
    for _ in 0..3 {
        assert_eq!(ready(breaker.call(fail)), Err(Error::Inner("bus fault")));
    }
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn results_pass_through_and_are_counted() {
    let _driver = setup();
    let breaker = CircuitBreaker::new(config());
    assert_eq!(ready(breaker.call(ok)), Ok(7));
    assert_eq!(ready(breaker.call(fail)), Err(Error::Inner("bus fault")));
    let stats = breaker.stats();
    assert_eq!((stats.successful, stats.failed, stats.permitted), (1, 1, 2));
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn consecutive_failures_trip_and_rejections_say_when_to_come_back() {
    let _driver = setup();
    let breaker = recorded(config());
    trip(&breaker);
    assert_eq!(breaker.listener().take_transitions(), [CLOSED_TO_OPEN]);

    advance(Duration::from_millis(4_250));
    let ran = Cell::new(false);
    let error = ready(breaker.call(|| async {
        ran.set(true);
        ok().await
    }))
    .unwrap_err();
    assert!(!ran.get(), "a rejected call must not run");
    let rejection = *error.rejection().expect("rejected");
    assert_eq!(rejection.reason(), RejectReason::Open);
    assert_eq!(error.retry_after(), Some(Duration::from_millis(5_750)));
    assert_eq!(*breaker.listener().rejections.borrow(), [rejection]);
    assert_eq!(breaker.stats().rejected, 1);
}

#[test]
fn a_probe_after_the_open_duration_closes_the_breaker() {
    let _driver = setup();
    let breaker = recorded(config());
    trip(&breaker);
    advance(Duration::from_secs(10));
    assert_eq!(ready(breaker.call(ok)), Ok(7));
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        breaker.listener().take_transitions(),
        [CLOSED_TO_OPEN, OPEN_TO_HALF_OPEN, HALF_OPEN_TO_CLOSED]
    );
}

#[test]
fn a_dropped_probe_frees_its_slot() {
    let _driver = setup();
    let breaker = recorded(config());
    trip(&breaker);
    advance(Duration::from_secs(10));

    // The probe starts and hangs; the only probe slot is taken.
    let mut probe = Box::pin(breaker.call(pending::<Result<u32, &str>>));
    assert!(poll(probe.as_mut()).is_pending());
    assert_eq!(breaker.state(), State::HalfOpen);
    let full = ready(breaker.call(ok)).unwrap_err();
    assert_eq!(
        full.rejection().unwrap().reason(),
        RejectReason::HalfOpenFull
    );
    assert_eq!(full.retry_after(), None);

    // Cancelling the probe (dropping its future) frees the slot, unrecorded.
    drop(probe);
    let stats = breaker.stats();
    assert_eq!((stats.released, stats.failed, stats.successful), (1, 3, 0));
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(ready(breaker.call(ok)), Ok(7));
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn a_dropped_call_in_closed_counts_as_neither_outcome() {
    let _driver = setup();
    let breaker = CircuitBreaker::new(config());
    for _ in 0..5 {
        let mut call = Box::pin(breaker.call(pending::<Result<u32, &str>>));
        assert!(poll(call.as_mut()).is_pending());
    }
    let stats = breaker.stats();
    assert_eq!((stats.released, stats.failed, stats.successful), (5, 0, 0));
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn a_call_past_its_timeout_is_dropped_and_counts_as_a_slow_failure() {
    let _driver = setup();
    let config = leak(
        BreakerConfig::builder()
            .failure_threshold(1)
            .slow_call_duration(Duration::from_millis(40)),
    );
    let breaker = recorded(config);
    let dropped = Cell::new(false);
    struct SetOnDrop<'a>(&'a Cell<bool>);
    impl Drop for SetOnDrop<'_> {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let mut call = Box::pin(
        breaker.call_with_timeout(Duration::from_millis(50), || async {
            let _guard = SetOnDrop(&dropped);
            pending::<Result<u32, &str>>().await
        }),
    );
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_micros(49_999));
    assert!(poll(call.as_mut()).is_pending());
    assert!(!dropped.get());
    advance(Duration::from_micros(1));
    assert_eq!(
        poll(call.as_mut()),
        Poll::Ready(Err(Error::Timeout(Elapsed::new(Duration::from_millis(50)))))
    );
    assert!(dropped.get(), "the timed-out call is dropped");
    let stats = breaker.stats();
    assert_eq!((stats.failed, stats.slow, stats.released), (1, 1, 0));
    assert_eq!(breaker.listener().take_transitions(), [CLOSED_TO_OPEN]);
}

#[test]
fn a_call_within_its_timeout_returns_its_own_result() {
    let _driver = setup();
    let breaker = CircuitBreaker::new(config());
    let mut call = Box::pin(
        breaker.call_with_timeout(Duration::from_millis(50), || async {
            Timer::after_millis(30).await;
            fail().await
        }),
    );
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_millis(30));
    assert_eq!(
        poll(call.as_mut()),
        Poll::Ready(Err(Error::Inner("bus fault")))
    );
    assert_eq!(breaker.stats().failed, 1);
}

#[test]
fn latency_is_measured_on_the_embassy_clock() {
    let _driver = setup();
    let config = leak(BreakerConfig::builder().slow_call_duration(Duration::from_millis(100)));
    let breaker = CircuitBreaker::new(config);
    for (millis, slow) in [(100, 0), (101, 1)] {
        let mut call = Box::pin(breaker.call(|| async move {
            Timer::after_millis(millis).await;
            ok().await
        }));
        assert!(poll(call.as_mut()).is_pending());
        advance(Duration::from_millis(millis));
        assert_eq!(poll(call.as_mut()), Poll::Ready(Ok(7)));
        assert_eq!(breaker.stats().slow, slow, "{millis} ms");
    }
}

#[test]
fn the_classifier_decides_what_counts() {
    let _driver = setup();
    let breaker = CircuitBreaker::new(config());
    // A caller's mistake says nothing about the dependency: released, not failed.
    let ignore_bad_input = |result: &Result<u32, &str>| match result {
        Err("bad input") => None,
        Err(_) => Some(Outcome::Failure),
        Ok(_) => Some(Outcome::Success),
    };
    for _ in 0..5 {
        let result = ready(breaker.call_with(None, ignore_bad_input, || async {
            Err::<u32, _>("bad input")
        }));
        assert_eq!(result, Err(Error::Inner("bad input")));
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!((breaker.stats().released, breaker.stats().failed), (5, 0));

    // An answer that arrived but is wrong can count as a failure.
    let zero_is_a_failure = |result: &Result<u32, &str>| match result {
        Ok(0) | Err(_) => Some(Outcome::Failure),
        Ok(_) => Some(Outcome::Success),
    };
    for _ in 0..3 {
        let result = ready(breaker.call_with(None, zero_is_a_failure, || async { Ok(0) }));
        assert_eq!(result, Ok(0));
    }
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn manual_control_reaches_the_listener() {
    let _driver = setup();
    let breaker = recorded(config());
    let forced = Transition {
        from: State::Closed,
        to: State::ForcedOpen,
    };
    assert_eq!(breaker.force_open(), Some(forced));
    let error = ready(breaker.call(ok)).unwrap_err();
    assert_eq!(
        error.rejection().unwrap().reason(),
        RejectReason::ForcedOpen
    );
    assert_eq!(breaker.force_open(), None);
    let disabled = Transition {
        from: State::ForcedOpen,
        to: State::Disabled,
    };
    assert_eq!(breaker.disable(), Some(disabled));
    for _ in 0..10 {
        let _ = ready(breaker.call(fail));
    }
    assert_eq!(breaker.state(), State::Disabled);
    let reset = Transition {
        from: State::Disabled,
        to: State::Closed,
    };
    assert_eq!(breaker.reset(), Some(reset));
    assert_eq!(
        breaker.listener().take_transitions(),
        [forced, disabled, reset]
    );
    assert_eq!(breaker.stats().failed, 10);
}

/// What a firmware does: one breaker in a `static`, called by several tasks.
#[test]
fn a_static_breaker_is_shared_between_tasks() {
    static CONFIG: BreakerConfig = match BreakerConfig::builder()
        .failure_threshold(2)
        .open_duration(Duration::from_millis(500))
        .build()
    {
        Ok(config) => config,
        Err(_) => panic!("invalid configuration"),
    };
    static SHARED: CircuitBreaker = CircuitBreaker::new(&CONFIG);

    let _driver = setup();
    async fn task(delay_ms: u64) -> Result<u32, Error<&'static str>> {
        SHARED
            .call(|| async move {
                Timer::after_millis(delay_ms).await;
                fail().await
            })
            .await
    }
    // Two tasks in flight at once, both admitted while Closed.
    let mut a = pin!(task(10));
    let mut b = pin!(task(20));
    assert!(poll(a.as_mut()).is_pending());
    assert!(poll(b.as_mut()).is_pending());
    advance(Duration::from_millis(10));
    assert_eq!(
        poll(a.as_mut()),
        Poll::Ready(Err(Error::Inner("bus fault")))
    );
    assert!(poll(b.as_mut()).is_pending());
    assert_eq!(SHARED.state(), State::Closed);
    advance(Duration::from_millis(10));
    assert_eq!(
        poll(b.as_mut()),
        Poll::Ready(Err(Error::Inner("bus fault")))
    );
    // The second task's failure trips the breaker for every task.
    assert_eq!(SHARED.state(), State::Open);
    let rejected = ready(task(0)).unwrap_err();
    assert_eq!(rejected.retry_after(), Some(Duration::from_millis(500)));
}
