//! The tower layer that puts a bulkhead in front of a service.

use tower_layer::Layer;

use super::{Bulkhead, BulkheadService};

/// Limits the requests in flight through the services it wraps (all of them
/// share the bulkhead's places); see [`BulkheadService`].
///
/// ```
/// use seawall::{Bulkhead, BulkheadConfig, BulkheadLayer};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let bulkhead = Bulkhead::new(BulkheadConfig { max_concurrent: 1, ..Default::default() });
/// let held = bulkhead.try_enter().unwrap();
/// let service = ServiceBuilder::new()
///     .layer(BulkheadLayer::new(bulkhead))
///     .service(service_fn(|_: ()| async { Ok::<_, std::io::Error>("done") }));
/// let error = service.clone().oneshot(()).await.unwrap_err();
/// assert!(error.is::<seawall::core::bulkhead::BulkheadFull>());
/// drop(held);
/// assert_eq!(service.oneshot(()).await.unwrap(), "done");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BulkheadLayer {
    bulkhead: Bulkhead,
}

impl BulkheadLayer {
    /// A layer sharing `bulkhead` between the services it wraps.
    pub fn new(bulkhead: Bulkhead) -> Self {
        Self { bulkhead }
    }
}

impl<S> Layer<S> for BulkheadLayer {
    type Service = BulkheadService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BulkheadService {
            inner,
            bulkhead: self.bulkhead.clone(),
        }
    }
}
