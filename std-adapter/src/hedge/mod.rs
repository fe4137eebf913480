//! Hedged requests: when a call is slower than most, send another attempt and
//! take the first answer, deciding with the core's [`hedge`](seawall_core::hedge).
//!
//! A [`Hedge`] starts one attempt, and while none has answered sends another
//! after the delay (fixed, or a percentile of recent latencies), up to
//! `max_attempts`. The first answer ends the call; the attempts still in
//! flight are cancelled by dropping their futures, and counted. An attempt
//! that fails with an error worth retrying is replaced at once. Hedges can
//! share a [`RetryBudget`] (or quota) with the retries, so that in a brownout
//! they stay a small share of the calls.
//!
//! Hedge only what is safe to send twice: reads, idempotent writes.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use seawall::{Hedge, RetryBudget};
//! use seawall::core::hedge::HedgeDelay;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let budget = Arc::new(RetryBudget::new(10, 0.1)?);
//! let hedge = Hedge::builder("search")
//!     .delay(HedgeDelay::fixed(Duration::from_millis(50)))
//!     .budget(budget)
//!     .build()?;
//!
//! // The first attempt is slow: after 50 ms, a hedge is sent, and answers first.
//! let mut slow_first = vec![Duration::from_secs(2), Duration::from_millis(30)].into_iter();
//! let started = tokio::time::Instant::now();
//! let answer = hedge
//!     .call(|| {
//!         let latency = slow_first.next().unwrap();
//!         async move {
//!             tokio::time::sleep(latency).await;
//!             Ok::<_, std::io::Error>(latency)
//!         }
//!     })
//!     .await?;
//! assert_eq!(answer, Duration::from_millis(30));
//! assert_eq!(started.elapsed(), Duration::from_millis(80));
//! let stats = hedge.stats();
//! assert_eq!((stats.hedges, stats.won, stats.cancelled), (1, 1, 1));
//! # Ok(())
//! # }
//! ```

mod layer;
pub(crate) mod run;
mod service;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use seawall_core::ConfigError;
use seawall_core::hedge::{Hedge as Core, HedgeConfig, HedgeDelay, HedgeStats};
use seawall_core::retry::{Allowance, RetryBudget, RetryQuota};

pub use layer::HedgeLayer;
pub use service::HedgeService;

use crate::clock::TokioClock;
use crate::retry::{RetryErrors, ShouldRetry};

/// Sends a slow call again and takes the first answer: a name, the core's
/// [`Hedge`](seawall_core::hedge::Hedge) and an optional budget or quota
/// shared with retries. Clones share everything.
///
/// Which results are failures worth another attempt at once is decided by a
/// [`ShouldRetry`] classifier, as for a [`RetryLayer`](crate::RetryLayer)
/// (default: every error). Any other result, an error included, is the answer.
pub struct Hedge<C = RetryErrors> {
    inner: Arc<Inner>,
    classifier: C,
}

struct Inner {
    name: String,
    core: Core,
    budget: Option<Arc<RetryBudget>>,
    quota: Option<Arc<RetryQuota>>,
}

impl<C: Clone> Clone for Hedge<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            classifier: self.classifier.clone(),
        }
    }
}

impl<C> std::fmt::Debug for Hedge<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hedge")
            .field("name", &self.inner.name)
            .field("config", self.inner.core.config())
            .field("budget", &self.inner.budget)
            .field("quota", &self.inner.quota)
            .finish_non_exhaustive()
    }
}

impl Hedge {
    /// A hedge named `name` with the default options: two attempts, the second
    /// after the 95th percentile of recent latencies, no budget.
    pub fn new(name: impl Into<String>) -> Self {
        Self::builder(name)
            .build()
            .expect("the default hedge is valid")
    }

    /// A builder for the hedge named `name`.
    pub fn builder(name: impl Into<String>) -> HedgeBuilder {
        HedgeBuilder {
            name: name.into(),
            config: HedgeConfig::DEFAULT,
            budget: None,
            quota: None,
            classifier: RetryErrors,
        }
    }
}

impl<C> Hedge<C> {
    /// The name, as the registry, the metrics and `tracing` show it.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The options.
    pub fn config(&self) -> &HedgeConfig {
        self.inner.core.config()
    }

    /// The delay between the attempts of a call starting now.
    pub fn delay(&self) -> Duration {
        self.inner.core.delay(&TokioClock)
    }

    /// What the hedge has done: calls, hedges sent, hedges that won, hedges
    /// the budget refused, attempts cancelled.
    pub fn stats(&self) -> HedgeStats {
        self.inner.core.stats()
    }

    /// The budget shared with retries, if any.
    pub fn budget(&self) -> Option<&Arc<RetryBudget>> {
        self.inner.budget.as_ref()
    }

