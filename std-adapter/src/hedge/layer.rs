//! The tower layer that hedges requests.

use tower_layer::Layer;

use super::{Hedge, HedgeService};
use crate::retry::RetryErrors;

/// Hedges the requests of the services it wraps as a [`Hedge`] says; see
/// [`HedgeService`]. Requests must be `Clone` (each attempt sends a copy) and
/// the service too (each attempt calls a clone that is ready).
///
/// ```
/// use std::time::Duration;
/// use seawall::{Hedge, HedgeLayer};
/// use seawall::core::hedge::HedgeDelay;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let hedge = Hedge::builder("replicas")
///     .delay(HedgeDelay::fixed(Duration::from_millis(10)))
///     .build()
///     .unwrap();
/// let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
/// let seen = calls.clone();
/// let service = ServiceBuilder::new()
///     .layer(HedgeLayer::new(hedge.clone()))
///     .service(service_fn(move |key: &'static str| {
///         // The first attempt hangs; the hedge answers.
///         let attempt = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
///         async move {
///             if attempt == 1 {
///                 std::future::pending::<()>().await;
///             }
///             Ok::<_, std::io::Error>(format!("{key} from attempt {attempt}"))
///         }
///     }));
/// assert_eq!(service.oneshot("user:7").await.unwrap(), "user:7 from attempt 2");
/// assert_eq!(hedge.stats().won, 1);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HedgeLayer<C = RetryErrors> {
    hedge: Hedge<C>,
}

impl<C> HedgeLayer<C> {
    /// A layer sharing `hedge` (its delay, counters and budget) between the
    /// services it wraps.
    pub fn new(hedge: Hedge<C>) -> Self {
        Self { hedge }
    }
}

impl<S, C: Clone> Layer<S> for HedgeLayer<C> {
    type Service = HedgeService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        HedgeService {
            inner,
            hedge: self.hedge.clone(),
        }
    }
}
