//! Shared helpers: the lock on the global mock clock, polling by hand, and a
//! listener that records events.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use embassy_time::MockDriver;
use seawall_embassy::{BreakerConfig, BreakerConfigBuilder, Listener, Rejection, Transition};

static DRIVER_LOCK: Mutex<()> = Mutex::new(());

/// Takes the mock clock for one test and sets it to zero.
pub(crate) fn setup() -> MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next test resets the clock anyway.
    let guard = DRIVER_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    MockDriver::get().reset();
    guard
}

/// Moves the mock clock forward by `duration` rounded up to whole ticks (as
/// the adapter rounds its sleeps), firing the timers that are due.
pub(crate) fn advance(duration: Duration) {
    MockDriver::get().advance(seawall_embassy::to_embassy_duration(duration));
}

/// Polls `future` once.
pub(crate) fn poll<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls `future` once and expects it to be done.
pub(crate) fn ready<F: Future>(future: F) -> F::Output {
    match poll(std::pin::pin!(future)) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future is still pending"),
    }
}

/// Polls `future` until it is done, moving the mock clock forward one
/// millisecond each time it waits (the scenarios' times are whole
/// milliseconds), for at most an hour of mock time.
pub(crate) fn run_to_end<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    for _ in 0..3_600_000 {
        if let Poll::Ready(output) = poll(future.as_mut()) {
            return Ok(output);
        }
        advance(Duration::from_millis(1));
    }
    Err("still waiting after an hour of mock time".into())
}

/// A configuration for the life of the test binary, as a firmware's `static`.
pub(crate) fn leak(builder: BreakerConfigBuilder) -> &'static BreakerConfig {
    Box::leak(Box::new(builder.build().expect("valid configuration")))
}

/// A listener that keeps every event.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) transitions: RefCell<Vec<Transition>>,
    pub(crate) rejections: RefCell<Vec<Rejection>>,
}

impl Recorder {
    /// The transitions seen since the last call.
    pub(crate) fn take_transitions(&self) -> Vec<Transition> {
        std::mem::take(&mut self.transitions.borrow_mut())
    }
}

impl Listener for Recorder {
    fn on_transition(&self, transition: Transition) {
        self.transitions.borrow_mut().push(transition);
    }

    fn on_rejection(&self, rejection: &Rejection) {
        self.rejections.borrow_mut().push(*rejection);
    }
}
