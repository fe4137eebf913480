//! Hedges and fault injectors in the registry: their counters for the
//! metrics, and the fault injectors' switch by name.

use seawall_core::hedge::HedgeStats;

use super::{AlreadyRegistered, PolicyKind, Registry, insert, read};
use crate::fault::FaultInjector;
use crate::hedge::Hedge;

impl Registry {
    /// Registers `hedge` under its name (its counters become metrics).
    pub fn register_hedge<C>(&self, hedge: &Hedge<C>) -> Result<(), AlreadyRegistered> {
        insert(&self.shared.hedges, PolicyKind::Hedge, hedge.name(), || {
            hedge.erased()
        })
    }

    /// What the hedge registered as `name` has done.
    pub fn hedge_stats(&self, name: &str) -> Option<HedgeStats> {
        read(&self.shared.hedges).get(name).map(Hedge::stats)
    }

    /// Registers `injector` under its name: switch it on and off by name
    /// ([`fault_injector`](Self::fault_injector)); its faults become metrics.
    pub fn register_fault_injector(
        &self,
        injector: &FaultInjector,
    ) -> Result<(), AlreadyRegistered> {
        insert(
            &self.shared.fault_injectors,
            PolicyKind::FaultInjector,
            injector.name(),
            || injector.clone(),
        )
    }

    /// The fault injector registered as `name`, to switch it on or off at run
    /// time (an admin endpoint, a feature flag).
    pub fn fault_injector(&self, name: &str) -> Option<FaultInjector> {
        read(&self.shared.fault_injectors).get(name).cloned()
    }

    /// Every hedge with its name, sorted by name.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn hedges(&self) -> Vec<(String, Hedge)> {
        read(&self.shared.hedges)
            .iter()
            .map(|(n, h)| (n.clone(), h.clone()))
            .collect()
    }

    /// Every fault injector with its name, sorted by name.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn fault_injectors(&self) -> Vec<(String, FaultInjector)> {
        read(&self.shared.fault_injectors)
            .iter()
            .map(|(n, f)| (n.clone(), f.clone()))
            .collect()
    }
}
