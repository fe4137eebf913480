//! `seawall simulate`: what-if for seawall's policies, from the command line.
//!
//! ```sh
//! cargo run --release -p seawall-sim -- simulate sim/scenarios/retry_storm.toml --out report/
//! ```

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use seawall_sim::{Error, Policies, Progress, Report, Scenario, Simulation, Trace, chart, html};

const USAGE: &str = "\
seawall simulate: what would these policies have done?

usage: seawall simulate SCENARIO [options]

SCENARIO is a TOML or JSON file: traffic, dependency, episodes and [[policies]]
(see sim/scenarios/). The summary table goes to standard output.

options:
  --trace FILE      replay a recorded trace (CSV or .jsonl) instead of the traffic model
  --policies FILE   compare these [[policies]] instead of the scenario's
  --seed N          the seed of every random draw (default: the scenario's)
  --out DIR         write everything below into DIR
  --csv FILE        the timeline as CSV
  --jsonl FILE      the timeline as JSON lines
  --json FILE       the whole report as JSON (summary, detection, transitions, timeline)
  --svg FILE        the picture as SVG
  --png FILE        the picture as PNG
  --html FILE       one self-contained HTML report
  --quiet           no table, no progress bar
";

#[derive(Default)]
struct Args {
    scenario: Option<PathBuf>,
    trace: Option<PathBuf>,
    policies: Option<PathBuf>,
    seed: Option<u64>,
    out: Option<PathBuf>,
    files: Vec<(Output, PathBuf)>,
    quiet: bool,
}

#[derive(Clone, Copy)]
enum Output {
    Csv,
    Jsonl,
    Json,
    Transitions,
    Summary,
    Svg,
    Png,
    Html,
}

impl Output {
    /// The file each output gets in `--out DIR`.
    const ALL: [(Output, &'static str); 8] = [
        (Output::Summary, "summary.md"),
        (Output::Csv, "timeline.csv"),
        (Output::Jsonl, "timeline.jsonl"),
        (Output::Transitions, "transitions.jsonl"),
        (Output::Json, "report.json"),
        (Output::Svg, "timeline.svg"),
        (Output::Png, "timeline.png"),
        (Output::Html, "report.html"),
    ];

    fn render(self, report: &Report) -> Result<Vec<u8>, Error> {
        Ok(match self {
            Output::Csv => report.timeline_csv().into_bytes(),
            Output::Jsonl => report.timeline_jsonl().into_bytes(),
            Output::Json => report.to_json().into_bytes(),
            Output::Transitions => report.transitions_jsonl().into_bytes(),
            Output::Summary => report.summary_table().into_bytes(),
            Output::Svg => chart::svg(report)?.into_bytes(),
            Output::Png => chart::png(report)?,
            Output::Html => html::page(report)?.into_bytes(),
        })
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    match args.next().as_deref() {
        Some("simulate") => {}
        Some("help" | "--help" | "-h") | None => return Err(String::new()),
        Some(other) => return Err(format!("unknown command {other:?}")),
    }
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--trace" => parsed.trace = Some(value("--trace")?.into()),
            "--policies" => parsed.policies = Some(value("--policies")?.into()),
            "--seed" => {
                let seed = value("--seed")?;
                parsed.seed = Some(
                    seed.parse()
                        .map_err(|_| format!("--seed: not a number: {seed:?}"))?,
                );
            }
            "--out" => parsed.out = Some(value("--out")?.into()),
            "--csv" => parsed.files.push((Output::Csv, value("--csv")?.into())),
            "--jsonl" => parsed.files.push((Output::Jsonl, value("--jsonl")?.into())),
            "--json" => parsed.files.push((Output::Json, value("--json")?.into())),
            "--svg" => parsed.files.push((Output::Svg, value("--svg")?.into())),
            "--png" => parsed.files.push((Output::Png, value("--png")?.into())),
            "--html" => parsed.files.push((Output::Html, value("--html")?.into())),
            "--quiet" => parsed.quiet = true,
            "--help" | "-h" => return Err(String::new()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            path if parsed.scenario.is_none() => parsed.scenario = Some(path.into()),
            extra => return Err(format!("one scenario only, not also {extra:?}")),
        }
    }
    if parsed.scenario.is_none() {
        return Err("name a scenario file".into());
    }
    Ok(parsed)
}

fn simulation(args: &Args) -> Result<Simulation, Error> {
    let mut scenario = Scenario::load(args.scenario.as_deref().expect("checked"))?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(path) = &args.policies {
        scenario.policies = Policies::load(path)?;
    }
    match &args.trace {
        Some(path) => Simulation::with_trace(scenario, Trace::load(path)?),
        None => Simulation::new(scenario),
    }
}

/// Runs `simulation`, with a progress bar on a terminal once it takes a while.
fn run(simulation: &Simulation, bar: bool) -> Report {
    let progress = Progress::new();
    let total = simulation.duration_nanos() * simulation.scenario().policies.len() as u64;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        if bar {
            scope.spawn(|| {
                let start = Instant::now();
                let mut drawn = false;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::park_timeout(Duration::from_millis(200));
                    if start.elapsed() > Duration::from_secs(1) {
                        progress.draw(total, "simulating");
                        drawn = true;
                    }
                }
                if drawn {
                    progress.draw(total, "simulating");
                    eprintln!();
                }
            });
        }
        let report = simulation.run_with(&progress);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        report
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("seawall: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = simulation(&args).and_then(|simulation| {
        let report = run(&simulation, !args.quiet && std::io::stderr().is_terminal());
        if !args.quiet {
            print!("{}", report.summary_table());
        }
        let mut files = args.files.clone();
        if let Some(dir) = &args.out {
            files.extend(Output::ALL.iter().map(|(o, name)| (*o, dir.join(name))));
        }
        for (output, path) in files {
            write(&path, &output.render(&report)?)?;
        }
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("seawall: {error}");
            ExitCode::FAILURE
        }
    }
}
