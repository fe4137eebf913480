//! The tower layer that puts a fault plan in front of a service.

use tower_layer::Layer;

use super::{FaultInjector, FaultService};

/// Puts a [`FaultInjector`] in front of the services it wraps; see
/// [`FaultService`]. A key (for rules with a key) and a replaced outcome (for
/// outcome faults) are optional.
///
/// ```
/// use seawall::{BoxError, FaultInjector, FaultLayer, FaultPlan};
/// use seawall::core::fault::{Fault, FaultRule};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let chaos = FaultInjector::new("api", FaultPlan::new(1).rule(
///     FaultRule::new(Fault::Outcome, 1.0).for_key("tenant-7"),
/// )).unwrap();
/// let service = ServiceBuilder::new()
///     .layer(
///         FaultLayer::new(chaos.clone())
///             .key(|tenant: &&str| Some(tenant.to_string()))
///             .outcome(|_| Ok(503u16)),
///     )
///     .service(service_fn(|_: &str| async { Ok::<_, BoxError>(200u16) }));
/// chaos.enable();
/// assert_eq!(service.clone().oneshot("tenant-7").await.unwrap(), 503);
/// assert_eq!(service.oneshot("tenant-1").await.unwrap(), 200);
/// assert_eq!(chaos.counts().outcomes, 1);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FaultLayer<K = (), O = ()> {
    injector: FaultInjector,
    key: K,
    outcome: O,
}

impl FaultLayer {
    /// A layer sharing `injector` (its switch, generator and counts) between
    /// the services it wraps; requests have no key, and an outcome fault fails
    /// the request as an error fault does.
    pub fn new(injector: FaultInjector) -> Self {
        Self {
            injector,
            key: (),
            outcome: (),
        }
    }
}

impl<K, O> FaultLayer<K, O> {
    /// Reads each request's key with `key` (a [`KeyOf`](super::KeyOf)).
    pub fn key<K2>(self, key: K2) -> FaultLayer<K2, O> {
        FaultLayer {
            injector: self.injector,
            key,
            outcome: self.outcome,
        }
    }

    /// Answers outcome faults with `outcome` (a [`ReplaceWith`](super::ReplaceWith)).
    pub fn outcome<O2>(self, outcome: O2) -> FaultLayer<K, O2> {
        FaultLayer {
            injector: self.injector,
            key: self.key,
            outcome,
        }
    }
}

impl<S, K: Clone, O: Clone> Layer<S> for FaultLayer<K, O> {
    type Service = FaultService<S, K, O>;

    fn layer(&self, inner: S) -> Self::Service {
        FaultService {
            inner,
            injector: self.injector.clone(),
            key: self.key.clone(),
            outcome: self.outcome.clone(),
        }
    }
}
