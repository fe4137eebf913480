//! Two failures of the reference implementations (Netflix concurrency-limits)
//! that the adaptive limiter must not repeat, each shown on the same simulated
//! traffic against a port of the original rule, so that each test can fail:
//!
//! - Gradient2's limit grows without bound under a moderate overload
//!   (concurrency-limits pull request 134): its baseline is an average of the
//!   latencies that follows them up, and its queue allowance is added at every
//!   gradient, so each window adds a little and the latency it causes becomes
//!   the new normal.
//! - Vegas's baseline is the fastest call ever seen (issue 37): one unusually
//!   fast answer makes every later call look queued, and the limit collapses.
//!
//! The traffic: a dependency of `workers` parallel workers, each call taking
//! its service time once a worker is free (FIFO), in virtual time steps of 1 ms,
//! and callers who always have a call to make when the limit lets them.

use std::collections::VecDeque;
use std::time::Duration;

use seawall_core::limit::{AdaptiveLimiter, Algorithm, LimitConfig, LimitTicket, Vegas};
use seawall_core::time::Instant;

const MS: u64 = 1_000_000;

/// Admits calls and learns from them: the limiter under test or a port.
trait Controller {
    type Token;
    fn try_start(&mut self, now: u64) -> Option<Self::Token>;
    fn finish(&mut self, token: Self::Token, now: u64);
    fn limit(&self) -> u32;
}

/// The seawall limiter.
struct Seawall(AdaptiveLimiter);

impl Controller for Seawall {
    type Token = LimitTicket;
    fn try_start(&mut self, now: u64) -> Option<LimitTicket> {
        self.0.try_acquire_ticket(&Instant::from_nanos(now)).ok()
    }
    fn finish(&mut self, ticket: LimitTicket, now: u64) {
        self.0.record(
            ticket,
            seawall_core::limit::Outcome::Success,
            &Instant::from_nanos(now),
        );
    }
    fn limit(&self) -> u32 {
        self.0.limit()
    }
}

/// A dependency of `workers` FIFO workers, and callers limited by `controller`
/// to at most `demand` calls in flight; `service(n)` is the n-th call's service
/// time in ms. Runs for `seconds`, calling `each_second` with the limit.
fn run<C: Controller>(
    controller: &mut C,
    workers: usize,
    demand: usize,
    seconds: u64,
    service: impl Fn(u64) -> u64,
    mut each_second: impl FnMut(u64, u32),
) {
    let mut free_at = vec![0u64; workers];
    // (finish time, token), in order of finish (FIFO workers, equal service
    // times: a later start never finishes earlier, within a few ms).
    let mut running: VecDeque<(u64, C::Token)> = VecDeque::new();
    let mut started = 0u64;
    for step in 0..seconds * 1000 {
        let now = step * MS;
        // Calls that are done.
        let mut index = 0;
        while index < running.len() {
            if running[index].0 <= now {
                let (_, token) = running.remove(index).unwrap();
                controller.finish(token, now);
            } else {
                index += 1;
            }
        }
        // New calls, as many as the limit admits.
        while running.len() < demand {
            let Some(token) = controller.try_start(now) else {
                break;
            };
            let worker = (0..workers).min_by_key(|&w| free_at[w]).unwrap();
            let begin = free_at[worker].max(now);
            let finish = begin + service(started) * MS;
            started += 1;
            free_at[worker] = finish;
            running.push_back((finish, token));
        }
        if step % 1000 == 999 {
            each_second(step / 1000 + 1, controller.limit());
        }
    }
}

/// Netflix's `Gradient2Limit` behind its `WindowedLimit`, with their published
/// defaults (1 s windows of at least 10 calls, their mean latency; initial and
/// minimum limit 20, maximum 200, smoothing 0.2, queue size 4, tolerance 1.5,
/// long window 600).
struct Gradient2Port {
    limit: f64,
    in_flight: u32,
    long_rtt: f64,
    long_count: u32,
    window_start: u64,
    window_sum: u64,
    window_count: u32,
    window_max_in_flight: u32,
}

