//! Prometheus metrics of a [`Registry`]'s policies (feature `prometheus`),
//! through `prometheus-client`.
//!
//! [`Metrics`] is a custom collector: at each scrape it reads the counters the
//! core keeps anyway (a breaker's state and counts, a bulkhead's places, a rate
//! limiter's cells) and the registry's notes (transitions, retry outcomes), so
//! exposing metrics adds nothing to the path of a call. The one exception is
//! opt-in: call-duration histograms
//! ([`RegistryBuilder::call_durations`](crate::RegistryBuilder::call_durations))
//! read the clock twice per call.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `seawall_circuitbreaker_state` | gauge | `name`, `state` | 1 for the breaker's current state, 0 for the four others |
//! | `seawall_circuitbreaker_calls_total` | counter | `name`, `kind` | calls by outcome: `successful`, `failed`, `released` (let through, ended without an outcome: errors the classifier ignores and cancelled calls, the core's `released`), `rejected` |
//! | `seawall_circuitbreaker_shadow_rejections_total` | counter | `name` | calls a breaker in shadow mode would have rejected (and let through); its `calls_total{kind="rejected"}` stays 0 |
//! | `seawall_circuitbreaker_slow_calls_total` | counter | `name` | calls slower than `slow_call_duration` (timed only for breakers with a window) |
//! | `seawall_circuitbreaker_failure_rate` | gauge | `name` | failure rate in 0..=1: over the sliding window, or over every call for a breaker without one |
//! | `seawall_circuitbreaker_slow_call_rate` | gauge | `name` | slow-call rate in 0..=1, over the same calls |
//! | `seawall_circuitbreaker_transitions_total` | counter | `name`, `from`, `to` | state transitions (the four of the automatic cycle always, others once seen) |
//! | `seawall_circuitbreaker_call_duration_seconds` | histogram | `name`, `kind` (`successful`, `failed`) | call durations, opt-in |
//! | `seawall_retry_calls_total` | counter | `name`, `kind` | retried calls by outcome: `successful_without_retry`, `successful_with_retry`, `failed_with_retry`, `failed_without_retry` |
//! | `seawall_bulkhead_available_permits` | gauge | `name` | places free now |
//! | `seawall_bulkhead_max_allowed_concurrent_calls` | gauge | `name` | the bulkhead's limit |
//! | `seawall_ratelimiter_available_permits` | gauge | `name` | calls a rate limiter would admit now without waiting |
//! | `seawall_ratelimiter_shadow_refusals_total` | counter | `name` | calls a rate limiter in shadow mode would have refused (and let through) |
//! | `seawall_adaptivelimiter_limit` | gauge | `name` | an adaptive limiter's current limit |
//! | `seawall_adaptivelimiter_in_flight_calls` | gauge | `name` | calls in flight under it now |
//! | `seawall_adaptivelimiter_calls_total` | counter | `name`, `kind` | its calls by outcome: `successful`, `overloaded`, `ignored`, `rejected` (refused at the limit) |
//! | `seawall_retry_quota_available` | gauge | `name` | a retry policy's quota left now |
//! | `seawall_retry_throttled_responses_total` | counter | `name` | throttling errors its adaptive rate has seen |
//! | `seawall_retry_send_rate` | gauge | `name` | the attempts per second its adaptive rate paces to (0: unpaced) |
//! | `seawall_hedge_calls_total` | counter | `name` | calls made through a hedge |
//! | `seawall_hedge_sent_total` | counter | `name` | hedges sent: attempts beyond each call's first |
//! | `seawall_hedge_won_total` | counter | `name` | calls a hedge answered rather than the first attempt |
//! | `seawall_hedge_refused_total` | counter | `name` | hedges due that the retry budget or quota refused |
//! | `seawall_hedge_cancelled_total` | counter | `name` | attempts cancelled in flight (another answered first, or the call ended) |
//! | `seawall_fault_enabled` | gauge | `name` | 1 while a fault injector's plan is on |
//! | `seawall_fault_injected_total` | counter | `name`, `kind` | faults injected: `error` (calls failed), `latency` (calls delayed), `outcome` (calls replaced) |
//! | `seawall_ratelimiter_calls_total` | counter | `name`, `kind`, `shared` | a shared rate limiter's requests in this process: `admitted`, `refused` |
//! | `seawall_shared_fallback` | gauge | `kind`, `name` | 1 while a shared breaker or rate limiter cannot reach Redis and decides locally |
//! | `seawall_shared_corrupt_reads_total` | counter | `name` | corrupt states a shared breaker read from Redis (and repaired) |
//!
//! With a breaker shared through Redis registered (feature `redis`), the
//! breaker families carry one more label, `shared` (`"true"` or `"false"`): a
//! shared breaker's state is the fleet's, its counts are this process's.
//!
//! ```
//! use prometheus_client::encoding::text::encode;
//! use seawall::{CircuitBreaker, CircuitBreakerConfig, Registry};
//!
//! let registry = Registry::new();
//! let database = CircuitBreaker::new("database", CircuitBreakerConfig::default());
//! registry.register_breaker(&database).unwrap();
//!
//! let mut prometheus = prometheus_client::registry::Registry::default();
//! registry.register_metrics(&mut prometheus);
//!
//! let mut text = String::new();
//! encode(&mut text, &prometheus).unwrap();
//! assert!(text.contains(r#"seawall_circuitbreaker_state{name="database",state="closed"} 1"#));
//! ```

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;
use seawall_core::breaker::State;

