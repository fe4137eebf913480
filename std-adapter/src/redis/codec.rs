//! The shared breaker's state in Redis: the fields of its hash, read into the
//! core's plain [`Snapshot`] (checked: a value out of its range is corrupt, or
//! clamped where a maximum applies) and written back from one.
//!
//! Times in the hash are microseconds of the fleet's clock (Redis's `TIME`,
//! or a test's time source); in a [`Snapshot`] they are core [`Instant`]s.

use std::time::Duration;

use seawall_core::breaker::rules::{Phase, Snapshot};
use seawall_core::breaker::{BreakerConfig, TimeSlices, WindowTotals};
use seawall_core::time::Instant;

/// The fields of the state hash, in the order they are read.
pub(crate) const FIELDS: [&str; 10] = [
    "version",
    "state",
    "gen",
    "failures",
    "trips",
    "until",
    "successes",
    "slow",
    "active",
    "leases",
];

/// The largest integer a field may hold: Lua reads numbers as doubles, and
/// every integer up to 2^53 is exact in one.
const MAX_INT: u64 = 1 << 53;

/// A probe's hold on a half-open slot: its token and when it lapses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    pub(crate) token: String,
    pub(crate) expiry: Instant,
}

/// The state as stored: its version (as Redis holds it: the compare-and-set
/// compares it as a string), the snapshot, and the probes' leases.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stored {
    pub(crate) version: String,
    pub(crate) snapshot: Snapshot,
    /// HalfOpen: the leases that have not lapsed (`snapshot`'s `probes`).
    pub(crate) leases: Vec<Lease>,
}

impl Stored {
    /// The version as a number (0 when it is not one).
    pub(crate) fn version_number(&self) -> u64 {
        parse_int(Some(&self.version)).unwrap_or(0)
    }

    /// The snapshot at `now`: leases that lapsed since no longer hold a slot.
    pub(crate) fn at(&self, now: Instant) -> (Snapshot, Vec<Lease>) {
        let leases: Vec<Lease> = self
            .leases
            .iter()
            .filter(|lease| lease.expiry > now)
            .cloned()
            .collect();
        let mut snapshot = self.snapshot;
        if let Phase::HalfOpen { probes, .. } = &mut snapshot.phase {
            *probes = count(leases.len());
        }
        (snapshot, leases)
    }
}

/// The fields that held something out of range, and were read as their
/// default instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Problems(pub(crate) Vec<&'static str>);