impl Gradient2Port {
    fn new() -> Self {
        Self {
            limit: 20.0,
            in_flight: 0,
            long_rtt: 0.0,
            long_count: 0,
            window_start: 0,
            window_sum: 0,
            window_count: 0,
            window_max_in_flight: 0,
        }
    }

    fn on_window(&mut self, rtt: f64, in_flight: u32) {
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
        if f64::from(in_flight) < self.limit / 2.0 {
            return;
        }
        let gradient = (1.5 * self.long_rtt / rtt).clamp(0.5, 1.0);
        let new_limit = self.limit * gradient + 4.0;
        let new_limit = self.limit * 0.8 + new_limit * 0.2;
        self.limit = new_limit.clamp(20.0, 200.0);
    }
}

impl Controller for Gradient2Port {
    type Token = (u64, u32);
    fn try_start(&mut self, now: u64) -> Option<(u64, u32)> {
        if self.in_flight >= self.limit as u32 {
            return None;
        }
        self.in_flight += 1;
        Some((now, self.in_flight))
    }
    fn finish(&mut self, (start, in_flight): (u64, u32), now: u64) {
        self.in_flight -= 1;
        self.window_sum += now - start;
        self.window_count += 1;
        self.window_max_in_flight = self.window_max_in_flight.max(in_flight);
        if now - self.window_start >= 1000 * MS {
            if self.window_count >= 10 {
                let rtt = self.window_sum as f64 / f64::from(self.window_count);
                self.on_window(rtt, self.window_max_in_flight);
            }
            self.window_start = now;
            self.window_sum = 0;
            self.window_count = 0;
            self.window_max_in_flight = 0;
        }
    }
    fn limit(&self) -> u32 {
        self.limit as u32
    }
}

/// Netflix's `VegasLimit` (per call, as `SimpleLimiter` uses it) with its
/// published defaults but for the maximum: initial limit 20, alpha 3, beta 6 and
/// threshold 1 (times `log10(limit)`), smoothing 1; the baseline is the fastest
/// call, re-probed every 30 * limit calls (jittered between half and all of
/// that; the test's runs end before the first probe).
struct VegasPort {
    limit: f64,
    max: f64,
    in_flight: u32,
    rtt_noload: u64,
}

impl Controller for VegasPort {
    type Token = (u64, u32);
    fn try_start(&mut self, now: u64) -> Option<(u64, u32)> {
        if self.in_flight >= self.limit as u32 {
            return None;
        }
        self.in_flight += 1;
        Some((now, self.in_flight))
    }
    fn finish(&mut self, (start, in_flight): (u64, u32), now: u64) {
        self.in_flight -= 1;
        let rtt = now - start;
        if self.rtt_noload == 0 || rtt < self.rtt_noload {
            self.rtt_noload = rtt;
            return;
        }
        let limit = self.limit;
        let log = f64::from((limit.log10() as u32).max(1));
        let queue = (limit * (1.0 - self.rtt_noload as f64 / rtt as f64)).ceil();
        if f64::from(in_flight) * 2.0 < limit {
            return;
        }
        let new_limit = if queue <= log {
            limit + 6.0 * log
        } else if queue < 3.0 * log {
            limit + log
        } else if queue > 6.0 * log {
            limit - log
        } else {
            return;
        };
        self.limit = new_limit.clamp(1.0, self.max);
    }
    fn limit(&self) -> u32 {
        self.limit as u32
    }
}

