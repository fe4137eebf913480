//! The metrics of the adaptive policies: adaptive limiters, and the quotas and
//! adaptive rates of registered retry policies.

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use super::{Metrics, counter, gauge};

impl Metrics {
    pub(super) fn encode_adaptive(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let limiters = self.registry.adaptive_limiters();
        if !limiters.is_empty() {
            let stats: Vec<_> = limiters.iter().map(|(_, l)| l.stats()).collect();
            let mut metric = encoder.encode_descriptor(
                "seawall_adaptivelimiter_limit",
                "The adaptive limiter's current limit on calls in flight.",
                None,
                MetricType::Gauge,
            )?;
            for ((name, _), stats) in limiters.iter().zip(&stats) {
                gauge(&mut metric, &[("name", name)], stats.limit)?;
            }
            let mut metric = encoder.encode_descriptor(
                "seawall_adaptivelimiter_in_flight_calls",
                "Calls in flight under the adaptive limiter now.",
                None,
                MetricType::Gauge,
            )?;
            for ((name, _), stats) in limiters.iter().zip(&stats) {
                gauge(&mut metric, &[("name", name)], stats.in_flight)?;
            }
            let mut metric = encoder.encode_descriptor(
                "seawall_adaptivelimiter_calls",
                "Calls through the adaptive limiter, by outcome (overloaded: a sign of \
                 overload; released: ended without an outcome; rejected: refused at the limit).",
                None,
                MetricType::Counter,
            )?;
            for ((name, _), stats) in limiters.iter().zip(&stats) {
                for (kind, value) in [
                    ("successful", stats.succeeded),
                    ("overloaded", stats.overloaded),
                    ("released", stats.released),
                    ("rejected", stats.rejected),
                ] {
                    counter(&mut metric, &[("name", name), ("kind", kind)], value)?;
                }
            }
        }

        let policies = self.registry.retry_policies();
        let quotas: Vec<_> = policies
            .iter()
            .filter_map(|(name, p)| Some((name, p.quota.as_ref()?)))
            .collect();
        if !quotas.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "seawall_retry_quota_available",
                "The retry quota's capacity left now.",
                None,
                MetricType::Gauge,
            )?;
            for (name, quota) in &quotas {
                gauge(&mut metric, &[("name", name)], quota.available())?;
            }
        }
        let rates: Vec<_> = policies
            .iter()
            .filter_map(|(name, p)| Some((name, p.adaptive_rate.as_ref()?)))
            .collect();
        if !rates.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "seawall_retry_throttled_responses",
                "Throttling errors the retry policy's adaptive rate has seen.",
                None,
                MetricType::Counter,
            )?;
            for (name, rate) in &rates {
                counter(&mut metric, &[("name", name)], rate.throttled())?;
            }
            let mut metric = encoder.encode_descriptor(
                "seawall_retry_send_rate",
                "The attempts per second the adaptive rate paces to (0 until the first \
                 throttling error: unpaced).",
                None,
                MetricType::Gauge,
            )?;
            for (name, rate) in &rates {
                let paced = if rate.is_enabled() {
                    rate.fill_rate()
                } else {
                    0.0
                };
                gauge(&mut metric, &[("name", name)], paced)?;
            }
        }
        Ok(())
    }
}