impl Problems {
    fn add(&mut self, field: &'static str) {
        if !self.0.contains(&field) {
            self.0.push(field);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An integer field: `None` when absent, `Err` when not a decimal integer in
/// `0..=MAX_INT`.
fn int(value: Option<&String>) -> Result<Option<u64>, ()> {
    match value {
        None => Ok(None),
        Some(text) => parse_int(Some(text)).map(Some).ok_or(()),
    }
}

fn parse_int(value: Option<&String>) -> Option<u64> {
    let text = value?;
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|n| *n <= MAX_INT)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(crate) fn micros(instant: Instant) -> u64 {
    instant.as_nanos() / 1_000
}

pub(crate) fn instant(micros: u64) -> Instant {
    Instant::from_nanos(micros.saturating_mul(1_000))
}

/// Reads the state from the values of [`FIELDS`] (absent fields are `None`)
/// at `now`, for a breaker of `config` whose probes hold a slot for `lease`.
///
/// Every value is checked. One that is not a number, is negative, too large,
/// or names no state is corrupt: it is read as its default (a fresh round,
/// no failures, an open duration from now, ...) and named in the problems.
/// Counts past this configuration's limits (another process may run another
/// configuration) and leases longer than `lease` are clamped. An Open
/// deadline further than any open duration is left to the rules, which
/// restart it (as for a clock that went backwards).
pub(crate) fn decode(
    values: &[Option<String>],
    config: &BreakerConfig,
    lease: Duration,
    now: Instant,
) -> (Stored, Problems) {
    let mut problems = Problems::default();
    let value = |i: usize| values.get(i).and_then(Option::as_ref);
    let mut field = |i: usize, default: u64| match int(value(i)) {
        Ok(Some(n)) => n,
        Ok(None) => default,
        Err(()) => {
            problems.add(FIELDS[i]);
            default
        }
    };
    let fresh = micros(now);
    let version_number = field(0, fresh);
    let state = field(1, 0);
    let mut generation = field(2, fresh);
    let failures = field(3, 0);
    let trips = field(4, 1);
    let until = field(5, 0);
    let successes = field(6, 0);
    let slow = field(7, 0);
    let active = field(8, fresh);
    let version = match value(0) {
        Some(raw) => raw.clone(),
        None => version_number.to_string(),
    };
    let cap = |n: u64, max: u32| count(n.min(u64::from(max)) as usize);
    let trips = trips.clamp(1, 127) as u32;
    let phase = match state {
        0 => Phase::Closed {
            failures: cap(failures, config.failure_threshold() - 1),
        },
        1 if problems.0.contains(&"until") => Phase::Open {
            trips,
            until: now + config.open_duration_after(trips),
        },
        1 => Phase::Open {
            trips,
            until: instant(until),
        },
        2 => {
            let successes = cap(successes, config.success_threshold() - 1);
            Phase::HalfOpen {
                trips,
                probes: 0,
                successes,
                slow: cap(slow, successes),
                active: instant(active).min(now),
            }
        }
        3 => Phase::ForcedOpen,
        4 => Phase::Disabled,
        _ => {
            problems.add("state");
            // A new round: nothing of an unknown state carries over.
            generation = generation.wrapping_add(1) & (MAX_INT - 1);
            Phase::Closed { failures: 0 }
        }
    };
    let leases = match (&phase, value(9)) {
        (Phase::HalfOpen { .. }, Some(text)) => leases(text, now, lease, &mut problems),
        _ => Vec::new(),
    };
    let stored = Stored {
        version,
        snapshot: Snapshot { generation, phase },
        leases,
    };
    let (snapshot, leases) = stored.at(now);
    (
        Stored {
            snapshot,
            leases,
            ..stored
        },
        problems,
    )
}

/// `"token expiry token expiry ..."`: malformed pairs are corrupt and
/// dropped; an expiry further than `lease` from now is brought to it.
fn leases(text: &str, now: Instant, lease: Duration, problems: &mut Problems) -> Vec<Lease> {
    let latest = now + lease;
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    if !words.len().is_multiple_of(2) {
        problems.add("leases");
    }
    words
        .chunks_exact(2)
        .filter_map(|pair| match parse_int(Some(&pair[1].to_owned())) {
            Some(expiry) => Some(Lease {
                token: pair[0].to_owned(),
                expiry: instant(expiry).min(latest),
            }),
            None => {
                problems.add("leases");
                None
            }
        })
        .collect()
}

/// The field-value pairs that store `snapshot` and `leases` as version
/// `version`: every field, so that a write repairs whatever it replaces.
pub(crate) fn encode(version: u64, snapshot: &Snapshot, leases: &[Lease]) -> Vec<(String, String)> {
    let (state, failures, trips, until, successes, slow, active) = match snapshot.phase {
        Phase::Closed { failures } => (0, failures, 0, 0, 0, 0, 0),
        Phase::Open { trips, until } => (1, 0, trips, micros(until), 0, 0, 0),
        Phase::HalfOpen {
            trips,
            successes,
            slow,
            active,
            ..
        } => (2, 0, trips, 0, successes, slow, micros(active)),
        Phase::ForcedOpen => (3, 0, 0, 0, 0, 0, 0),
        Phase::Disabled => (4, 0, 0, 0, 0, 0, 0),
    };
    let leases = match snapshot.phase {
        Phase::HalfOpen { .. } => leases
            .iter()
            .map(|lease| format!("{} {}", lease.token, micros(lease.expiry)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    let values = [
        version.to_string(),
        state.to_string(),
        (snapshot.generation & (MAX_INT - 1)).to_string(),
        failures.to_string(),
        trips.to_string(),
        until.min(MAX_INT).to_string(),
        successes.to_string(),
        slow.to_string(),
        active.min(MAX_INT).to_string(),
        leases,
    ];
    FIELDS
        .iter()
        .zip(values)
        .map(|(field, value)| ((*field).to_owned(), value))
        .collect()
}

/// The version a write after `stored` gets: one more, and never below the
/// time in microseconds (a version that was corrupt, or lost with Redis's
/// data, starts again from the time, above any version before it).
pub(crate) fn next_version(stored: &Stored, now: Instant) -> u64 {
    (stored.version_number() + 1).max(micros(now)).min(MAX_INT)
}

/// How a shared breaker keeps its window in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowKind {
    /// The consecutive rule: no window.
    None,
    /// The last `size` calls of the fleet, kept as a queue of batches.
    Count { size: usize },
    /// The last T seconds, in buckets of the fleet's clock.
    Time(TimeSlices),
}

impl WindowKind {
    /// The window fields to read.
    pub(crate) fn fields(&self) -> Vec<String> {
        match self {
            WindowKind::None => Vec::new(),
            WindowKind::Count { .. } => vec!["calls".into(), "failed".into(), "slow".into()],
            WindowKind::Time(slices) => (0..slices.buckets()).map(|i| format!("b{i}")).collect(),
        }
    }

    /// The window's totals at `now` from the values of [`fields`](Self::fields).
    pub(crate) fn totals(
        &self,
        values: &[Option<String>],
        now: Instant,
        problems: &mut Problems,
    ) -> WindowTotals {
        let bad = std::cell::Cell::new(false);
        let number = |text: &str| match parse_int(Some(&text.to_owned())) {
            Some(n) => n,
            None => {
                bad.set(true);
                0
            }
        };
        let (calls, failed, slow) = match self {
            WindowKind::None => (0, 0, 0),
            WindowKind::Count { .. } => {
                let mut total = values.iter().map(|v| v.as_deref().map_or(0, number));
                (
                    total.next().unwrap_or(0),
                    total.next().unwrap_or(0),
                    total.next().unwrap_or(0),
                )
            }
            WindowKind::Time(slices) => {
                let (mut calls, mut failed, mut slow) = (0u64, 0u64, 0u64);
                for text in values.iter().flatten() {
                    let parts: Vec<u64> = text.split(' ').map(number).collect();
                    match parts[..] {
                        [index, c, f, s] if slices.covers(index, now) => {
                            calls += c;
                            failed += f;
                            slow += s;
                        }
                        [_, _, _, _] => {}
                        _ => bad.set(true),
                    }
                }
                (calls, failed, slow)
            }
        };
        if bad.get() {
            problems.add("window");
        }
        let calls = count(calls.min(u64::from(u32::MAX)) as usize);
        WindowTotals {
            calls,
            failed: count(failed.min(u64::from(calls)) as usize),
            slow: count(slow.min(u64::from(calls)) as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Instant = Instant::from_secs(1_000);

    fn config() -> BreakerConfig {
        BreakerConfig::builder()
            .failure_threshold(5)
            .success_threshold(3)
            .open_duration(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    fn values(pairs: &[(&str, &str)]) -> Vec<Option<String>> {
        FIELDS
            .iter()
            .map(|f| {
                pairs
                    .iter()
                    .find(|(k, _)| k == f)
                    .map(|(_, v)| (*v).to_owned())
            })
            .collect()
    }

    fn read(pairs: &[(&str, &str)]) -> (Stored, Problems) {
        decode(&values(pairs), &config(), Duration::from_secs(30), NOW)
    }

    #[test]
    fn a_written_state_reads_back() {
        let snapshot = Snapshot {
            generation: 77,
            phase: Phase::HalfOpen {
                trips: 2,
                probes: 1,
                successes: 1,
                slow: 1,
                active: NOW,
            },
        };
        let leases = [Lease {
            token: "abc.1".into(),
            expiry: NOW + Duration::from_secs(5),
        }];
        let pairs = encode(90, &snapshot, &leases);
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (stored, problems) = read(&borrowed);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(stored.version, "90");
        assert_eq!(stored.snapshot, snapshot);
        assert_eq!(stored.leases, leases);
    }

    #[test]
    fn corrupt_values_are_named_and_read_as_defaults() {
        let (stored, problems) = read(&[("version", "3"), ("state", "0"), ("failures", "nan")]);
        assert_eq!(problems.0, ["failures"]);
        assert_eq!(stored.snapshot.phase, Phase::Closed { failures: 0 });

        let (stored, problems) = read(&[("version", "99999999999999999999999"), ("gen", "4")]);
        assert_eq!(problems.0, ["version"]);
        assert_eq!(
            stored.version, "99999999999999999999999",
            "compared as written"
        );
        assert_eq!(next_version(&stored, NOW), micros(NOW));

        let (stored, problems) = read(&[("version", "3"), ("state", "99"), ("gen", "4")]);
        assert_eq!(problems.0, ["state"]);
        assert_eq!(
            stored.snapshot.state(),
            seawall_core::breaker::State::Closed
        );
        assert_eq!(stored.snapshot.generation, 5, "a new round");

        let (stored, problems) = read(&[("version", "3"), ("state", "1"), ("until", "1e20")]);
        assert_eq!(problems.0, ["until"]);
        assert_eq!(
            stored.snapshot.phase,
            Phase::Open {
                trips: 1,
                until: NOW + Duration::from_secs(10)
            }
        );
        for bad in ["-1", "1.5", "", "inf"] {
            let (_, problems) = read(&[("version", "3"), ("trips", bad)]);
            assert_eq!(problems.0, ["trips"], "{bad:?}");
        }
    }

    #[test]
    fn counts_and_leases_beyond_the_limits_are_clamped() {
        let far = (micros(NOW) + 3_600_000_000).to_string();
        let lapsed = (micros(NOW) - 1).to_string();
        let text = format!("a {far} b {lapsed} c");
        let (stored, problems) = read(&[
            ("version", "3"),
            ("state", "2"),
            ("trips", "500"),
            ("successes", "70"),
            ("leases", &text),
        ]);
        assert_eq!(problems.0, ["leases"], "the odd word");
        assert_eq!(
            stored.leases,
            [Lease {
                token: "a".into(),
                expiry: NOW + Duration::from_secs(30)
            }]
        );
        let Phase::HalfOpen {
            trips,
            probes,
            successes,
            ..
        } = stored.snapshot.phase
        else {
            panic!("{:?}", stored.snapshot)
        };
        assert_eq!((trips, probes, successes), (127, 1, 2));
        let (stored, _) = read(&[("version", "3"), ("state", "0"), ("failures", "9")]);
        assert_eq!(stored.snapshot.phase, Phase::Closed { failures: 4 });
    }

    #[test]
    fn time_buckets_count_while_the_window_covers_them() {
        let slices = TimeSlices::new(Duration::from_secs(4), 4).unwrap();
        let window = WindowKind::Time(slices);
        let values = vec![
            Some("996 3 1 0".to_owned()),
            Some("999 2 2 1".to_owned()),
            None,
            Some("995 9 9 9".to_owned()),
        ];
        let mut problems = Problems::default();
        let totals = window.totals(&values, NOW, &mut problems);
        assert!(problems.is_empty());
        assert_eq!(
            totals,
            WindowTotals {
                calls: 2,
                failed: 2,
                slow: 1
            }
        );
        let _ = window.totals(&[Some("x".into())], NOW, &mut problems);
        assert_eq!(problems.0, ["window"]);
    }
}
