//! The picture in the guide: a breaker through an outage, drawn as SVG from a
//! real run of the core with a manual clock. Deterministic, so the committed
//! image is checked against a fresh run by the tests (`tests/tests/timeline.rs`).
//!
//! Regenerate with `cargo run -p seawall-tests --bin timeline > docs/img/breaker-timeline.svg`.

use std::fmt::Write as _;
use std::time::Duration;

use seawall_core::breaker::{BreakerConfig, CircuitBreaker, State};
use seawall_core::time::{Clock, ManualClock};

/// What happened to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Admitted, and the dependency answered.
    Success,
    /// Admitted, and the dependency failed.
    Failure,
    /// Rejected by the breaker without calling the dependency.
    Rejected,
}

/// One call of the run.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// Seconds since the start.
    pub at: f64,
    /// Its fate.
    pub event: Event,
    /// The breaker's state just after the call.
    pub state: State,
    /// Whether the call was a half-open probe.
    pub probe: bool,
}

/// The length of the run, in seconds.
pub const RUN_SECONDS: u64 = 120;
/// The dependency is down in this interval (seconds).
pub const OUTAGE: (u64, u64) = (20, 75);
const CALLS_PER_SECOND: u64 = 5;

/// Runs the core through the outage: five calls a second, the dependency down
/// from second 20 to 75, a breaker that trips on 5 consecutive failures and
/// stays open 5 s, growing 1.5x per consecutive trip up to 20 s.
pub fn run() -> Vec<Call> {
    let config = BreakerConfig::builder()
        .failure_threshold(5)
        .success_threshold(2)
        .open_duration(Duration::from_secs(5))
        .open_duration_multiplier(1.5)
        .max_open_duration(Duration::from_secs(20))
        .build()
        .expect("a valid configuration");
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    let step = Duration::from_millis(1000 / CALLS_PER_SECOND);
    let mut calls = Vec::new();
    for _ in 0..RUN_SECONDS * CALLS_PER_SECOND {
        let at = clock.now().since_origin().as_secs_f64();
        let down = (OUTAGE.0 as f64..OUTAGE.1 as f64).contains(&at);
        let acquired = breaker.try_acquire(&clock);
        let probe = acquired.as_ref().is_ok_and(|permit| permit.is_probe());
        let event = match acquired {
            Err(_) => Event::Rejected,
            Ok(permit) if down => {
                permit.failure(&clock);
                Event::Failure
            }
            Ok(permit) => {
                permit.success(&clock);
                Event::Success
            }
        };
        calls.push(Call {
            at,
            event,
            state: breaker.state(),
            probe,
        });
        clock.advance(step);
    }
    calls
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 20.0;

fn x(at: f64) -> f64 {
    LEFT + at / RUN_SECONDS as f64 * (WIDTH - LEFT - RIGHT)
}

fn state_color(state: State) -> &'static str {
    match state {
        State::Closed => "#4caf50",
        State::Open | State::ForcedOpen => "#e53935",
        State::HalfOpen => "#ffb300",
        State::Disabled => "#9e9e9e",
    }
}

/// The run as an SVG image.
pub fn svg(calls: &[Call]) -> String {
    let mut out = String::new();
    let height = 280.0;
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="18" font-size="14" font-weight="bold">A circuit breaker through an outage (seawall-core, manual clock, 5 calls/s)</text>"#
    );
    // Row 1: the dependency.
    let _ = writeln!(out, r#"<text x="10" y="48">dependency</text>"#);
    let _ = writeln!(
        out,
        r##"<rect x="{}" y="36" width="{}" height="16" fill="#c8e6c9"/>"##,
        x(0.0),
        x(RUN_SECONDS as f64) - x(0.0)
    );
    let _ = writeln!(
        out,
        r##"<rect x="{}" y="36" width="{}" height="16" fill="#ffcdd2"/><text x="{}" y="48">down</text>"##,
        x(OUTAGE.0 as f64),
        x(OUTAGE.1 as f64) - x(OUTAGE.0 as f64),
        x(OUTAGE.0 as f64) + 4.0
    );
    // Row 2: the breaker's state, as bands.
    let _ = writeln!(out, r#"<text x="10" y="88">breaker state</text>"#);
    let mut start = 0;
    for i in 1..=calls.len() {
        if i == calls.len() || calls[i].state != calls[start].state {
            let from = calls[start].at;
            let to = calls.get(i).map_or(RUN_SECONDS as f64, |c| c.at);
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="76" width="{:.1}" height="16" fill="{}"><title>{} from {:.1} s to {:.1} s</title></rect>"#,
                x(from),
                (x(to) - x(from)).max(1.0),
                state_color(calls[start].state),
                calls[start].state,
                from,
                to
            );
            start = i;
        }
    }
    // Rows 3 to 5: each call as a tick in the row of its fate.
    for (row, (label, event, color)) in [
        ("success", Event::Success, "#2e7d32"),
        ("failure", Event::Failure, "#c62828"),
        ("rejected", Event::Rejected, "#757575"),
    ]
    .into_iter()
    .enumerate()
    {
        let y = 116.0 + row as f64 * 26.0;
        let count = calls.iter().filter(|c| c.event == event).count();
        let _ = writeln!(
            out,
            r#"<text x="10" y="{}">{label} ({count})</text>"#,
            y + 12.0
        );
        for call in calls.iter().filter(|c| c.event == event) {
            let _ = writeln!(
                out,
                r#"<line x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}" stroke="{color}" stroke-width="1"/>"#,
                x(call.at),
                y,
                y + 16.0
            );
        }
    }
    // Row 6: the half-open probes among them.
    let y = 194.0;
    let probes: Vec<_> = calls.iter().filter(|c| c.probe).collect();
    let _ = writeln!(
        out,
        r#"<text x="10" y="{}">probes ({})</text>"#,
        y + 12.0,
        probes.len()
    );
    for call in probes {
        let color = if call.event == Event::Success {
            "#2e7d32"
        } else {
            "#c62828"
        };
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{}" r="4" fill="{color}" stroke="#ffb300" stroke-width="2"><title>probe at {:.1} s: {:?}</title></circle>"##,
            x(call.at),
            y + 8.0,
            call.at,
            call.event
        );
    }
    // The time axis.
    let axis = 226.0;
    let _ = writeln!(
        out,
        r##"<line x1="{}" x2="{}" y1="{axis}" y2="{axis}" stroke="#000"/>"##,
        x(0.0),
        x(RUN_SECONDS as f64)
    );
    for second in (0..=RUN_SECONDS).step_by(10) {
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{axis}" y2="{1}" stroke="#000"/><text x="{0:.1}" y="{2}" text-anchor="middle">{second} s</text>"##,
            x(second as f64),
            axis + 5.0,
            axis + 18.0
        );
    }
    let legend = axis + 40.0;
    let mut lx = LEFT;
    for state in [State::Closed, State::Open, State::HalfOpen] {
        let _ = writeln!(
            out,
            r#"<rect x="{lx}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{legend}">{state}</text>"#,
            legend - 10.0,
            state_color(state),
            lx + 16.0
        );
        lx += 110.0;
    }
    out.push_str("</svg>\n");
    out
}