/// A moderate, sustained overload: 10 workers of 10 ms each serve 1000 calls a
/// second; callers would keep 60 calls in flight, six times what fits without
/// queueing. Over ten minutes the original Gradient2 climbs to its maximum and
/// keeps twenty times the useful calls waiting; seawall's gradient stays near
/// `tolerance * workers` (15), the latency within 1.5 times the baseline.
#[test]
fn gradient_stays_bounded_under_moderate_overload() {
    let (workers, demand, seconds) = (10, 60, 600);
    let mut port = Gradient2Port::new();
    let mut port_limits = Vec::new();
    run(
        &mut port,
        workers,
        demand,
        seconds,
        |_| 10,
        |_, limit| port_limits.push(limit),
    );
    // The original: the limit keeps climbing, minute after minute, up to all
    // the calls the callers have (60: six times the workers).
    let minute = |limits: &[u32], m: usize| limits[m * 60 - 1];
    assert!(
        (2..=9).any(|m| minute(&port_limits, m + 1) > minute(&port_limits, m)),
        "{port_limits:?}"
    );
    assert!(
        port_limits[port_limits.len() - 1] >= 50,
        "the port's limit ends at {}",
        port_limits[port_limits.len() - 1]
    );

    let config = LimitConfig::builder()
        .probe_interval(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut seawall = Seawall(AdaptiveLimiter::new(config));
    let mut limits = Vec::new();
    run(
        &mut seawall,
        workers,
        demand,
        seconds,
        |_| 10,
        |_, limit| limits.push(limit),
    );
    let highest = limits[10..].iter().max().unwrap();
    assert!(
        *highest <= 20,
        "seawall's limit reached {highest}: {limits:?}"
    );
    assert!(
        limits[10..].iter().all(|&limit| limit >= workers as u32),
        "never below what the workers serve: {limits:?}"
    );
    assert_eq!(seawall.0.baseline(), Some(Duration::from_millis(10)));
}

/// Calls of about 300 ms on a dependency of 100 workers, a limit of at most 40
/// (so nothing queues), callers with more calls than that to make; the 2000th
/// call answers in 150 ms. The original Vegas takes it as the no-load latency,
/// sees every later call as half queue, and its limit collapses to a third;
/// seawall's baseline is a probe's mean, and one call cannot move the limit.
#[test]
fn one_fast_call_does_not_throw_vegas_off() {
    let service = |n: u64| if n == 2000 { 150 } else { 300 + n % 7 };
    let (workers, demand, seconds) = (100, 1000, 40);
    let mut port = VegasPort {
        limit: 20.0,
        max: 40.0,
        in_flight: 0,
        rtt_noload: 0,
    };
    let mut port_limits = Vec::new();
    run(&mut port, workers, demand, seconds, service, |_, limit| {
        port_limits.push(limit)
    });
    // Before the fast call (started in the 16th second), the port admits its
    // maximum; after it, a third of it.
    assert!(
        port_limits[2..14].iter().all(|&l| l == 40),
        "{port_limits:?}"
    );
    assert!(port_limits[39] <= 15, "{port_limits:?}");
    assert_eq!(port.rtt_noload, 150 * MS);

    let mut seawall = Seawall(AdaptiveLimiter::new(vegas_at_most(40)));
    let mut limits = Vec::new();
    run(
        &mut seawall,
        workers,
        demand,
        seconds,
        service,
        |_, limit| limits.push(limit),
    );
    let baseline = seawall.0.baseline().unwrap();
    assert!(
        baseline >= Duration::from_millis(300) && baseline <= Duration::from_millis(306),
        "{baseline:?}"
    );
    // After the first probe (40 calls of 300 ms, two at a time: 6 s).
    assert!(limits[8..].iter().all(|&limit| limit == 40), "{limits:?}");
}

/// The fast call inside a probe: averaged with the probe's 39 other calls, it
/// moves the baseline by 1/80, and the limit stays.
#[test]
fn a_fast_call_inside_a_probe_is_averaged_out() {
    let service = |n: u64| if n == 3 { 150 } else { 300 + n % 7 };
    let mut seawall = Seawall(AdaptiveLimiter::new(vegas_at_most(40)));
    let mut limits = Vec::new();
    run(&mut seawall, 100, 1000, 40, service, |_, limit| {
        limits.push(limit)
    });
    let baseline = seawall.0.baseline().unwrap();
    assert!(
        baseline >= Duration::from_millis(295) && baseline < Duration::from_millis(303),
        "{baseline:?}"
    );
    assert!(limits[8..].iter().all(|&limit| limit == 40), "{limits:?}");
}

fn vegas_at_most(max: u32) -> LimitConfig {
    LimitConfig::builder()
        .algorithm(Algorithm::Vegas(Vegas::DEFAULT))
        .max_limit(max)
        .probe_interval(Duration::from_secs(600))
        .build()
        .unwrap()
}
