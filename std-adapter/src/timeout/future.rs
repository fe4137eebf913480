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
    /// A thin wrapper over `tokio::time::Timeout`, so it costs what tokio's
    /// timeout costs and sees paused time.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        limit: Duration,
    }
}

impl<F: Future> Timeout<F> {
    /// Limits `future` to `limit`, counted from now.
    pub fn new(limit: Duration, future: F) -> Self {
        Self {
            inner: tokio::time::timeout(limit, future),
            limit,
        }
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Ready(Ok(output)) => Poll::Ready(Ok(output)),
            Poll::Ready(Err(_)) => Poll::Ready(Err(Elapsed::new(*this.limit))),
            Poll::Pending => Poll::Pending,
        }
    }
}
