//! Recorded traffic: one line per call, with when it came, how long the
//! dependency took and how it ended.
//!
//! CSV with a header line, or JSON lines, with the same fields:
//!
//! ```text
//! timestamp_ms,latency_ms,outcome,key
//! 1718000000000,12.5,success,tenant-7
//! 1718000000004,2001,timeout,tenant-3
//! ```
//!
//! ```text
//! {"timestamp_ms": 1718000000000, "latency_ms": 12.5, "outcome": "success", "key": "tenant-7"}
//! ```
//!
//! `timestamp_ms` is any clock in milliseconds (the run starts at the earliest
//! one); `outcome` is `success`, `failure` or `timeout` (a failure that took
//! `latency_ms`); `key` is optional. Lines need not be in order.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, nanos};

/// One recorded call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    /// When it arrived, from the start of the trace.
    pub(crate) at: u64,
    pub(crate) latency: u64,
    pub(crate) failed: bool,
    pub(crate) key: u32,
}

/// A recorded trace, in order of arrival.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub(crate) records: Vec<Record>,
    /// The distinct keys, in order of first appearance' sorting (by name).
    pub(crate) keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    timestamp_ms: f64,
    latency_ms: f64,
    outcome: String,
    #[serde(default)]
    key: Option<serde_json::Value>,
}

impl Trace {
    /// Reads a trace file: JSON lines when its name ends in `.jsonl` or
    /// `.ndjson`, CSV otherwise.
    pub fn load(path: &Path) -> Result<Trace, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        let json = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("jsonl" | "ndjson")
        );
        if json {
            Trace::from_jsonl(&text, &name)
        } else {
            Trace::from_csv(&text, &name)
        }
    }

    /// A trace from CSV text with a header line naming the columns
    /// `timestamp_ms`, `latency_ms`, `outcome` and optionally `key`.
    pub fn from_csv(text: &str, source: &str) -> Result<Trace, Error> {
        let parse = |line: usize, message: String| Error::Parse {
            source: format!("{source}:{line}"),
            message,
        };
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Ok(Trace::default());
        };
        let columns: Vec<&str> = header.split(',').map(unquote).collect();
        let find = |name: &str| columns.iter().position(|c| *c == name);
        let (Some(at), Some(latency), Some(outcome)) =
            (find("timestamp_ms"), find("latency_ms"), find("outcome"))
        else {
            return Err(parse(
                1,
                "the header must name the columns timestamp_ms, latency_ms and outcome (and optionally key)".into(),
            ));
        };
        let key = find("key");
        let mut raw = Vec::new();
        for (index, line) in lines {
            let fields: Vec<&str> = line.split(',').map(unquote).collect();
            if fields.len() != columns.len() {
                return Err(parse(
                    index + 1,
                    format!("{} fields, the header has {}", fields.len(), columns.len()),
                ));
            }
            let number = |i: usize, name: &str| {
                fields[i].parse::<f64>().map_err(|_| {
                    parse(
                        index + 1,
                        format!("{name} is not a number: {:?}", fields[i]),
                    )
                })
            };
            raw.push((
                number(at, "timestamp_ms")?,
                number(latency, "latency_ms")?,
                fields[outcome].to_string(),
                key.map(|k| fields[k].to_string()),
                index + 1,
            ));
        }
        Trace::build(raw, source)
    }

    /// A trace from JSON lines, one object per call.
    pub fn from_jsonl(text: &str, source: &str) -> Result<Trace, Error> {
        let mut raw = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let parsed: Line = serde_json::from_str(line).map_err(|e| Error::Parse {
                source: format!("{source}:{}", index + 1),
                message: e.to_string(),
            })?;
            let key = parsed.key.map(|k| match k {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
            raw.push((
                parsed.timestamp_ms,
                parsed.latency_ms,
                parsed.outcome,
                key,
                index + 1,
            ));
        }
        Trace::build(raw, source)
    }

    #[allow(clippy::type_complexity)]
    fn build(
        raw: Vec<(f64, f64, String, Option<String>, usize)>,
        source: &str,
    ) -> Result<Trace, Error> {
        let at = |line: usize, e: Error| match e {
            Error::Invalid { field, reason } => Error::Parse {
                source: format!("{source}:{line}"),
                message: format!("{field} {reason}"),
            },
            other => other,
        };
        let origin = raw.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
        let mut names: BTreeMap<String, u32> = BTreeMap::new();
        for (_, _, _, key, _) in &raw {
            names.entry(key.clone().unwrap_or_default()).or_insert(0);
        }
        for (index, id) in names.values_mut().enumerate() {
            *id = index as u32;
        }
        let mut records = Vec::with_capacity(raw.len());
        for (timestamp, latency, outcome, key, line) in raw {
            let failed = match outcome.as_str() {
                "success" => false,
                "failure" | "timeout" => true,
                other => {
                    return Err(Error::Parse {
                        source: format!("{source}:{line}"),
                        message: format!(
                            "outcome must be success, failure or timeout, not {other:?}"
                        ),
                    });
                }
            };
            records.push(Record {
                at: nanos("timestamp_ms", timestamp - origin).map_err(|e| at(line, e))?,
                latency: nanos("latency_ms", latency).map_err(|e| at(line, e))?,
                failed,
                key: names[&key.unwrap_or_default()],
            });
        }
        // Stable: calls recorded at the same time keep the file's order.
        records.sort_by_key(|r| r.at);
        Ok(Trace {
            records,
            keys: names.into_keys().collect(),
        })
    }

    /// The number of recorded calls.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the trace has no call.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The first recorded call at or after `at`: what the dependency did then
    /// (for attempts the trace did not record, such as retries).
    #[inline]
    pub(crate) fn at_or_after(&self, at: u64) -> Option<&Record> {
        let i = self.records.partition_point(|r| r.at < at);
        self.records.get(i)
    }
}

fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
}
