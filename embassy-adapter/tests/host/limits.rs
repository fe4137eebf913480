//! The bulkhead and the rate limiter.

use std::future::pending;
use std::task::Poll;
use std::time::Duration;

use embassy_time::Timer;
use seawall_embassy::{Bulkhead, BulkheadFull, Error, Quota, RateLimiter};

use crate::support::{advance, poll, ready, setup};

#[test]
fn a_bulkhead_refuses_calls_past_its_maximum_and_frees_places_however_calls_end() {
    let _driver = setup();
    static PAIR: Bulkhead = match Bulkhead::new(2) {
        Ok(bulkhead) => bulkhead,
        Err(_) => panic!("invalid bulkhead"),
    };
    let mut slow = Box::pin(PAIR.call(|| async {
        Timer::after_millis(10).await;
        Ok::<_, ()>(1)
    }));
    let mut hung = Box::pin(PAIR.call(pending::<Result<u32, ()>>));
    assert!(poll(slow.as_mut()).is_pending());
    assert!(poll(hung.as_mut()).is_pending());
    assert_eq!((PAIR.in_flight(), PAIR.available()), (2, 0));

    let refused = ready(PAIR.call(|| async { Ok::<_, ()>(3) }));
    assert_eq!(
        refused,
        Err(Error::BulkheadFull(BulkheadFull { max_concurrent: 2 }))
    );

    advance(Duration::from_millis(10));
    assert_eq!(poll(slow.as_mut()), Poll::Ready(Ok(1)));
    assert_eq!(PAIR.in_flight(), 1, "a finished call gives its place back");
    drop(hung);
    assert_eq!(PAIR.in_flight(), 0, "so does a dropped one");
    assert_eq!(ready(PAIR.call(|| async { Ok::<_, ()>(3) })), Ok(3));
    assert!(Bulkhead::new(0).is_err());
}

fn limiter() -> RateLimiter {
    // 10 per second (one per 100 ms), bursts of 2.
    RateLimiter::new(Quota::new(10, Duration::from_secs(1), 2).unwrap())
}

#[test]
fn a_rate_limiter_refuses_calls_over_the_rate_and_says_when() {
    let _driver = setup();
    let limiter = limiter();
    for _ in 0..2 {
        assert_eq!(ready(limiter.call(|| async { Ok::<_, ()>(()) })), Ok(()));
    }
    let refused = ready(limiter.call(|| async { Ok::<_, ()>(()) })).unwrap_err();
    assert!(matches!(refused, Error::RateLimited(_)));
    assert_eq!(refused.retry_after(), Some(Duration::from_millis(100)));
    advance(Duration::from_millis(100));
    assert_eq!(ready(limiter.call(|| async { Ok::<_, ()>(()) })), Ok(()));
}

#[test]
fn a_waiting_call_sleeps_until_admitted_within_its_maximum() {
    let _driver = setup();
    let limiter = limiter();
    limiter.check().unwrap();
    limiter.check().unwrap();
    let mut waiting = Box::pin(
        limiter.call_waiting(Duration::from_millis(100), || async { Ok::<_, ()>("sent") }),
    );
    assert!(poll(waiting.as_mut()).is_pending());
    advance(Duration::from_micros(99_999));
    assert!(poll(waiting.as_mut()).is_pending());
    advance(Duration::from_micros(1));
    assert_eq!(poll(waiting.as_mut()), Poll::Ready(Ok("sent")));

    // The next cell is 100 ms away: a 50 ms maximum is refused at once.
    let refused =
        ready(limiter.call_waiting(Duration::from_millis(50), || async { Ok::<_, ()>("sent") }));
    assert_eq!(
        refused.unwrap_err().retry_after(),
        Some(Duration::from_millis(100))
    );
}

/// Waiting for a turn decades away sleeps in bounded turns (an embassy
/// `Timer` for the whole wait would overflow the tick count), and a limiter
/// whose refusals could never name a time is refused when built.
#[test]
fn a_wait_without_end_sleeps_in_bounded_turns() {
    let _driver = setup();
    let decades = Duration::from_secs(100 * 365 * 86_400);
    let limiter = RateLimiter::new(Quota::new(1, decades, 1).unwrap());
    assert!(limiter.check().is_ok());
    let mut waiting = Box::pin(limiter.acquire(Duration::MAX));
    for _ in 0..3 {
        assert!(poll(waiting.as_mut()).is_pending());
        advance(Duration::from_secs(3600));
    }
    let refused = ready(limiter.acquire(Duration::from_secs(1))).unwrap_err();
    assert!(refused.retry_after() > Duration::from_secs(99 * 365 * 86_400));
    assert_eq!(
        Quota::new(1, 2 * decades, 1).unwrap_err().to_string(),
        "invalid period: must be at most 146 years"
    );
}
