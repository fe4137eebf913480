//! Failure episodes: what goes wrong with the dependency, and when.
//!
//! The dependency's normal behaviour (its latency and failure rate) holds
//! outside every episode. Inside one, the episode changes part of it; where
//! episodes overlap, each applies in the order of the file, on top of the ones
//! before.

use serde::{Deserialize, Serialize};

use crate::error::{Error, nanos, positive_nanos, ratio};
use crate::latency::{Latency, Sampler};

/// Something that goes wrong with the dependency from `start_ms` to `end_ms`.
///
/// ```toml
/// [[episodes]]
/// kind = "outage"
/// start_ms = 20_000
/// end_ms = 75_000
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Episode {
    /// Every call fails: at once (after the normal latency) or, with `hang`,
    /// never answers (only a timeout ends it).
    Outage {
        /// When it starts.
        start_ms: f64,
        /// When it ends.
        end_ms: f64,
        /// Calls hang instead of failing.
        #[serde(default)]
        hang: bool,
    },
    /// A share of the calls fails.
    Brownout {
        /// When it starts.
        start_ms: f64,
        /// When it ends.
        end_ms: f64,
        /// The share of calls that fail (0 to 1).
        failure_rate: f64,
    },
    /// Calls succeed, slowly: their latency follows `latency` instead.
    Slow {
        /// When it starts.
        start_ms: f64,
        /// When it ends.
        end_ms: f64,
        /// The latency during the episode.
        latency: Latency,
    },
    /// Down for `down_ms`, up for `up_ms`, again and again.
    Flapping {
        /// When it starts (down first).
        start_ms: f64,
        /// When it ends.
        end_ms: f64,
        /// How long each outage lasts.
        down_ms: f64,
        /// How long each recovery lasts.
        up_ms: f64,
        /// Calls hang instead of failing while down.
        #[serde(default)]
        hang: bool,
    },
}

/// How the dependency behaves during one stretch of time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub(crate) failure_rate: f64,
    pub(crate) latency: Sampler,
    pub(crate) hang: bool,
    pub(crate) health: Health,
}

/// The dependency's health in one word, for pictures and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// As normal.
    Up,
    /// Failing in part, or slow.
    Degraded,
    /// Failing every call.
    Down,
}

impl Health {
    /// `up`, `degraded` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
        }
    }
}

/// One episode, checked, in nanoseconds: where it applies and what it changes.
#[derive(Debug, Clone)]
struct Span {
    start: u64,
    end: u64,
    change: Change,
}

#[derive(Debug, Clone)]
enum Change {
    Down { hang: bool },
    FailureRate(f64),
    Latency(Sampler),
}

impl Episode {
    /// The episode's interval, in nanoseconds.
    pub(crate) fn interval(&self) -> Result<(u64, u64), Error> {
        let (start_ms, end_ms) = match *self {
            Episode::Outage {
                start_ms, end_ms, ..
            }
            | Episode::Brownout {
                start_ms, end_ms, ..
            }
            | Episode::Slow {
                start_ms, end_ms, ..
            }
            | Episode::Flapping {
                start_ms, end_ms, ..
            } => (start_ms, end_ms),
        };
        let (start, end) = (nanos("start_ms", start_ms)?, nanos("end_ms", end_ms)?);
        if end <= start {
            return Err(Error::invalid("end_ms", "must be after start_ms"));
        }
        Ok((start, end))
    }

    /// `outage`, `brownout`, `slow` or `flapping`.
    pub fn kind(&self) -> &'static str {
        match self {
            Episode::Outage { .. } => "outage",
            Episode::Brownout { .. } => "brownout",
            Episode::Slow { .. } => "slow",
            Episode::Flapping { .. } => "flapping",
        }
    }

    fn spans(&self, out: &mut Vec<Span>) -> Result<(), Error> {
        let (start, end) = self.interval()?;
        let span = |change| Span { start, end, change };
        match *self {
            Episode::Outage { hang, .. } => out.push(span(Change::Down { hang })),
            Episode::Brownout { failure_rate, .. } => out.push(span(Change::FailureRate(ratio(
                "failure_rate",
                failure_rate,
            )?))),
            Episode::Slow { latency, .. } => out.push(span(Change::Latency(
                latency.sampler().map_err(|e| e.within("latency"))?,
            ))),
            Episode::Flapping {
                down_ms,
                up_ms,
                hang,
                ..
            } => {
                let down = positive_nanos("down_ms", down_ms)?;
                let up = positive_nanos("up_ms", up_ms)?;
                let mut at = start;
                while at < end {
                    out.push(Span {
                        start: at,
                        end: (at + down).min(end),
                        change: Change::Down { hang },
                    });
                    at = at.saturating_add(down).saturating_add(up);
                }
            }
        }
        Ok(())
    }
}

/// The dependency's conditions over the whole run: stretches of constant
/// behaviour, in order of time, read with a cursor that only moves forward
/// (the engine asks in order of time).
#[derive(Debug, Clone)]
pub(crate) struct Conditions {
    /// `(start, condition)`, sorted; each holds until the next start.
    stretches: Vec<(u64, Condition)>,
}

impl Conditions {
    /// The conditions of a dependency whose normal behaviour is `normal`,
    /// changed by `episodes`.
    pub(crate) fn new(normal: Condition, episodes: &[Episode]) -> Result<Self, Error> {
        let mut spans = Vec::new();
        for (i, episode) in episodes.iter().enumerate() {
            episode
                .spans(&mut spans)
                .map_err(|e| e.within(&format!("episodes[{i}]")))?;
        }
        let mut cuts: Vec<u64> = spans.iter().flat_map(|s| [s.start, s.end]).collect();
        cuts.push(0);
        cuts.sort_unstable();
        cuts.dedup();
        let mut stretches: Vec<(u64, Condition)> = Vec::with_capacity(cuts.len());
        for &at in &cuts {
            let mut condition = normal.clone();
            for span in spans.iter().filter(|s| s.start <= at && at < s.end) {
                match &span.change {
                    Change::Down { hang } => {
                        condition.failure_rate = 1.0;
                        condition.hang = *hang;
                    }
                    Change::FailureRate(rate) => condition.failure_rate = *rate,
                    Change::Latency(latency) => condition.latency = latency.clone(),
                }
            }
            condition.health = if condition.hang || condition.failure_rate >= 1.0 {
                Health::Down
            } else if condition.failure_rate > normal.failure_rate
                || condition.latency != normal.latency
            {
                Health::Degraded
            } else {
                Health::Up
            };
            if stretches.last().is_none_or(|(_, last)| *last != condition) {
                stretches.push((at, condition));
            }
        }
        Ok(Self { stretches })
    }

    /// The index of the stretch that holds at `now`, moving `cursor` forward.
    #[inline]
    pub(crate) fn at(&self, cursor: &mut usize, now: u64) -> &Condition {
        while *cursor + 1 < self.stretches.len() && self.stretches[*cursor + 1].0 <= now {
            *cursor += 1;
        }
        &self.stretches[*cursor].1
    }

    /// The dependency's health from `from` to `to`: the worst of it.
    pub(crate) fn health(&self, from: u64, to: u64) -> Health {
        let first = self
            .stretches
            .partition_point(|(start, _)| *start <= from)
            .max(1)
            - 1;
        self.stretches[first..]
            .iter()
            .take_while(|(start, _)| *start < to.max(from + 1))
            .map(|(_, c)| c.health)
            .max()
            .unwrap_or(Health::Up)
    }
}
