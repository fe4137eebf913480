//! Helpers shared by the simulator's tests.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use seawall_sim::{Configuration, Report, Scenario, Simulation};

/// The path of an example scenario in `sim/scenarios/`.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// Runs an example scenario.
pub fn run(name: &str) -> Report {
    let scenario = Scenario::load(&example(name)).expect("the example parses");
    Simulation::new(scenario)
        .expect("the example is valid")
        .run()
}

/// The configuration named `name`.
pub fn configuration<'a>(report: &'a Report, name: &str) -> &'a Configuration {
    report
        .configurations
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no configuration {name:?}"))
}
