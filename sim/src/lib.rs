//! What-if for seawall's policies, before it happens.
//!
//! `seawall-sim` drives the core's own circuit breaker, retry (with its
//! budget), rate limiter and bulkhead, plus a timeout, in virtual time over a
//! traffic model or a recorded trace, and tells what each configuration would
//! have done: how many calls it admitted, rejected and failed, how many failures
//! it spared the dependency, how fast it saw an outage and came back, how much
//! load its retries added, and what latency the callers saw. Nothing sleeps: a
//! day of traffic takes seconds, and the same inputs and seed give the same
//! bytes every time.
//!
//! ```
//! use seawall_sim::{Scenario, Simulation};
//!
//! let scenario = Scenario::from_toml(r#"
//!     seed = 1
//!     duration_ms = 60_000
//!     traffic = { rate = 100 }
//!     dependency = { latency = { kind = "constant", ms = 20 } }
//!     episodes = [{ kind = "outage", start_ms = 10_000, end_ms = 40_000 }]
//!
//!     [[policies]]
//!     name = "no breaker"
//!
//!     [[policies]]
//!     name = "breaker"
//!     circuit_breaker = { failure_threshold = 5, open_duration_ms = 5_000 }
//! "#).unwrap();
//! let report = Simulation::new(scenario).unwrap().run();
//! let [plain, breaker] = &report.configurations[..] else { panic!() };
//! assert!(plain.summary.failed > 2_900);
//! assert!(breaker.summary.failures_spared > 2_800);
//! println!("{}", report.summary_table());
//! ```
//!
//! The command-line program `seawall simulate` (this crate's binary) reads the
//! same scenario files and writes the table, the timeline (CSV, JSON lines),
//! the pictures (SVG, PNG) and a self-contained HTML report.
//!
//! # How a run works
//!
//! - [`Scenario`]: the input (traffic, dependency, episodes or a [`Trace`], and
//!   the [`PolicyConfig`]s to compare).
//! - `engine`: a discrete-event loop per configuration; every decision is the
//!   core's, with the event's time as its clock.
//! - `draw`: randomness addressed by call and attempt, so every configuration
//!   meets the same dependency (common random numbers).
//! - [`Report`]: the summary, the detection times, the transitions and the
//!   timeline of every configuration, and their text forms; `chart` and
//!   `html` draw them (feature `pictures`).
//!
//! # Extending it
//!
//! - **A policy** (an adaptive limit, a hedge): its options and what they
//!   build in a module of [`policy`], a field of [`PolicyConfig`] and of the
//!   built stack, and its step in `engine/attempt.rs` at its place in the
//!   order. An attempt is a slot of its own that names its call, so a policy
//!   that sends several attempts of one call at once (hedging) needs the call
//!   to count its attempts in flight and to end with the first answer,
//!   releasing the others' permits and places.
//! - **An episode** (fault injection): a variant of [`Episode`] and the
//!   change it makes to the dependency's conditions (`episode.rs`).
//! - **A measure**: a field of [`Summary`] (totals) or [`Row`] (per step),
//!   counted where the engine sees it; the table, the CSV, the JSON and the
//!   pictures read them from there.

#[cfg(feature = "pictures")]
pub mod chart;
mod draw;
mod engine;
mod episode;
mod error;
mod histogram;
#[cfg(feature = "pictures")]
pub mod html;
mod latency;
mod metrics;
pub mod policy;
mod progress;
mod report;
mod scenario;
mod slab;
mod timeline;
mod trace;
mod traffic;

use std::sync::atomic::AtomicU64;

pub use engine::TransitionRecord;
pub use episode::{Episode, Health};
pub use error::Error;
pub use latency::Latency;
pub use metrics::{Percentiles, Summary};
pub use policy::PolicyConfig;
pub use progress::Progress;
pub use report::{Configuration, Detection, EpisodeSpan, Report};
pub use scenario::{Dependency, Policies, Scenario};
pub use timeline::Row;
pub use trace::Trace;
pub use traffic::{Arrivals, ClientRetries, Surge, Traffic};

use draw::Draws;
use engine::{Engine, Model, Source};

/// A scenario checked and ready to run: its traffic, its dependency and its
/// configurations.
pub struct Simulation {
    scenario: Scenario,
    model: Model,
}

impl Simulation {
    /// Checks `scenario` and loads its trace, if it names one.
    pub fn new(scenario: Scenario) -> Result<Self, Error> {
        let trace = scenario::trace(&scenario)?;
        Self::build(scenario, trace)
    }

    /// Checks `scenario`, with `trace` as its recorded traffic (in place of
    /// its traffic model or trace file).
    pub fn with_trace(scenario: Scenario, trace: Trace) -> Result<Self, Error> {
        Self::build(scenario, Some(trace))
    }

