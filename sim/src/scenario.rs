//! The input of a run: the traffic, the dependency, what goes wrong with it,
//! and the configurations to compare; in one TOML or JSON file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::episode::{Condition, Conditions, Episode, Health};
use crate::error::{Error, positive_nanos, ratio};
use crate::latency::Latency;
use crate::policy::PolicyConfig;
use crate::trace::Trace;
use crate::traffic::Traffic;

/// A scenario file.
///
/// Either a traffic model (`traffic`, `dependency`, `episodes`, `duration_ms`)
/// or a recorded trace (`trace`, a file beside the scenario), and the
/// configurations to compare (`policies`, or a separate file).
///
/// ```toml
/// description = "The dependency is down for 55 s"
/// seed = 7
/// duration_ms = 120_000
///
/// [traffic]
/// rate = 5
/// arrivals = "uniform"
///
/// [dependency]
/// latency = { kind = "constant", ms = 0 }
/// capacity = 100    # workers: more attempts wait for one
///
/// [[episodes]]
/// kind = "outage"
/// start_ms = 20_000
/// end_ms = 75_000
///
/// [[policies]]
/// name = "breaker"
/// circuit_breaker = { failure_threshold = 5, open_duration_ms = 5_000 }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// The seed of every random draw (default 0).
    #[serde(default)]
    pub seed: u64,
    /// How long calls keep arriving (required with `traffic`; with a trace, until
    /// its last call by default).
    pub duration_ms: Option<f64>,
    /// The length of one step of the timeline (default: about 1/600 of the run,
    /// rounded to 1, 2 or 5 times a power of ten).
    pub timeline_step_ms: Option<f64>,
    /// The callers.
    pub traffic: Option<Traffic>,
    /// The dependency's normal behaviour.
    #[serde(default)]
    pub dependency: Dependency,
    /// What goes wrong with it, and when.
    #[serde(default)]
    pub episodes: Vec<Episode>,
    /// A recorded trace instead of a traffic model: a CSV or JSON-lines file,
    /// relative to the scenario file.
    pub trace: Option<PathBuf>,
    /// The configurations to compare.
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
}

/// The dependency's normal behaviour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// How long it takes to answer (default 0).
    #[serde(default)]
    pub latency: Latency,
    /// The share of calls that fail (default 0).
    #[serde(default)]
    pub failure_rate: f64,
    /// The most attempts it works on at once (default: no limit). More wait
    /// for a worker, first come first served, and the wait adds to their
    /// latency; an attempt its caller gave up on (a timeout) still takes its
    /// worker for its whole latency, as a server that cannot tell works on.
    pub capacity: Option<u32>,
}

/// A file of configurations alone, to compare on any scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// The configurations.
    pub policies: Vec<PolicyConfig>,
}

/// Parses `text` as TOML, or JSON when `json` is set.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    text: &str,
    json: bool,
    source: &str,
) -> Result<T, Error> {
    let parsed = if json {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        toml::from_str(text).map_err(|e| e.to_string())
    };
    parsed.map_err(|message| Error::Parse {
        source: source.to_string(),
        message: message.trim_end().to_string(),
    })
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

pub(crate) fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

impl Scenario {
    /// Reads a scenario file: JSON when its name ends in `.json`, TOML otherwise.
    /// A relative `trace` path is made relative to the file's directory.
    pub fn load(path: &Path) -> Result<Scenario, Error> {
        let mut scenario: Scenario =
            parse(&read(path)?, is_json(path), &path.display().to_string())?;
        if let (Some(trace), Some(dir)) = (&scenario.trace, path.parent()) {
            scenario.trace = Some(dir.join(trace));
        }
        Ok(scenario)
    }

    /// A scenario from TOML text.
    pub fn from_toml(text: &str) -> Result<Scenario, Error> {
        parse(text, false, "scenario")
    }

    /// A scenario from JSON text.
    pub fn from_json(text: &str) -> Result<Scenario, Error> {
        parse(text, true, "scenario")
    }
}

impl Policies {
    /// Reads a file of `[[policies]]`: JSON when its name ends in `.json`, TOML otherwise.
    pub fn load(path: &Path) -> Result<Vec<PolicyConfig>, Error> {
        let policies: Policies = parse(&read(path)?, is_json(path), &path.display().to_string())?;
        Ok(policies.policies)
    }
}

impl Dependency {
    /// The workers of a dependency with a `capacity`.
    pub(crate) fn workers(&self) -> Result<Option<u32>, Error> {
        match self.capacity {
            None => Ok(None),
            Some(c) if (1..=1 << 20).contains(&c) => Ok(Some(c)),
            Some(_) => Err(Error::invalid("capacity", "must be from 1 to 1048576")),
        }
    }

    pub(crate) fn condition(&self) -> Result<Condition, Error> {
        Ok(Condition {
            failure_rate: ratio("failure_rate", self.failure_rate)?,
            latency: self.latency.sampler().map_err(|e| e.within("latency"))?,
            hang: false,
            health: Health::Up,
        })
    }
}

/// The conditions of a scenario's dependency over time.
pub(crate) fn conditions(scenario: &Scenario) -> Result<Conditions, Error> {
    let normal = scenario
        .dependency
        .condition()
        .map_err(|e| e.within("dependency"))?;
    Conditions::new(normal, &scenario.episodes)
}

/// The timeline's step: as asked, or about 1/600 of the run.
pub(crate) fn step(asked: Option<f64>, duration: u64) -> Result<u64, Error> {
    if let Some(ms) = asked {
        let step = positive_nanos("timeline_step_ms", ms)?;
        if duration / step > 10_000_000 {
            return Err(Error::invalid(
                "timeline_step_ms",
                "gives more than 10 million steps: make it longer",
            ));
        }
        return Ok(step);
    }
    let target = (duration / 600).max(1_000_000);
    let mut unit = 1_000_000u64;
    loop {
        for factor in [1, 2, 5] {
            if unit * factor >= target {
                return Ok(unit * factor);
            }
        }
        unit *= 10;
    }
}

/// Loads the scenario's trace, if it names one.
pub(crate) fn trace(scenario: &Scenario) -> Result<Option<Trace>, Error> {
    scenario.trace.as_deref().map(Trace::load).transpose()
}
