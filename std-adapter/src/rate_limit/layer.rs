//! The tower layer that rate-limits a service.

use tower_layer::Layer;

use super::{RateLimiter, RateLimiterService};

/// Limits the rate of requests through the services it wraps (all of them
/// share the limiter's quota); see [`RateLimiterService`].
///
/// ```
/// use seawall::{RateLimiter, RateLimiterConfig, RateLimiterLayer};
/// use seawall::core::rate_limit::NotUntil;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let limiter = RateLimiter::new(RateLimiterConfig { rate: 1, burst: 1, ..Default::default() });
/// let service = ServiceBuilder::new()
///     .layer(RateLimiterLayer::new(limiter))
///     .service(service_fn(|_: ()| async { Ok::<_, std::io::Error>("ok") }));
/// assert_eq!(service.clone().oneshot(()).await.unwrap(), "ok");
/// assert!(service.oneshot(()).await.unwrap_err().is::<NotUntil>());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiterLayer {
    limiter: RateLimiter,
}

impl RateLimiterLayer {
    /// A layer sharing `limiter` between the services it wraps.
    pub fn new(limiter: RateLimiter) -> Self {
        Self { limiter }
    }
}

impl<S> Layer<S> for RateLimiterLayer {
    type Service = RateLimiterService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimiterService {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}
