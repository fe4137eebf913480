//! `seawall._seawall._simulate`: the simulator (crate `seawall-sim`) behind
//! `seawall.simulate`. The Python layer (`seawall/_sim.py`) turns its
//! arguments into the simulator's own inputs (JSON text or file paths); this
//! function checks them as the command line does, runs without the GIL, and
//! returns the report as JSON with its summary table.

use std::path::Path;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use seawall_sim::{Error, Policies, Scenario, Simulation, Trace};

/// The simulator's errors: bad input is a `ValueError` (naming the field, the
/// file and line), an unreadable file an `OSError`.
fn error(error: Error) -> PyErr {
    match error {
        Error::Io { .. } => PyOSError::new_err(error.to_string()),
        _ => PyValueError::new_err(error.to_string()),
    }
}

/// Runs a simulation: the scenario as JSON text or a file (TOML or JSON), the
/// configurations to compare instead of its own (JSON text of a list, or a
/// file), the trace to replay (JSON lines, or a CSV or JSON-lines file) and
/// the random `seed`. Returns `(report as JSON, summary table)`.
#[pyfunction]
#[pyo3(signature = (*, scenario_json=None, scenario_path=None, policies_json=None, policies_path=None, trace_jsonl=None, trace_path=None, seed=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn _simulate(
    py: Python<'_>,
    scenario_json: Option<&str>,
    scenario_path: Option<&str>,
    policies_json: Option<&str>,
    policies_path: Option<&str>,
    trace_jsonl: Option<&str>,
    trace_path: Option<&str>,
    seed: Option<u64>,
) -> PyResult<(String, String)> {
    let mut scenario = match (scenario_json, scenario_path) {
        (Some(text), None) => Scenario::from_json(text),
        (None, Some(path)) => Scenario::load(Path::new(path)),
        _ => return Err(PyValueError::new_err("give one scenario")),
    }
    .map_err(error)?;
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    match (policies_json, policies_path) {
        (Some(text), None) => {
            let wrapped = format!("{{\"policies\": {text}}}");
            let parsed: Policies = serde_json::from_str(&wrapped)
                .map_err(|e| PyValueError::new_err(format!("policies: {e}")))?;
            scenario.policies = parsed.policies;
        }
        (None, Some(path)) => scenario.policies = Policies::load(Path::new(path)).map_err(error)?,
        (None, None) => {}
        _ => return Err(PyValueError::new_err("give policies once")),
    }
    let trace = match (trace_jsonl, trace_path) {
        (Some(text), None) => Some(Trace::from_jsonl(text, "trace").map_err(error)?),
        (None, Some(path)) => Some(Trace::load(Path::new(path)).map_err(error)?),
        (None, None) => None,
        _ => return Err(PyValueError::new_err("give one trace")),
    };
    let simulation = match trace {
        Some(trace) => Simulation::with_trace(scenario, trace),
        None => Simulation::new(scenario),
    }
    .map_err(error)?;
    // Seconds of work that touch no Python object: other threads run meanwhile.
    let report = py.detach(move || simulation.run());
    Ok((report.to_json(), report.summary_table()))
}
