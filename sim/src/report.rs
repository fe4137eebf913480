//! The result of a run, and its forms: a table, the timeline as CSV or JSON
//! lines, the transitions, and the whole as JSON. Every form is a pure
//! function of the result, so the same inputs and seed give the same bytes.

use std::fmt::Write as _;

use seawall_core::breaker::State;
use serde::Serialize;

use crate::engine::TransitionRecord;
use crate::metrics::Summary;
use crate::timeline::Row;

/// Everything a run found, for every configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The scenario's description.
    pub description: String,
    /// The seed.
    pub seed: u64,
    /// How long calls kept arriving, in seconds.
    pub duration_s: f64,
    /// The timeline's step, in seconds.
    pub step_s: f64,
    /// The episodes of the scenario, in its order.
    pub episodes: Vec<EpisodeSpan>,
    /// One entry per configuration, in the order given.
    pub configurations: Vec<Configuration>,
}

/// When an episode happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeSpan {
    /// `outage`, `brownout`, `slow` or `flapping`.
    pub kind: &'static str,
    /// Its start, in seconds.
    pub start_s: f64,
    /// Its end, in seconds.
    pub end_s: f64,
}

/// What one configuration did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Configuration {
    /// Its name.
    pub name: String,
    /// The totals.
    pub summary: Summary,
    /// How its breaker met each episode (none without a breaker).
    pub episodes: Vec<Detection>,
    /// Its breaker's transitions.
    pub transitions: Vec<TransitionRecord>,
    /// One row per step.
    pub timeline: Vec<Row>,
}

/// How fast a breaker saw an episode and came back after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Detection {
    /// From the episode's start to the breaker's first opening in it, in
    /// seconds (none if it never opened).
    pub detect_s: Option<f64>,
    /// From the episode's end to the breaker being closed again, in seconds
    /// (0 if it was closed by then; none if it never opened, or never closed
    /// before the run ended).
    pub recover_s: Option<f64>,
}

/// Seconds from nanoseconds, rounded to the microsecond.
pub(crate) fn seconds(nanos: u64) -> f64 {
    (nanos / 1_000) as f64 / 1e6
}

/// How the breakers (one, or one per key) met the episode `[start, end)`,
/// from their transitions in order of time.
pub(crate) fn detection(
    changes: &[(u64, u32, seawall_core::breaker::Transition)],
    start: u64,
    end: u64,
) -> Detection {
    let opens = |to: State| matches!(to, State::Open | State::ForcedOpen);
    let Some(&(opened, _, _)) = changes
        .iter()
        .find(|(at, _, t)| (start..end).contains(at) && opens(t.to))
    else {
        return Detection::default();
    };
    // Breakers not closed, as the transitions go by.
    let mut not_closed = std::collections::BTreeSet::new();
    let mut recover = None;
    let mut checked_at_end = false;
    for &(at, key, t) in changes {
        if at >= end && !checked_at_end {
            checked_at_end = true;
            if not_closed.is_empty() {
                recover = Some(0);
                break;
            }
        }
        if t.to == State::Closed || t.to == State::Disabled {
            not_closed.remove(&key);
        } else {
            not_closed.insert(key);
        }
        if at >= end && not_closed.is_empty() {
            recover = Some(at - end);
            break;
        }
    }
    if !checked_at_end && not_closed.is_empty() {
        recover = Some(0);
    }
    Detection {
        detect_s: Some(seconds(opened - start)),
        recover_s: recover.map(seconds),
    }
}

fn percent(value: f64) -> String {
    format!("{:+.0} %", value * 100.0)
}

fn secs(value: Option<f64>) -> String {
    match value {
        Some(s) => format!("{s:.1} s"),
        None => "-".to_string(),
    }
}

impl Report {
    /// The headers of [`summary_table`](Self::summary_table).
    pub const SUMMARY_COLUMNS: [&'static str; 13] = [
        "configuration",
        "calls",
        "succeeded",
        "failed",
        "rejected",
        "to dependency",
        "failures spared",
        "successes lost",
        "detect",
        "recover",
        "retry load",
        "p50",
        "p99",
    ];

    /// The cells of the summary, one row per configuration, as in
    /// [`summary_table`](Self::summary_table).
    pub fn summary_rows(&self) -> Vec<Vec<String>> {
        self.configurations
            .iter()
            .map(|c| {
                let s = &c.summary;
                let first = c.episodes.first().copied().unwrap_or_default();
                vec![
                    c.name.clone(),
                    s.calls.to_string(),
                    s.succeeded.to_string(),
                    s.failed.to_string(),
                    s.rejected.to_string(),
                    s.attempts.to_string(),
                    s.failures_spared.to_string(),
                    s.successes_lost.to_string(),
                    secs(first.detect_s),
                    secs(first.recover_s),
                    percent(s.extra_load),
                    format!("{} ms", s.latency_ms.p50),
                    format!("{} ms", s.latency_ms.p99),
                ]
            })
            .collect()
    }

    /// The summary as a Markdown table, aligned for a terminal. `detect` and
    /// `recover` are those of the first episode.
    pub fn summary_table(&self) -> String {
        let rows = self.summary_rows();
        let mut widths: Vec<usize> = Self::SUMMARY_COLUMNS.iter().map(|h| h.len()).collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::from("|");
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                let pad = w - cell.chars().count();
                if i == 0 {
                    let _ = write!(out, " {cell}{} |", " ".repeat(pad));
                } else {
                    let _ = write!(out, " {}{cell} |", " ".repeat(pad));
                }
            }
            out.push('\n');
            out
        };
        let headers: Vec<String> = Self::SUMMARY_COLUMNS
            .iter()
            .map(|h| h.to_string())
            .collect();
        let mut out = line(&headers);
        out.push('|');
        for (i, w) in widths.iter().enumerate() {
            let dashes = "-".repeat(*w);
            if i == 0 {
                let _ = write!(out, " {dashes} |");
            } else {
                let _ = write!(out, "{}:|", "-".repeat(w + 1));
            }
        }
        out.push('\n');
        for row in &rows {
            out.push_str(&line(row));
        }
        out
    }

    /// The timelines of every configuration as CSV, with a header line; the
    /// first column names the configuration.
    pub fn timeline_csv(&self) -> String {
        let mut out = format!("configuration,{}\n", Row::COLUMNS.join(","));
        for c in &self.configurations {
            let name = csv_field(&c.name);
            for row in &c.timeline {
                let _ = writeln!(out, "{name},{}", row.csv_fields());
            }
        }
        out
    }

    /// The timelines as JSON lines: one object per step and configuration.
    pub fn timeline_jsonl(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            configuration: &'a str,
            #[serde(flatten)]
            row: &'a Row,
        }
        let mut out = String::new();
        for c in &self.configurations {
            for row in &c.timeline {
                let line = Line {
                    configuration: &c.name,
                    row,
                };
                out.push_str(&serde_json::to_string(&line).expect("rows serialize"));
                out.push('\n');
            }
        }
        out
    }

    /// The breakers' transitions as JSON lines, configuration by configuration.
    pub fn transitions_jsonl(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            configuration: &'a str,
            #[serde(flatten)]
            transition: &'a TransitionRecord,
        }
        let mut out = String::new();
        for c in &self.configurations {
            for transition in &c.transitions {
                let line = Line {
                    configuration: &c.name,
                    transition,
                };
                out.push_str(&serde_json::to_string(&line).expect("transitions serialize"));
                out.push('\n');
            }
        }
        out
    }

    /// The whole report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report serializes")
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
