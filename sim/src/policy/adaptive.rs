//! The adaptive concurrency limit's options and the core's limiter they
//! build; and, to compare it with, ports of the algorithms it learned from
//! (Netflix concurrency-limits' `Gradient2Limit` and `VegasLimit`, with their
//! published defaults).

use std::time::Duration;

use seawall_core::limit::{
    AdaptiveLimiter, Aimd, Algorithm, Gradient, LimitConfig, LimitTicket, Outcome, Vegas,
};
use seawall_core::rng::{SplitMix64, unit};
use seawall_core::time::Instant;
use serde::{Deserialize, Serialize};

use crate::error::{Error, nanos, positive_nanos};

/// seawall's adaptive concurrency limit: the core's options, durations in
/// milliseconds (absent: the core's defaults).
///
/// ```toml
/// [policies.adaptive_limiter]
/// algorithm = { kind = "gradient", tolerance = 1.5 }   # or "vegas", "aimd"
/// initial_limit = 20
/// max_limit = 1000
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveLimiterOptions {
    /// How the limit moves (default the gradient).
    pub algorithm: Option<AlgorithmOptions>,
    /// The limit before the first decision (default 20).
    pub initial_limit: Option<u32>,
    /// The lowest limit (default 1).
    pub min_limit: Option<u32>,
    /// The highest limit (default 1000).
    pub max_limit: Option<u32>,
    /// The span of calls each decision is made on (default 100).
    pub window_ms: Option<f64>,
    /// The calls a window needs (default 10).
    pub min_samples: Option<u32>,
    /// The time between baseline probes (default 60 000).
    pub probe_interval_ms: Option<f64>,
    /// The calls at once during a probe (default 2).
    pub probe_limit: Option<u32>,
    /// The calls a probe measures (default 40).
    pub probe_samples: Option<u32>,
}

/// The algorithm of [`AdaptiveLimiterOptions`], with its options (absent:
/// the core's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlgorithmOptions {
    /// Additive increase, multiplicative decrease.
    Aimd {
        /// The factor after an overload.
        backoff_ratio: Option<f64>,
        /// Added after a busy window.
        increase: Option<u32>,
        /// A call slower than this is an overload.
        timeout_ms: Option<f64>,
    },
    /// The gradient of latency against the measured baseline.
    Gradient {
        /// How much slower than the baseline calls may be.
        tolerance: Option<f64>,
        /// How far each window moves the limit.
        smoothing: Option<f64>,
        /// The growth while nothing queues.
        queue_size: Option<u32>,
    },
    /// TCP Vegas's queue estimate.
    Vegas {
        /// The queue below which the limit grows, per `log10(limit)`.
        alpha: Option<u32>,
        /// The queue above which it shrinks, per `log10(limit)`.
        beta: Option<u32>,
        /// How far each window moves the limit.
        smoothing: Option<f64>,
    },
}

/// A port of a reference algorithm, with its published defaults.
///
/// ```toml
/// [policies.reference_limiter]
/// kind = "gradient2"     # or "vegas"
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReferenceLimiter {
    /// Netflix's `Gradient2Limit` behind its `WindowedLimit` (as its README
    /// sets it up): 1 s windows of at least 10 calls, their mean latency;
    /// initial and minimum limit 20, maximum 200, smoothing 0.2, queue size 4,
    /// tolerance 1.5, a long-term average over 600 windows.
    Gradient2,
    /// Netflix's `VegasLimit` on every call (as its `SimpleLimiter` uses it):
    /// initial limit 20, maximum 1000, alpha 3, beta 6 and threshold 1 (times
    /// `log10(limit)`), smoothing 1; the baseline is the fastest call, probed
    /// again every 30 * limit calls (times a random factor in [0.5, 1)).
    Vegas,
}

impl AlgorithmOptions {
    fn to_core(self) -> Result<Algorithm, Error> {
        Ok(match self {
            AlgorithmOptions::Aimd {
                backoff_ratio,
                increase,
                timeout_ms,
            } => {
                let d = Aimd::DEFAULT;
                Algorithm::Aimd(Aimd {
                    backoff_ratio: backoff_ratio.unwrap_or(d.backoff_ratio),
                    increase: increase.unwrap_or(d.increase),
                    timeout: match timeout_ms {
                        Some(ms) => Some(Duration::from_nanos(positive_nanos("timeout_ms", ms)?)),
                        None => d.timeout,
                    },
                })
            }
            AlgorithmOptions::Gradient {
                tolerance,
                smoothing,
                queue_size,
            } => {
                let d = Gradient::DEFAULT;
                Algorithm::Gradient(Gradient {
                    tolerance: tolerance.unwrap_or(d.tolerance),
                    smoothing: smoothing.unwrap_or(d.smoothing),
                    queue_size: queue_size.unwrap_or(d.queue_size),
                })
            }
            AlgorithmOptions::Vegas {
                alpha,
                beta,
                smoothing,
            } => {
                let d = Vegas::DEFAULT;
                Algorithm::Vegas(Vegas {
                    alpha: alpha.unwrap_or(d.alpha),
                    beta: beta.unwrap_or(d.beta),
                    smoothing: smoothing.unwrap_or(d.smoothing),
                })
            }
        })
    }
}

