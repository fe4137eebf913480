//! The future returned by [`with_timeout`](super::with_timeout).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use super::Elapsed;

pin_project! {
    /// A future limited in time: the output of the inner future, or
    /// [`Elapsed`] when the limit passes first (the inner future is then dropped).
    ///
    /// The inner future is polled first; the deadline (a `tokio::time::Sleep`,
    /// so it sees paused time) is set only if that first poll is pending, and
    /// the limit counts from then. A future that is ready at once costs no
    /// clock read and no timer.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        #[pin]
        deadline: Option<tokio::time::Sleep>,
        limit: Duration,
    }
}

impl<F: Future> Timeout<F> {
    /// Limits `future` to `limit`, counted from its first poll.
    pub fn new(limit: Duration, future: F) -> Self {
        Self {
            future,
            deadline: None,
            limit,
        }
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if this.deadline.is_none() {
            this.deadline.set(Some(tokio::time::sleep(*this.limit)));
        }
        match this.deadline.as_pin_mut().map(|deadline| deadline.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Err(Elapsed::new(*this.limit))),
            _ => Poll::Pending,
        }
    }
}
