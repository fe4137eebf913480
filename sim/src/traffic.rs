//! The callers: how many calls arrive, and when.

use serde::{Deserialize, Serialize};

use crate::draw::{Draws, Stream};
use crate::error::{Error, nanos, positive_nanos};
use crate::latency::{Latency, Quantiles, Sampler, Shape};
use seawall_core::rng::unit;

/// Who calls the dependency: an open loop (`rate` calls a second, arriving
/// whatever happens to the earlier ones) or a closed loop (`clients`, each
/// calling again `think` after its previous call ended). Exactly one of `rate`
/// and `clients`.
///
/// ```toml
/// [traffic]
/// rate = 500                 # calls a second
/// arrivals = "poisson"       # or "uniform": evenly spaced
/// keys = 50                  # calls spread evenly over 50 keys (tenants, hosts)
/// client_retries = { max = 2, delay_ms = 1000 }   # callers retry on their own
/// surges = [{ start_ms = 20_000, end_ms = 50_000, factor = 3 }]   # 1,500 a second then
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Open loop: calls a second.
    pub rate: Option<f64>,
    /// How open-loop calls are spaced (default `poisson`).
    #[serde(default)]
    pub arrivals: Arrivals,
    /// Closed loop: this many clients, each with one call at a time.
    pub clients: Option<u32>,
    /// Closed loop: the pause between a client's calls (default none).
    #[serde(default)]
    pub think: Latency,
    /// Calls are spread evenly over this many keys (default 1); a breaker with
    /// `per_key` keeps one state per key.
    pub keys: Option<u32>,
    /// Callers that send a failed call again, on their own, whatever the policies.
    pub client_retries: Option<ClientRetries>,
    /// Stretches of time when the open loop's rate is multiplied (a flash
    /// crowd, a retry storm upstream, a load test): overload on demand.
    #[serde(default)]
    pub surges: Vec<Surge>,
}

/// The open loop's rate times `factor` from `start_ms` to `end_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surge {
    /// When it starts.
    pub start_ms: f64,
    /// When it ends.
    pub end_ms: f64,
    /// The rate's multiplier (more than zero; below 1 a lull).
    pub factor: f64,
}

/// How open-loop calls are spaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// Independent arrivals (exponential gaps): the usual model of many users.
    #[default]
    Poisson,
    /// Evenly spaced: one call every `1 / rate` seconds.
    Uniform,
}

/// Callers that repeat a failed call: `max` more times, `delay_ms` after it ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRetries {
    /// How many times a caller sends a failed call again.
    pub max: u32,
    /// How long it waits first.
    pub delay_ms: f64,
}

