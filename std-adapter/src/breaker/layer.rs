//! The tower layer that puts a circuit breaker in front of a service.

use tower_layer::Layer;

use super::{CircuitBreaker, CircuitBreakerService, ErrorsAreFailures};

/// Puts a [`CircuitBreaker`] in front of a service; see [`CircuitBreakerService`].
///
/// Every service made by one layer shares its breaker (and the clones of the
/// breaker you keep see the same state).
///
/// ```
/// use seawall::{CircuitBreaker, CircuitBreakerConfig, CircuitBreakerLayer};
/// use seawall::core::breaker::Rejection;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let breaker = CircuitBreaker::new("upstream", CircuitBreakerConfig { failure_threshold: 1, ..Default::default() });
/// let service = ServiceBuilder::new()
///     .layer(CircuitBreakerLayer::new(breaker.clone()))
///     .service(service_fn(|_: ()| async { Err::<(), _>(std::io::Error::other("down")) }));
///
/// let first = service.clone().oneshot(()).await.unwrap_err();
/// assert!(first.is::<std::io::Error>());
/// let second = service.oneshot(()).await.unwrap_err();
/// assert!(second.is::<Rejection>());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CircuitBreakerLayer<K = ErrorsAreFailures> {
    breaker: CircuitBreaker<K>,
}

impl<K> CircuitBreakerLayer<K> {
    /// A layer that puts `breaker` in front of every service it wraps.
    pub fn new(breaker: CircuitBreaker<K>) -> Self {
        Self { breaker }
    }
}

impl<S, K> Layer<S> for CircuitBreakerLayer<K> {
    type Service = CircuitBreakerService<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService::new(inner, self.breaker.clone())
    }
}