    fn build(scenario: Scenario, trace: Option<Trace>) -> Result<Self, Error> {
        if scenario.policies.is_empty() {
            return Err(Error::invalid(
                "policies",
                "name at least one configuration",
            ));
        }
        let (source, keys, default_duration) = match trace {
            Some(trace) => {
                if trace.is_empty() {
                    return Err(Error::invalid("trace", "has no calls"));
                }
                if scenario.traffic.is_some() || !scenario.episodes.is_empty() {
                    return Err(Error::invalid(
                        "trace",
                        "replaces traffic and episodes: give one or the other",
                    ));
                }
                let last = trace.records.last().map_or(0, |r| r.at);
                let keys = trace.keys.len().max(1) as u32;
                (Source::Trace(trace), keys, Some(last + 1_000_000))
            }
            None => {
                let traffic = scenario
                    .traffic
                    .as_ref()
                    .ok_or_else(|| Error::invalid("traffic", "is required without a trace"))?;
                let load = traffic.load().map_err(|e| e.within("traffic"))?;
                let keys = match &load {
                    traffic::Load::Open { keys, .. } | traffic::Load::Closed { keys, .. } => *keys,
                };
                let conditions = scenario::conditions(&scenario)?;
                (Source::Model { load, conditions }, keys, None)
            }
        };
        let duration = traffic::duration(scenario.duration_ms)?
            .or(default_duration)
            .ok_or_else(|| Error::invalid("duration_ms", "is required with a traffic model"))?;
        let step = scenario::step(scenario.timeline_step_ms, duration)?;
        let client_retries = match &scenario.traffic {
            Some(t) => t.client_retries().map_err(|e| e.within("traffic"))?,
            None => None,
        };
        let mut names = std::collections::BTreeSet::new();
        for (i, policy) in scenario.policies.iter().enumerate() {
            policy
                .build(keys)
                .map_err(|e| e.within(&format!("policies[{i}]")))?;
            if !names.insert(policy.name.as_str()) {
                return Err(Error::invalid(
                    format!("policies[{i}].name"),
                    "must be unique",
                ));
            }
        }
        let capacity = scenario
            .dependency
            .workers()
            .map_err(|e| e.within("dependency"))?;
        let model = Model {
            draws: Draws::new(scenario.seed),
            duration,
            step,
            source,
            keys,
            client_retries,
            capacity,
        };
        Ok(Self { scenario, model })
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The virtual time a run covers, in nanoseconds (for a progress bar).
    pub fn duration_nanos(&self) -> u64 {
        self.model.duration
    }

    /// Runs every configuration and reports.
    pub fn run(&self) -> Report {
        self.run_with(&Progress::new())
    }

    /// Runs every configuration (at once, one thread each) and reports,
    /// advancing `progress` as virtual time goes by.
    pub fn run_with(&self, progress: &Progress) -> Report {
        let policies = &self.scenario.policies;
        let outcomes: Vec<engine::Outcomes> = if policies.len() == 1 {
            vec![self.run_one(0, progress.counter())]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..policies.len())
                    .map(|i| scope.spawn(move || self.run_one(i, progress.counter())))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a simulation thread does not panic"))
                    .collect()
            })
        };
        let spans: Vec<(u64, u64)> = self
            .scenario
            .episodes
            .iter()
            .map(|e| e.interval().expect("checked in new"))
            .collect();
        Report {
            description: self.scenario.description.clone(),
            seed: self.scenario.seed,
            duration_s: report::seconds(self.model.duration),
            step_s: report::seconds(self.model.step),
            episodes: self
                .scenario
                .episodes
                .iter()
                .zip(&spans)
                .map(|(e, &(start, end))| EpisodeSpan {
                    kind: e.kind(),
                    start_s: report::seconds(start),
                    end_s: report::seconds(end),
                })
                .collect(),
            configurations: policies
                .iter()
                .zip(outcomes)
                .map(|(policy, o)| Configuration {
                    name: policy.name.clone(),
                    episodes: if policy.circuit_breaker.is_some() {
                        spans
                            .iter()
                            .map(|&(start, end)| report::detection(&o.changes, start, end))
                            .collect()
                    } else {
                        Vec::new()
                    },
                    summary: o.summary,
                    transitions: o.transitions,
                    timeline: o.rows,
                })
                .collect(),
        }
    }

    fn run_one(&self, index: usize, progress: &AtomicU64) -> engine::Outcomes {
        let stack = self.scenario.policies[index]
            .build(self.model.keys)
            .expect("checked in new");
        Engine::new(&self.model, stack).run(progress)
    }
}
