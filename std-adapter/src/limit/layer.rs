//! The tower layer that puts an adaptive limit in front of a service.

use tower_layer::Layer;

use super::{AdaptiveLimiter, AdaptiveLimiterService};

/// Limits the requests in flight through the services it wraps to an
/// adaptive limit they all share; see [`AdaptiveLimiterService`].
///
/// ```
/// use seawall::{AdaptiveLimiter, AdaptiveLimiterLayer};
/// use seawall::core::bulkhead::BulkheadFull;
/// use seawall::core::limit::LimitConfig;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let limiter = AdaptiveLimiter::new(LimitConfig::builder().probe_limit(1).build().unwrap());
/// // A new gradient limiter measures its baseline first: one call at a time.
/// let held = limiter.try_acquire().unwrap();
/// let service = ServiceBuilder::new()
///     .layer(AdaptiveLimiterLayer::new(limiter.clone()))
///     .service(service_fn(|_: ()| async { Ok::<_, std::io::Error>("done") }));
/// let error = service.clone().oneshot(()).await.unwrap_err();
/// assert!(error.is::<BulkheadFull>());
/// held.success();
/// assert_eq!(service.oneshot(()).await.unwrap(), "done");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AdaptiveLimiterLayer {
    limiter: AdaptiveLimiter,
}

impl AdaptiveLimiterLayer {
    /// A layer sharing `limiter` between the services it wraps.
    pub fn new(limiter: AdaptiveLimiter) -> Self {
        Self { limiter }
    }
}

impl<S> Layer<S> for AdaptiveLimiterLayer {
    type Service = AdaptiveLimiterService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AdaptiveLimiterService {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}
