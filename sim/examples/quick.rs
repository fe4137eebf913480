fn main() {
    let path = std::env::args().nth(1).unwrap();
    let scenario = seawall_sim::Scenario::load(std::path::Path::new(&path)).unwrap();
    let report = seawall_sim::Simulation::new(scenario).unwrap().run();
    print!("{}", report.summary_table());
    for c in &report.configurations { for t in c.transitions.iter().take(20) { println!("{} {:?}", c.name, t); } }
}
