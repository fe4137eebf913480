//! The tower layer that retries failed requests.

use std::sync::Arc;

use seawall_core::ConfigError;
use seawall_core::retry::RetryPolicy as CorePolicy;
use tower_layer::Layer;

use super::{JitterSeed, RetryErrors, RetryListener, RetryPolicy, RetryService, Shared};

/// Retries the requests of the service it wraps as a [`RetryPolicy`] says;
/// see [`RetryService`]. Requests must be `Clone` (each attempt sends a copy).
/// The policy's [`listener`](RetryPolicy::listener) hears every decision.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use seawall::{RetryLayer, RetryPolicy, RetryStrategy};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let calls = Arc::new(AtomicU32::new(0));
/// let counter = Arc::clone(&calls);
/// let policy = RetryPolicy { strategy: RetryStrategy::Fixed { delay: Duration::from_millis(100) }, ..Default::default() };
/// let service = ServiceBuilder::new()
///     .layer(RetryLayer::new(policy).unwrap())
///     .service(service_fn(move |_: ()| {
///         let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
///         async move { if attempt < 3 { Err("flaky") } else { Ok(attempt) } }
///     }));
/// assert_eq!(service.oneshot(()).await, Ok(3));
/// assert_eq!(calls.load(Ordering::SeqCst), 3);
/// # }
/// ```
#[derive(Clone)]
pub struct RetryLayer<C = RetryErrors> {
    policy: CorePolicy,
    shared: Shared,
    seed: JitterSeed,
    classifier: C,
    listener: Option<Arc<dyn RetryListener>>,
}

impl<C: std::fmt::Debug> std::fmt::Debug for RetryLayer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryLayer")
            .field("policy", &self.policy)
            .field("shared", &self.shared)
            .field("seed", &self.seed)
            .field("classifier", &self.classifier)
            .field("listener", &self.listener.as_ref().map(|_| "…"))
            .finish()
    }
}

impl RetryLayer {
    /// A layer retrying every error as `policy` says, or the policy's first
    /// invalid option.
    pub fn new(policy: RetryPolicy) -> Result<Self, ConfigError> {
        policy.validate()?;
        Ok(Self {
            policy: policy.to_core()?,
            shared: policy.shared(),
            seed: policy.seed,
            classifier: RetryErrors,
            listener: policy.listener,
        })
    }
}

impl<C> RetryLayer<C> {
    /// Decides with `classifier` which results are worth retrying (default:
    /// every error, no response), for example a `503` response with its
    /// Retry-After header.
    pub fn classifier<C2>(self, classifier: C2) -> RetryLayer<C2> {
        RetryLayer {
            policy: self.policy,
            shared: self.shared,
            seed: self.seed.clone(),
            classifier,
            listener: self.listener,
        }
    }
}

impl<S, C: Clone> Layer<S> for RetryLayer<C> {
    type Service = RetryService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            policy: self.policy,
            shared: self.shared.clone(),
            seed: self.seed.clone(),
            classifier: self.classifier.clone(),
            listener: self.listener.clone(),
        }
    }
}