use crate::registry::Registry;

mod adaptive;
mod chaos;

/// The collector of a [`Registry`]'s metrics; see the [module
/// documentation](self) for the names. Register it once into the
/// `prometheus_client` registry you serve ([`Registry::register_metrics`]
/// does); policies registered later are included at the next scrape.
///
/// Names are exact as long as the `prometheus_client` registry has no prefix
/// (a prefix is prepended to them).
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// The metrics of `registry`'s policies.
    pub fn new(registry: &Registry) -> Self {
        Self {
            registry: registry.clone(),
        }
    }
}

// Outside this module's page: the badge on `Registry`'s says which feature it needs.
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
impl Registry {
    /// Registers the [`Metrics`] of this registry into `prometheus`.
    pub fn register_metrics(&self, prometheus: &mut prometheus_client::registry::Registry) {
        prometheus.register_collector(Box::new(Metrics::new(self)));
    }
}

fn counter(metric: &mut MetricEncoder<'_>, labels: &[(&str, &str)], value: u64) -> fmt::Result {
    metric
        .encode_family(&labels)?
        .encode_counter::<NoLabelSet, _, u64>(&value, None)
}

fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    metric: &mut MetricEncoder<'_>,
    labels: &[(&str, &str)],
    value: V,
) -> fmt::Result {
    metric.encode_family(&labels)?.encode_gauge(&value)
}

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        self.encode_breakers(&mut encoder)?;
        self.encode_retries(&mut encoder)?;
        self.encode_limits(&mut encoder)?;
        self.encode_adaptive(&mut encoder)?;
        self.encode_chaos(&mut encoder)?;
        self.encode_shared(&mut encoder)
    }
}

