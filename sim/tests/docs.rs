//! The documents' simulator examples are true: every `toml,scenario` block
//! of the guide and the tutorial is a valid scenario, the tutorial's block is
//! the file it names, and its table is what the simulator prints.

mod support;

use std::path::Path;

use seawall_sim::{Scenario, Simulation, Trace};

fn document(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bodies of the blocks fenced with exactly ```` ```tag ````.
fn blocks(text: &str, tag: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("```{tag}") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            found.push(body.join("\n") + "\n");
        }
    }
    found
}

#[test]
fn the_guides_scenario_runs() {
    let guide = document("docs/CIRCUIT_BREAKER_GUIDE.md");
    let scenarios = blocks(&guide, "toml,scenario");
    assert_eq!(scenarios.len(), 1);
    let scenario = Scenario::from_toml(&scenarios[0]).unwrap();
    let report = Simulation::new(scenario).unwrap().run();
    assert_eq!(report.configurations.len(), 3);
    // What the guide says the table shows: the breakers spare failures, at a price.
    assert!(
        report.configurations[1..]
            .iter()
            .all(|c| c.summary.failures_spared > 0)
    );
}

#[test]
fn the_tutorials_candidates_are_the_file_and_its_table_is_true() {
    let tutorial = document("docs/SIMULATOR.md");
    let scenarios = blocks(&tutorial, "toml,scenario");
    assert_eq!(scenarios.len(), 1);
    let file = support::example("checkout_policies.toml");
    let scenario = Scenario::load(&file).unwrap();
    assert_eq!(Scenario::from_toml(&scenarios[0]).unwrap(), scenario);

    let trace = Trace::load(&support::example("checkout_trace.csv")).unwrap();
    let table = Simulation::with_trace(scenario, trace)
        .unwrap()
        .run()
        .summary_table();
    let shown = blocks(&tutorial, "text")
        .into_iter()
        .find(|b| b.starts_with("| configuration"))
        .expect("the tutorial shows the table");
    assert_eq!(shown, table, "docs/SIMULATOR.md's table is stale");
}
