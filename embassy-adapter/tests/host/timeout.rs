use std::cell::Cell;
use std::future::pending;
use std::task::Poll;
use std::time::Duration;

use embassy_time::Timer;
use seawall_embassy::{Elapsed, Error, with_timeout};

use crate::support::{advance, poll, ready, setup};

#[test]
fn a_call_that_finishes_in_time_returns_its_output() {
    let _driver = setup();
    let mut call = Box::pin(with_timeout(Duration::from_millis(5), || async {
        Timer::after_millis(5).await;
        Ok::<_, ()>("done")
    }));
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_millis(5));
    // Both are due at the same tick: the call's own output wins.
    assert_eq!(poll(call.as_mut()), Poll::Ready(Ok(Ok("done"))));
    assert_eq!(
        ready(with_timeout(Duration::from_millis(5), || async {
            Err::<(), _>(3)
        })),
        Ok(Err(3))
    );
}

#[test]
fn a_call_past_its_limit_is_dropped() {
    let _driver = setup();
    let polled = Cell::new(0);
    let mut call = Box::pin(with_timeout(Duration::from_millis(50), || async {
        polled.set(polled.get() + 1);
        pending::<Result<(), &str>>().await
    }));
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_micros(49_999));
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_micros(1));
    assert_eq!(
        poll(call.as_mut()),
        Poll::Ready(Err(Elapsed::new(Duration::from_millis(50))))
    );
    assert_eq!(polled.get(), 1);

    // `?` turns it into the adapter's error.
    async fn sample() -> Result<(), Error<&'static str>> {
        with_timeout(Duration::from_millis(1), pending::<Result<(), &str>>)
            .await?
            .map_err(Error::Inner)
    }
    let mut call = Box::pin(sample());
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_millis(1));
    let error = match poll(call.as_mut()) {
        Poll::Ready(Err(error)) => error,
        other => panic!("expected a timeout, got {other:?}"),
    };
    assert!(error.is_timeout());
    assert_eq!(error.to_string(), "timed out after 1ms");
}

#[test]
fn a_sub_tick_limit_is_rounded_up_not_down() {
    let _driver = setup();
    // 1.5 µs at 1 MHz: two ticks, never one (and never zero).
    let mut call = Box::pin(with_timeout(
        Duration::from_nanos(1_500),
        pending::<Result<(), ()>>,
    ));
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_micros(1));
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_micros(1));
    assert!(matches!(poll(call.as_mut()), Poll::Ready(Err(_))));
}