impl Metrics {
    fn encode_breakers(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let breakers = self.registry.breaker_views();
        if breakers.is_empty() {
            return Ok(());
        }
        let stats: Vec<_> = breakers.iter().map(|b| b.handle.stats()).collect();
        let names: Vec<&str> = breakers.iter().map(|b| b.handle.name()).collect();
        // `name`; with a shared breaker registered, every breaker's series
        // also say whether it is shared (`shared="true"` or `"false"`).
        let any_shared = breakers.iter().any(|b| b.handle.is_shared());
        let labels = |i: usize, more: &[(&'static str, &'static str)]| {
            let mut labels: Vec<(&str, &str)> = vec![("name", names[i])];
            if any_shared {
                let shared = if breakers[i].handle.is_shared() {
                    "true"
                } else {
                    "false"
                };
                labels.push(("shared", shared));
            }
            labels.extend_from_slice(more);
            labels
        };

        let mut metric = encoder.encode_descriptor(
            "seawall_circuitbreaker_state",
            "The state of the circuit breaker: 1 for the current state, 0 for the others.",
            None,
            MetricType::Gauge,
        )?;
        for (i, stats) in stats.iter().enumerate() {
            for state in State::ALL {
                let value = i64::from(stats.state == state);
                gauge(&mut metric, &labels(i, &[("state", state.as_str())]), value)?;
            }
        }

        let mut metric = encoder.encode_descriptor(
            "seawall_circuitbreaker_calls",
            "Calls through the circuit breaker, by outcome (released: ended without an \
             outcome, as ignored errors and cancelled calls).",
            None,
            MetricType::Counter,
        )?;
        let shadow: Vec<bool> = breakers.iter().map(|b| b.handle.is_shadow()).collect();
        for (i, (stats, shadow)) in stats.iter().zip(&shadow).enumerate() {
            // A shadow breaker rejects nothing: what it would have rejected
            // is the family below.
            let rejected = if *shadow { 0 } else { stats.rejected };
            for (kind, value) in [
                ("successful", stats.successful),
                ("failed", stats.failed),
                ("released", stats.released),
                ("rejected", rejected),
            ] {
                counter(&mut metric, &labels(i, &[("kind", kind)]), value)?;
            }
        }

        if shadow.iter().any(|s| *s) {
            let mut metric = encoder.encode_descriptor(
                "seawall_circuitbreaker_shadow_rejections",
                "Calls a circuit breaker in shadow mode would have rejected, and let through.",
                None,
                MetricType::Counter,
            )?;
            for ((name, stats), _) in names.iter().zip(&stats).zip(&shadow).filter(|(_, s)| **s) {
                counter(&mut metric, &[("name", name)], stats.rejected)?;
            }
        }

        let mut metric = encoder.encode_descriptor(
            "seawall_circuitbreaker_slow_calls",
            "Calls slower than the circuit breaker's slow_call_duration.",
            None,
            MetricType::Counter,
        )?;
        for (i, stats) in stats.iter().enumerate() {
            counter(&mut metric, &labels(i, &[]), stats.slow)?;
        }

        let mut metric = encoder.encode_descriptor(
            "seawall_circuitbreaker_failure_rate",
            "The failure rate (0 to 1) over the sliding window, or over every call \
             without a window.",
            None,
            MetricType::Gauge,
        )?;
        for (i, breaker) in breakers.iter().enumerate() {
            gauge(&mut metric, &labels(i, &[]), breaker.handle.failure_rate())?;
        }

        let mut metric = encoder.encode_descriptor(
            "seawall_circuitbreaker_slow_call_rate",
            "The slow-call rate (0 to 1) over the sliding window, or over every call \
             without a window.",
            None,
            MetricType::Gauge,
        )?;
        for (i, breaker) in breakers.iter().enumerate() {
            gauge(
                &mut metric,
                &labels(i, &[]),
                breaker.handle.slow_call_rate(),
            )?;
        }

        let mut metric = encoder.encode_descriptor(
            "seawall_circuitbreaker_transitions",
            "State transitions of the circuit breaker.",
            None,
            MetricType::Counter,
        )?;
        for (i, breaker) in breakers.iter().enumerate() {
            for (transition, count) in breaker.track.transitions() {
                let more = [
                    ("from", transition.from.as_str()),
                    ("to", transition.to.as_str()),
                ];
                counter(&mut metric, &labels(i, &more), count)?;
            }
        }

        let timed: Vec<_> = names
            .iter()
            .zip(&breakers)
            .filter_map(|(name, b)| Some((name, b.track.duration_snapshots()?)))
            .collect();
        if !timed.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "seawall_circuitbreaker_call_duration",
                "Durations of the calls through the circuit breaker, by outcome.",
                Some(&Unit::Seconds),
                MetricType::Histogram,
            )?;
            for (name, histograms) in timed {
                for (kind, h) in ["successful", "failed"].into_iter().zip(histograms) {
                    metric
                        .encode_family(&[("name", *name), ("kind", kind)])?
                        .encode_histogram::<NoLabelSet>(h.sum, h.count, &h.buckets, None)?;
                }
            }
        }
        Ok(())
    }

    /// What only shared policies have: their fallback and corrupt reads.
    fn encode_shared(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let breakers: Vec<_> = self
            .registry
            .breaker_views()
            .into_iter()
            .filter_map(|view| Some((view.handle.name().to_owned(), view.handle.shared()?)))
            .collect();
        #[cfg(feature = "redis")]
        let limiters = self.registry.shared_rate_limiters();
        #[cfg(not(feature = "redis"))]
        let limiters: Vec<(String, ())> = Vec::new();
        if breakers.is_empty() && limiters.is_empty() {
            return Ok(());
        }
        let mut metric = encoder.encode_descriptor(
            "seawall_shared_fallback",
            "1 while a policy shared through Redis cannot reach it and decides locally.",
            None,
            MetricType::Gauge,
        )?;
        for (name, shared) in &breakers {
            let labels = [("kind", "circuit_breaker"), ("name", name.as_str())];
            gauge(&mut metric, &labels, i64::from(shared.fallback))?;
        }
        #[cfg(feature = "redis")]
        for (name, limiter) in &limiters {
            let labels = [("kind", "rate_limiter"), ("name", name.as_str())];
            gauge(&mut metric, &labels, i64::from(limiter.is_fallback()))?;
        }
        if !breakers.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "seawall_shared_corrupt_reads",
                "Corrupt states a shared circuit breaker read from Redis (and repaired).",
                None,
                MetricType::Counter,
            )?;
            for (name, shared) in &breakers {
                counter(
                    &mut metric,
                    &[("name", name.as_str())],
                    shared.corrupt_reads,
                )?;
            }
        }
        #[cfg(feature = "redis")]
        if !limiters.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "seawall_ratelimiter_calls",
                "Requests of this process to a shared rate limiter, by outcome.",
                None,
                MetricType::Counter,
            )?;
            for (name, limiter) in &limiters {
                let (admitted, refused) = limiter.counts();
                for (kind, value) in [("admitted", admitted), ("refused", refused)] {
                    let labels = [("name", name.as_str()), ("kind", kind), ("shared", "true")];
                    counter(&mut metric, &labels, value)?;
                }
            }
        }
        Ok(())
    }

    fn encode_retries(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let retries = self.registry.retry_stats_all();
        if retries.is_empty() {
            return Ok(());
        }
        let mut metric = encoder.encode_descriptor(
            "seawall_retry_calls",
            "Calls made under the retry policy, by outcome.",
            None,
            MetricType::Counter,
        )?;
        for (name, stats) in &retries {
            for (kind, value) in stats.kinds() {
                counter(&mut metric, &[("name", name), ("kind", kind)], value)?;
            }
        }
        Ok(())
    }

    fn encode_limits(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let bulkheads = self.registry.bulkheads();
        if !bulkheads.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "seawall_bulkhead_available_permits",
                "Places free in the bulkhead now.",
                None,
                MetricType::Gauge,
            )?;
            for (name, bulkhead) in &bulkheads {
                gauge(&mut metric, &[("name", name)], bulkhead.available())?;
            }
            let mut metric = encoder.encode_descriptor(
                "seawall_bulkhead_max_allowed_concurrent_calls",
                "The most calls the bulkhead lets run at once.",
                None,
                MetricType::Gauge,
            )?;
            for (name, bulkhead) in &bulkheads {
                gauge(
                    &mut metric,
                    &[("name", name)],
                    bulkhead.config().max_concurrent,
                )?;
            }
        }
        let limiters = self.registry.rate_limiters();
        if !limiters.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "seawall_ratelimiter_available_permits",
                "Calls the rate limiter would admit now without waiting.",
                None,
                MetricType::Gauge,
            )?;
            for (name, limiter) in &limiters {
                gauge(&mut metric, &[("name", name)], limiter.available())?;
            }
        }
        if limiters.iter().any(|(_, l)| l.is_shadow()) {
            let mut metric = encoder.encode_descriptor(
                "seawall_ratelimiter_shadow_refusals",
                "Calls a rate limiter in shadow mode would have refused, and let through.",
                None,
                MetricType::Counter,
            )?;
            for (name, limiter) in limiters.iter().filter(|(_, l)| l.is_shadow()) {
                counter(&mut metric, &[("name", name)], limiter.shadow_refusals())?;
            }
        }
        Ok(())
    }
}
