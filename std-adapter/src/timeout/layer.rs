//! The tower layer that applies a timeout to every request.

use std::time::Duration;

use tower_layer::Layer;

use super::TimeoutService;

/// Applies a time limit to every request of the service it wraps; see
/// [`TimeoutService`].
///
/// ```
/// use std::time::Duration;
/// use seawall::timeout::TimeoutLayer;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let service = ServiceBuilder::new()
///     .layer(TimeoutLayer::new(Duration::from_secs(1)))
///     .service(service_fn(|_: ()| async {
///         tokio::time::sleep(Duration::from_secs(5)).await;
///         Ok::<_, std::io::Error>("late")
///     }));
/// let error = service.oneshot(()).await.unwrap_err();
/// assert!(error.is::<seawall::timeout::Elapsed>());
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    limit: Duration,
}

impl TimeoutLayer {
    /// A layer limiting each request to `limit`.
    pub const fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = TimeoutService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimeoutService::new(inner, self.limit)
    }
}
