//! The circuit breaker's options, in the words of the scenario files
//! (`tests/scenarios/README.md`), and the core's breakers they build.

use std::sync::Arc;
use std::time::Duration;

use seawall_core::breaker::{
    AnyWindow, BreakerConfig, Bucket, CircuitBreaker, CountWindow, Slot, State, TimeWindow,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, nanos, positive_nanos};

/// A circuit breaker: the core's options, durations in milliseconds.
///
/// ```toml
/// [policies.circuit_breaker]
/// failure_threshold = 5
/// open_duration_ms = 10_000
/// # or the rate rule:
/// window = { kind = "count", size = 100 }
/// failure_rate_threshold = 0.5
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerOptions {
    /// Consecutive failures that trip a breaker without a window (default 5).
    pub failure_threshold: Option<u32>,
    /// Successful probes that close it (default 2).
    pub success_threshold: Option<u32>,
    /// Probes admitted at once while half-open (default 1).
    pub half_open_max_calls: Option<u32>,
    /// How long Open lasts (default 60 000).
    pub open_duration_ms: Option<f64>,
    /// Growth of Open on each consecutive trip (default 1.0).
    pub open_duration_multiplier: Option<f64>,
    /// Cap of that growth (default none).
    pub max_open_duration_ms: Option<f64>,
    /// Reopen when no probe answers for this long (default none).
    pub max_wait_in_half_open_ms: Option<f64>,
    /// Failure rate that trips a windowed breaker (default 0.5).
    pub failure_rate_threshold: Option<f64>,
    /// Slow-call rate that trips a windowed breaker (default 1.0).
    pub slow_call_rate_threshold: Option<f64>,
    /// A call longer than this is slow (default 60 000).
    pub slow_call_duration_ms: Option<f64>,
    /// Calls in the window before a rate counts (default 100).
    pub minimum_calls: Option<u32>,
    /// The rate rule's window; absent for the consecutive-failure rule.
    pub window: Option<WindowOptions>,
    /// One breaker per key of the traffic (a keyed breaker), instead of one for all.
    #[serde(default)]
    pub per_key: bool,
}

/// A sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WindowOptions {
    /// The last `size` calls.
    Count {
        /// Calls in the window.
        size: usize,
    },
    /// The calls of the last `duration_ms`, in `buckets` buckets.
    Time {
        /// The window's length.
        duration_ms: f64,
        /// Its number of buckets.
        buckets: usize,
    },
}

/// The largest window: a bound that keeps a typo from allocating gigabytes.
const MAX_WINDOW: usize = 1 << 20;

type Window = AnyWindow<Vec<Slot>, Vec<Bucket>>;

/// The breakers of one configuration: one, or one per key.
pub(crate) struct Breakers {
    breakers: Vec<CircuitBreaker<Arc<BreakerConfig>, Window>>,
}

impl BreakerOptions {
    /// The core's configuration for these options.
    pub fn to_core(&self) -> Result<BreakerConfig, Error> {
        let ms = |field: &str, v: f64| nanos(field, v).map(Duration::from_nanos);
        let mut b = BreakerConfig::builder();
        if let Some(v) = self.failure_threshold {
            b = b.failure_threshold(v);
        }
        if let Some(v) = self.success_threshold {
            b = b.success_threshold(v);
        }
        if let Some(v) = self.half_open_max_calls {
            b = b.half_open_max_calls(v);
        }
        if let Some(v) = self.open_duration_ms {
            b = b.open_duration(ms("open_duration_ms", v)?);
        }
        if let Some(v) = self.open_duration_multiplier {
            b = b.open_duration_multiplier(v);
        }
        if let Some(v) = self.max_open_duration_ms {
            b = b.max_open_duration(ms("max_open_duration_ms", v)?);
        }
        if let Some(v) = self.max_wait_in_half_open_ms {
            b = b.max_wait_in_half_open(ms("max_wait_in_half_open_ms", v)?);
        }
        if let Some(v) = self.failure_rate_threshold {
            b = b.failure_rate_threshold(v);
        }
        if let Some(v) = self.slow_call_rate_threshold {
            b = b.slow_call_rate_threshold(v);
        }
        if let Some(v) = self.slow_call_duration_ms {
            b = b.slow_call_duration(ms("slow_call_duration_ms", v)?);
        }
        if let Some(v) = self.minimum_calls {
            b = b.minimum_calls(v);
        }
        b.build().map_err(|e| {
            // The core names its durations without the unit.
            let field = e.field();
            let field = if field.ends_with("duration") || field.ends_with("half_open") {
                format!("{field}_ms")
            } else {
                field.to_string()
            };
            Error::invalid(field, e.reason())
        })
    }

    fn window(&self) -> Result<Window, Error> {
        Ok(match self.window {
            None => AnyWindow::None,
            Some(WindowOptions::Count { size }) => {
                if size > MAX_WINDOW {
                    return Err(Error::invalid("window.size", "must be at most 1048576"));
                }
                let slots = (0..size).map(|_| Slot::new()).collect();
                AnyWindow::Count(
                    CountWindow::with_storage(slots)
                        .map_err(|e| Error::from(e).within("window"))?,
                )
            }
            Some(WindowOptions::Time {
                duration_ms,
                buckets,
            }) => {
                if buckets > MAX_WINDOW {
                    return Err(Error::invalid("window.buckets", "must be at most 1048576"));
                }
                let length =
                    Duration::from_nanos(positive_nanos("window.duration_ms", duration_ms)?);
                let storage = (0..buckets).map(|_| Bucket::new()).collect();
                AnyWindow::Time(
                    TimeWindow::with_storage(storage, length)
                        .map_err(|e| Error::from(e).within("window"))?,
                )
            }
        })
    }

    /// Breakers for a run over `keys` keys.
    pub(crate) fn build(&self, keys: u32) -> Result<Breakers, Error> {
        let config = Arc::new(self.to_core()?);
        let count = if self.per_key { keys.max(1) } else { 1 };
        let breakers = (0..count)
            .map(|_| {
                Ok(CircuitBreaker::with_window(
                    Arc::clone(&config),
                    self.window()?,
                ))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Breakers { breakers })
    }
}

impl Breakers {
    /// The breaker of `key`.
    #[inline]
    pub(crate) fn of(&self, key: u32) -> &CircuitBreaker<Arc<BreakerConfig>, Window> {
        if self.breakers.len() == 1 {
            &self.breakers[0]
        } else {
            &self.breakers[key as usize]
        }
    }

    /// The key a transition of the breaker for `key` is reported under.
    pub(crate) fn key_of(&self, key: u32) -> u32 {
        if self.breakers.len() == 1 { 0 } else { key }
    }

    /// How many breakers are not closed now: the state of a keyed breaker in one number.
    pub(crate) fn not_closed(&self) -> u32 {
        self.breakers
            .iter()
            .filter(|b| b.state() != State::Closed)
            .count() as u32
    }

    /// The worst state among them (Open before HalfOpen before Closed).
    pub(crate) fn worst(&self) -> State {
        let rank = |s: State| match s {
            State::Closed | State::Disabled => 0,
            State::HalfOpen => 1,
            State::Open | State::ForcedOpen => 2,
        };
        self.breakers
            .iter()
            .map(|b| b.state())
            .max_by_key(|s| rank(*s))
            .unwrap_or(State::Closed)
    }

    /// How many breakers there are.
    pub(crate) fn len(&self) -> usize {
        self.breakers.len()
    }
}
