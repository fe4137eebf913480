//! Fault plans in the simulator: the plan file the adapters' fault injectors
//! read, fired on the attempts of a run, so that a plan can be tried offline
//! before it is switched on in production.
//!
//! The rules are the core's (`seawall_core::fault`) and combine as there. What
//! differs is where the words are drawn from: each attempt draws from a
//! generator addressed by its call and attempt and seeded by the plan's seed,
//! so that every configuration meets the same faults on the same attempts
//! (common random numbers), whatever the others did.

use seawall_core::fault::{self, FaultRule, Injection};
use serde::{Deserialize, Serialize};

use crate::draw::{Draws, Stream};
use crate::error::{Error, nanos};

/// A fault plan, switched on `start_ms` into the run; its windows count from
/// then.
///
/// ```toml
/// [faults]
/// seed = 7
/// rules = [
///     { kind = "latency", delay_ms = 200, rate = 1.0 },
///     { kind = "error", rate = 0.3, after_ms = 10_000, until_ms = 40_000 },
/// ]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// The seed of the plan's draws (default 0).
    #[serde(default)]
    pub seed: u64,
    /// When the plan is switched on (default 0: from the start).
    #[serde(default)]
    pub start_ms: f64,
    /// The rules, in order, in the adapters' file form.
    pub rules: Vec<FaultRule<String>>,
}

/// A plan, checked, ready to fire.
pub(crate) struct Faults {
    draws: Draws,
    start: u64,
    rules: Vec<FaultRule<String>>,
    /// Whether a rule has a key (keys are named only then).
    keyed: bool,
}

impl FaultPlan {
    pub(crate) fn build(&self) -> Result<Faults, Error> {
        fault::validate(&self.rules).map_err(|e| Error::from(e).within("rules"))?;
        Ok(Faults {
            draws: Draws::new(self.seed),
            start: nanos("start_ms", self.start_ms)?,
            rules: self.rules.clone(),
            keyed: self.rules.iter().any(|r| r.key.is_some()),
        })
    }
}

impl Faults {
    /// What the plan does to the attempt at `address` of call `id` (whose key
    /// `key` names), at `now`.
    #[inline]
    pub(crate) fn decide(
        &self,
        id: u64,
        address: u64,
        key: impl FnOnce() -> String,
        now: u64,
    ) -> Injection {
        let Some(elapsed) = now.checked_sub(self.start) else {
            return Injection::NONE;
        };
        let mut rng = self.draws.rng(Stream::Faults, id, address);
        let name = self.keyed.then(key);
        fault::decide(
            &self.rules,
            name.as_deref(),
            std::time::Duration::from_nanos(elapsed),
            &mut rng,
        )
    }
}