    /// The quota shared with retries, if any.
    pub fn quota(&self) -> Option<&Arc<RetryQuota>> {
        self.inner.quota.as_ref()
    }

    /// Runs the future made by `f`, and another made by `f` each time the
    /// hedge says so; returns the first answer, or the last failure once no
    /// attempt is left. The attempts still running are dropped.
    pub async fn call<F, Fut, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: ShouldRetry<T, E>,
    {
        let events = Events { name: self.name() };
        run::run(
            &self.inner.core,
            self.allowance(),
            true,
            &self.classifier,
            &events,
            f,
        )
        .await
    }

    pub(crate) fn allowance(&self) -> Allowance<'_> {
        match (&self.inner.budget, &self.inner.quota) {
            (Some(budget), _) => Allowance::Budget(budget),
            (None, Some(quota)) => Allowance::Quota(quota),
            (None, None) => Allowance::None,
        }
    }

    /// The same hedge with the default classifier, for the registry (which
    /// reads its name and counters only).
    pub(crate) fn erased(&self) -> Hedge {
        Hedge {
            inner: Arc::clone(&self.inner),
            classifier: RetryErrors,
        }
    }

    pub(crate) fn core(&self) -> &Core {
        &self.inner.core
    }

    pub(crate) fn classifier(&self) -> &C {
        &self.classifier
    }

    pub(crate) fn events(&self) -> Events<'_> {
        Events { name: self.name() }
    }
}

/// The `tracing` events of a hedge (feature `tracing`): DEBUG, target
/// `seawall::hedge`, when a hedge is sent and when one answers.
pub(crate) struct Events<'a> {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    name: &'a str,
}

impl run::Events for Events<'_> {
    #[cfg(feature = "tracing")]
    fn hedge_sent(&self, attempt: u32) {
        tracing::debug!(target: "seawall::hedge", hedge = self.name, attempt, "hedge sent");
    }

    #[cfg(feature = "tracing")]
    fn answered(&self, attempt: u32, cancelled: u32) {
        if attempt > 1 {
            tracing::debug!(target: "seawall::hedge", hedge = self.name, attempt, cancelled, "hedge won");
        }
    }
}

/// Builds a [`Hedge`]; [`build`](Self::build) checks every option.
pub struct HedgeBuilder<C = RetryErrors> {
    name: String,
    config: HedgeConfig,
    budget: Option<Arc<RetryBudget>>,
    quota: Option<Arc<RetryQuota>>,
    classifier: C,
}

impl<C> std::fmt::Debug for HedgeBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HedgeBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<C> HedgeBuilder<C> {
    /// Attempts in all, the first included (at least 2; default 2).
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.config.max_attempts = max_attempts;
        self
    }

    /// When each hedge is sent (default: the 95th percentile of the last
    /// minute's latencies, 2 s until 100 are known).
    pub fn delay(mut self, delay: HedgeDelay) -> Self {
        self.config.delay = delay;
        self
    }

    /// Hedges sent together each time the delay passes (at least 1; default
    /// 1): with `max_attempts(3)` and `at_once(2)`, a call unanswered after
    /// the delay gets both hedges at once.
    pub fn at_once(mut self, at_once: u32) -> Self {
        self.config.at_once = at_once;
        self
    }

    /// Every option at once.
    pub fn config(mut self, config: HedgeConfig) -> Self {
        self.config = config;
        self
    }

    /// A retry budget shared with retries: a hedge sent by time takes a token,
    /// and only while more than half remain (default none).
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// A retry quota shared with retries: a hedge sent by time costs what a
    /// retry after a timeout costs (default none; a budget or a quota).
    pub fn quota(mut self, quota: Arc<RetryQuota>) -> Self {
        self.quota = Some(quota);
        self
    }

    /// Which results are failures worth another attempt at once (default:
    /// every error).
    pub fn classifier<C2>(self, classifier: C2) -> HedgeBuilder<C2> {
        HedgeBuilder {
            name: self.name,
            config: self.config,
            budget: self.budget,
            quota: self.quota,
            classifier,
        }
    }

    /// The hedge, or the first invalid option.
    pub fn build(self) -> Result<Hedge<C>, ConfigError> {
        if self.budget.is_some() && self.quota.is_some() {
            return Err(ConfigError::new(
                "quota",
                "must not be set with a budget: one of the two bounds hedges",
            ));
        }
        Ok(Hedge {
            inner: Arc::new(Inner {
                name: self.name,
                core: Core::new(self.config)?,
                budget: self.budget,
                quota: self.quota,
            }),
            classifier: self.classifier,
        })
    }
}