impl AdaptiveLimiterOptions {
    pub(crate) fn build(&self) -> Result<Limit, Error> {
        let d = |field: &str, ms: f64| nanos(field, ms).map(Duration::from_nanos);
        let mut b = LimitConfig::builder();
        if let Some(algorithm) = self.algorithm {
            b = b.algorithm(algorithm.to_core().map_err(|e| e.within("algorithm"))?);
        }
        if let Some(v) = self.initial_limit {
            b = b.initial_limit(v);
        }
        if let Some(v) = self.min_limit {
            b = b.min_limit(v);
        }
        if let Some(v) = self.max_limit {
            b = b.max_limit(v);
        }
        if let Some(ms) = self.window_ms {
            b = b.window(d("window_ms", ms)?);
        }
        if let Some(v) = self.min_samples {
            b = b.min_samples(v);
        }
        if let Some(ms) = self.probe_interval_ms {
            b = b.probe_interval(d("probe_interval_ms", ms)?);
        }
        if let Some(v) = self.probe_limit {
            b = b.probe_limit(v);
        }
        if let Some(v) = self.probe_samples {
            b = b.probe_samples(v);
        }
        let config = b.build().map_err(|e| match e.field() {
            field @ ("window" | "probe_interval") => {
                Error::invalid(format!("{field}_ms"), e.reason())
            }
            "initial_limit" | "min_limit" | "max_limit" | "min_samples" | "probe_limit"
            | "probe_samples" => Error::from(e),
            field => Error::invalid(format!("algorithm.{field}"), e.reason()),
        })?;
        Ok(Limit::Seawall(AdaptiveLimiter::new(config)))
    }
}

impl ReferenceLimiter {
    pub(crate) fn build(self) -> Limit {
        match self {
            ReferenceLimiter::Gradient2 => Limit::Gradient2(Gradient2Port::new()),
            ReferenceLimiter::Vegas => Limit::Vegas(VegasPort::new()),
        }
    }
}

/// A configuration's adaptive limit: seawall's or a reference port.
pub(crate) enum Limit {
    Seawall(AdaptiveLimiter),
    Gradient2(Gradient2Port),
    Vegas(VegasPort),
}

/// A place under a [`Limit`], held by an attempt.
pub(crate) enum Token {
    Seawall(LimitTicket),
    /// A port's: when the call started and the calls in flight then.
    Port {
        start: u64,
        in_flight: u32,
    },
}

impl Limit {
    /// A place for an attempt starting `now`, or the limit that refused it.
    pub(crate) fn try_start(&mut self, now: u64) -> Result<Token, u32> {
        match self {
            Limit::Seawall(limiter) => limiter
                .try_acquire_ticket(&Instant::from_nanos(now))
                .map(Token::Seawall)
                .map_err(|exceeded| exceeded.limit),
            Limit::Gradient2(port) => port.counter.start(now),
            Limit::Vegas(port) => port.counter.start(now),
        }
    }

    /// The attempt of `token` ended `now`; `overload` when it failed or timed out.
    pub(crate) fn finish(&mut self, token: Token, now: u64, overload: bool) {
        match (self, token) {
            (Limit::Seawall(limiter), Token::Seawall(ticket)) => {
                let outcome = if overload {
                    Outcome::Overload
                } else {
                    Outcome::Success
                };
                limiter.record(ticket, outcome, &Instant::from_nanos(now));
            }
            (Limit::Gradient2(port), Token::Port { start, in_flight }) => {
                port.counter.in_flight -= 1;
                port.sample(start, now - start, in_flight);
            }
            (Limit::Vegas(port), Token::Port { start, in_flight }) => {
                port.counter.in_flight -= 1;
                port.sample(now - start, in_flight, overload);
            }
            _ => unreachable!("a token comes from its own limit"),
        }
    }

    /// The limit now.
    pub(crate) fn limit(&self) -> u32 {
        match self {
            Limit::Seawall(limiter) => limiter.limit(),
            Limit::Gradient2(port) => port.counter.limit as u32,
            Limit::Vegas(port) => port.counter.limit as u32,
        }
    }
}

/// The calls a port lets in: Netflix's `SimpleLimiter`.
pub(crate) struct Counter {
    limit: f64,
    in_flight: u32,
}

