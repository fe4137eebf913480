//! The metrics of hedges and fault injectors.

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use seawall_core::fault::FaultKind;

use super::{Metrics, counter, gauge};

impl Metrics {
    pub(super) fn encode_chaos(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let hedges = self.registry.hedges();
        if !hedges.is_empty() {
            let stats: Vec<_> = hedges.iter().map(|(_, h)| h.stats()).collect();
            for (name, help, value) in [
                (
                    "seawall_hedge_calls",
                    "Calls made through the hedge.",
                    (|s| s.calls) as fn(&seawall_core::hedge::HedgeStats) -> u64,
                ),
                (
                    "seawall_hedge_sent",
                    "Hedges sent: attempts beyond each call's first.",
                    |s| s.hedges,
                ),
                (
                    "seawall_hedge_won",
                    "Calls answered by a hedge rather than by their first attempt.",
                    |s| s.won,
                ),
                (
                    "seawall_hedge_refused",
                    "Hedges due that the retry budget or quota refused.",
                    |s| s.refused,
                ),
                (
                    "seawall_hedge_cancelled",
                    "Attempts cancelled in flight: another answered first, or the call ended.",
                    |s| s.cancelled,
                ),
            ] {
                let mut metric =
                    encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
                for ((hedge, _), stats) in hedges.iter().zip(&stats) {
                    counter(&mut metric, &[("name", hedge)], value(stats))?;
                }
            }
        }

        let injectors = self.registry.fault_injectors();
        if !injectors.is_empty() {
            let mut metric = encoder.encode_descriptor(
                "seawall_fault_enabled",
                "1 while the fault injector's plan is on, 0 while it is off.",
                None,
                MetricType::Gauge,
            )?;
            for (name, injector) in &injectors {
                gauge(
                    &mut metric,
                    &[("name", name)],
                    i64::from(injector.is_enabled()),
                )?;
            }
            let mut metric = encoder.encode_descriptor(
                "seawall_fault_injected",
                "Faults injected, by kind (error: calls failed; latency: calls delayed; \
                 outcome: calls replaced).",
                None,
                MetricType::Counter,
            )?;
            for (name, injector) in &injectors {
                let counts = injector.counts();
                for kind in FaultKind::ALL {
                    counter(
                        &mut metric,
                        &[("name", name), ("kind", kind.as_str())],
                        counts.of(kind),
                    )?;
                }
            }
        }
        Ok(())
    }
}