/// [`Traffic`], checked, in nanoseconds.
#[derive(Debug, Clone)]
pub(crate) enum Load {
    Open {
        gap: Gap,
        keys: u32,
        /// `(start, end, factor)` in nanoseconds, sorted.
        surges: Vec<(u64, u64, f64)>,
    },
    Closed {
        clients: u32,
        think: Sampler,
        keys: u32,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Gap {
    Poisson(Quantiles),
    Uniform { nanos: f64 },
}

/// The most closed-loop clients or keys: a bound that keeps a typo from
/// allocating gigabytes.
pub(crate) const MAX_CLIENTS: u32 = 1 << 20;

impl Traffic {
    pub(crate) fn load(&self) -> Result<Load, Error> {
        let keys = match self.keys {
            None => 1,
            Some(k) if (1..=MAX_CLIENTS).contains(&k) => k,
            Some(_) => return Err(Error::invalid("keys", "must be from 1 to 1048576")),
        };
        match (self.rate, self.clients) {
            (Some(rate), None) => {
                if !(rate > 0.0 && rate <= 1e9) {
                    return Err(Error::invalid(
                        "rate",
                        "must be a number of calls a second in (0, 10^9]",
                    ));
                }
                let mean = 1e9 / rate;
                let gap = match self.arrivals {
                    Arrivals::Poisson => Gap::Poisson(Quantiles::new(Shape::Exponential { mean })),
                    Arrivals::Uniform => Gap::Uniform { nanos: mean },
                };
                let mut surges = Vec::with_capacity(self.surges.len());
                for (i, surge) in self.surges.iter().enumerate() {
                    let prefix = format!("surges[{i}]");
                    let within = |e: Error| e.within(&prefix);
                    let start = nanos("start_ms", surge.start_ms).map_err(within)?;
                    let end = nanos("end_ms", surge.end_ms).map_err(within)?;
                    if end <= start {
                        return Err(within(Error::invalid("end_ms", "must be after start_ms")));
                    }
                    if !(surge.factor > 0.0 && surge.factor <= 1e6) {
                        return Err(within(Error::invalid("factor", "must be in (0, 10^6]")));
                    }
                    surges.push((start, end, surge.factor));
                }
                surges.sort_by_key(|&(start, ..)| start);
                Ok(Load::Open { gap, keys, surges })
            }
            (None, Some(clients)) if self.surges.is_empty() => {
                if !(1..=MAX_CLIENTS).contains(&clients) {
                    return Err(Error::invalid("clients", "must be from 1 to 1048576"));
                }
                let think = self.think.sampler().map_err(|e| e.within("think"))?;
                Ok(Load::Closed {
                    clients,
                    think,
                    keys,
                })
            }
            (None, Some(_)) if !self.surges.is_empty() => Err(Error::invalid(
                "surges",
                "apply to an open loop (rate): closed-loop clients call when they are ready",
            )),
            _ => Err(Error::invalid(
                "rate",
                "give exactly one of rate (an open loop) and clients (a closed loop)",
            )),
        }
    }

    pub(crate) fn client_retries(&self) -> Result<Option<(u32, u64)>, Error> {
        match self.client_retries {
            None => Ok(None),
            Some(ClientRetries { max, delay_ms }) => {
                let delay = nanos("client_retries.delay_ms", delay_ms)?;
                Ok(Some((max, delay)))
            }
        }
    }
}

/// The open loop's arrival times, one after another: the same for every
/// configuration of a run.
#[derive(Debug, Clone)]
pub(crate) struct OpenArrivals {
    gap: Gap,
    keys: u32,
    surges: Vec<(u64, u64, f64)>,
    rng: seawall_core::rng::SplitMix64,
    next: f64,
    index: u64,
}

impl OpenArrivals {
    pub(crate) fn new(gap: Gap, keys: u32, surges: Vec<(u64, u64, f64)>, draws: Draws) -> Self {
        let mut arrivals = Self {
            gap,
            keys,
            surges,
            rng: draws.rng(Stream::Arrivals, 0, 0),
            next: 0.0,
            index: 0,
        };
        // Evenly spaced calls start at once; independent ones after a first gap.
        if let Gap::Poisson(_) = arrivals.gap {
            arrivals.next = arrivals.gap();
        }
        arrivals
    }

    #[inline]
    fn gap(&mut self) -> f64 {
        let gap = match &self.gap {
            Gap::Poisson(gaps) => gaps.at(unit(&mut self.rng)),
            Gap::Uniform { nanos } => *nanos,
        };
        // During a surge the rate is multiplied: the gap from the last call
        // (drawn as usual, so the calls before it stay the same) is divided.
        let at = self.next as u64;
        match self
            .surges
            .iter()
            .find(|(start, end, _)| (*start..*end).contains(&at))
        {
            Some(&(_, _, factor)) => gap / factor,
            None => gap,
        }
    }

    /// When the next call arrives.
    #[inline]
    pub(crate) fn peek(&self) -> u64 {
        self.next as u64
    }

    /// The next call: its number and key; moves on to the one after.
    #[inline]
    pub(crate) fn take(&mut self) -> (u64, u32) {
        let index = self.index;
        self.index += 1;
        let key = if self.keys > 1 {
            seawall_core::rng::between(&mut self.rng, 0, u64::from(self.keys - 1)) as u32
        } else {
            0
        };
        self.next += self.gap();
        (index, key)
    }
}

/// A closed-loop client's key, fixed for the run.
pub(crate) fn client_key(client: u32, keys: u32) -> u32 {
    client % keys
}

/// A duration that must be positive, for `duration_ms`.
pub(crate) fn duration(ms: Option<f64>) -> Result<Option<u64>, Error> {
    ms.map(|ms| positive_nanos("duration_ms", ms)).transpose()
}