impl Counter {
    fn start(&mut self, now: u64) -> Result<Token, u32> {
        let limit = self.limit as u32;
        if self.in_flight >= limit {
            return Err(limit);
        }
        self.in_flight += 1;
        Ok(Token::Port {
            start: now,
            in_flight: self.in_flight,
        })
    }
}

/// `Gradient2Limit` behind `WindowedLimit`, with their defaults.
pub(crate) struct Gradient2Port {
    counter: Counter,
    long_rtt: f64,
    long_count: u32,
    next_update: u64,
    window_sum: u64,
    window_count: u32,
    window_min: u64,
    window_max_in_flight: u32,
}

impl Gradient2Port {
    fn new() -> Self {
        Self {
            counter: Counter {
                limit: 20.0,
                in_flight: 0,
            },
            long_rtt: 0.0,
            long_count: 0,
            next_update: 0,
            window_sum: 0,
            window_count: 0,
            window_min: u64::MAX,
            window_max_in_flight: 0,
        }
    }

    /// `WindowedLimit.onSample`.
    fn sample(&mut self, start: u64, rtt: u64, in_flight: u32) {
        const MIN_RTT: u64 = 100_000;
        const WINDOW: u64 = 1_000_000_000;
        if rtt < MIN_RTT {
            return;
        }
        self.window_sum += rtt;
        self.window_count += 1;
        self.window_min = self.window_min.min(rtt);
        self.window_max_in_flight = self.window_max_in_flight.max(in_flight);
        let end = start + rtt;
        if end > self.next_update {
            // The window's length: twice its fastest call, within [1 s, 1 s].
            self.next_update = end + self.window_min.saturating_mul(2).clamp(WINDOW, WINDOW);
            if self.window_count >= 10 {
                let rtt = self.window_sum as f64 / f64::from(self.window_count);
                self.update(rtt, self.window_max_in_flight);
            }
            self.window_sum = 0;
            self.window_count = 0;
            self.window_min = u64::MAX;
            self.window_max_in_flight = 0;
        }
    }

    /// `Gradient2Limit._update`.
    fn update(&mut self, rtt: f64, in_flight: u32) {
        let limit = self.counter.limit;
        // ExpAvgMeasurement(600, warm-up 10).
        if self.long_count < 10 {
            self.long_count += 1;
            self.long_rtt += (rtt - self.long_rtt) / f64::from(self.long_count);
        } else {
            let factor = 2.0 / 601.0;
            self.long_rtt = self.long_rtt * (1.0 - factor) + rtt * factor;
        }
        if self.long_rtt / rtt > 2.0 {
            self.long_rtt *= 0.95;
        }
        if f64::from(in_flight) < limit / 2.0 {
            return;
        }
        let gradient = (1.5 * self.long_rtt / rtt).clamp(0.5, 1.0);
        let new_limit = limit * gradient + 4.0;
        let new_limit = limit * 0.8 + new_limit * 0.2;
        self.counter.limit = new_limit.clamp(20.0, 200.0);
    }
}

/// `VegasLimit` on every call, with its defaults.
pub(crate) struct VegasPort {
    counter: Counter,
    rtt_noload: u64,
    probe_count: u32,
    probe_jitter: f64,
    rng: SplitMix64,
}

impl VegasPort {
    fn new() -> Self {
        let mut rng = SplitMix64::new(0x5EA_3A11);
        Self {
            counter: Counter {
                limit: 20.0,
                in_flight: 0,
            },
            rtt_noload: 0,
            probe_count: 0,
            probe_jitter: 0.5 + unit(&mut rng) * 0.5,
            rng,
        }
    }

    /// `VegasLimit._update`.
    fn sample(&mut self, rtt: u64, in_flight: u32, dropped: bool) {
        let rtt = rtt.max(1);
        let limit = self.counter.limit;
        self.probe_count += 1;
        if self.probe_jitter * 30.0 * limit <= f64::from(self.probe_count) {
            self.probe_jitter = 0.5 + unit(&mut self.rng) * 0.5;
            self.probe_count = 0;
            self.rtt_noload = rtt;
            return;
        }
        if self.rtt_noload == 0 || rtt < self.rtt_noload {
            self.rtt_noload = rtt;
            return;
        }
        let log = f64::from((limit.log10() as u32).max(1));
        let queue = (limit * (1.0 - self.rtt_noload as f64 / rtt as f64)).ceil();
        let new_limit = if dropped {
            limit - log
        } else if f64::from(in_flight) * 2.0 < limit {
            return;
        } else if queue <= log {
            limit + 6.0 * log
        } else if queue < 3.0 * log {
            limit + log
        } else if queue > 6.0 * log {
            limit - log
        } else {
            return;
        };
        self.counter.limit = new_limit.clamp(1.0, 1000.0);
    }
}
