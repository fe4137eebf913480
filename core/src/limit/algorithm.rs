//! The algorithms' rules: a pure function from the limit, the baseline and one
//! window of calls to the next limit. The limiter stores the state; the
//! simulator and the tests call the rules directly.

use core::time::Duration;

use super::config::{Aimd, Algorithm, Gradient, LimitConfig, Vegas};

/// What one window of calls showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// Calls that finished in the window (overloads included).
    pub samples: u32,
    /// Calls reported as overloaded (or slower than AIMD's timeout).
    pub overloads: u32,
    /// The mean latency of the window's calls.
    pub mean_latency: Duration,
    /// The most calls in flight when one of the window's calls started (itself
    /// included).
    pub max_in_flight: u32,
}

impl LimitConfig {
    /// The limit after `window`, from the current `limit` and the measured
    /// `baseline` (none yet: latency-based algorithms keep the limit), kept
    /// within `min_limit..=max_limit`.
    pub fn next_limit(&self, limit: f64, baseline: Option<Duration>, window: &Window) -> f64 {
        let next = match self.algorithm() {
            Algorithm::Aimd(aimd) => aimd_next(aimd, limit, window),
            Algorithm::Gradient(gradient) => match baseline {
                Some(baseline) => gradient_next(gradient, limit, baseline, window),
                None => limit,
            },
            Algorithm::Vegas(vegas) => match baseline {
                Some(baseline) => vegas_next(vegas, limit, baseline, window),
                None => limit,
            },
        };
        // max then min: NaN (none is expected) falls to the minimum.
        next.max(f64::from(self.min_limit()))
            .min(f64::from(self.max_limit()))
    }
}

/// Whether the window used less than half of the limit: the caller, not the
/// dependency, held the load back, so latency says nothing about the limit.
fn app_limited(limit: f64, window: &Window) -> bool {
    f64::from(window.max_in_flight) * 2.0 < limit
}

fn aimd_next(aimd: &Aimd, limit: f64, window: &Window) -> f64 {
    if window.overloads > 0 {
        limit * aimd.backoff_ratio
    } else if !app_limited(limit, window) {
        limit + f64::from(aimd.increase)
    } else {
        limit
    }
}

fn gradient_next(gradient: &Gradient, limit: f64, baseline: Duration, window: &Window) -> f64 {
    let latency = window.mean_latency.as_nanos() as f64;
    let baseline = baseline.as_nanos() as f64;
    let ratio = if window.overloads > 0 {
        // An overload is the strongest sign of queueing there is.
        0.5
    } else if app_limited(limit, window) {
        return limit;
    } else if latency <= 0.0 {
        1.0
    } else {
        (gradient.tolerance * baseline / latency).clamp(0.5, 1.0)
    };
    // The queue allowance only while nothing queues: added at any gradient
    // below 1, it balances a moderate gradient (limit * (1 - g) = queue_size)
    // at a limit that climbs as the latency does.
    let queue = if ratio >= 1.0 {
        f64::from(gradient.queue_size)
    } else {
        0.0
    };
    let target = limit * ratio + queue;
    limit * (1.0 - gradient.smoothing) + target * gradient.smoothing
}

fn vegas_next(vegas: &Vegas, limit: f64, baseline: Duration, window: &Window) -> f64 {
    let log = log10_root(limit);
    let target = if window.overloads > 0 {
        limit - log
    } else if app_limited(limit, window) {
        return limit;
    } else {
        let latency = window.mean_latency.as_nanos() as f64;
        let baseline = baseline.as_nanos() as f64;
        let queue = if latency > 0.0 {
            ceil(limit * (1.0 - baseline / latency))
        } else {
            0.0
        };
        let alpha = f64::from(vegas.alpha) * log;
        let beta = f64::from(vegas.beta) * log;
        if queue <= log {
            // Nothing queues: grow fast.
            limit + beta
        } else if queue < alpha {
            limit + log
        } else if queue > beta {
            limit - log
        } else {
            return limit;
        }
    };
    limit * (1.0 - vegas.smoothing) + target * vegas.smoothing
}

/// `max(1, floor(log10(limit)))`: Vegas's step, 1 below a limit of 100.
fn log10_root(limit: f64) -> f64 {
    let mut whole = limit as u64;
    let mut digits = 0u32;
    while whole >= 10 {
        whole /= 10;
        digits += 1;
    }
    f64::from(digits.max(1))
}

/// The smallest whole number at least `x` (`f64::ceil` is not in `core`).
fn ceil(x: f64) -> f64 {
    let truncated = x as i64 as f64;
    if truncated < x {
        truncated + 1.0
    } else {
        truncated
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn window(samples: u32, overloads: u32, latency_ms: u64, max_in_flight: u32) -> Window {
        Window {
            samples,
            overloads,
            mean_latency: MS(latency_ms),
            max_in_flight,
        }
    }

    fn config(algorithm: Algorithm) -> LimitConfig {
        LimitConfig::builder()
            .algorithm(algorithm)
            .max_limit(100)
            .build()
            .unwrap()
    }

    #[test]
    fn aimd_adds_and_multiplies() {
        let config = config(Algorithm::Aimd(Aimd::DEFAULT));
        assert_eq!(config.next_limit(20.0, None, &window(10, 0, 5, 10)), 21.0);
        assert_eq!(
            config.next_limit(20.0, None, &window(10, 0, 5, 9)),
            20.0,
            "app-limited"
        );
        assert_eq!(config.next_limit(20.0, None, &window(10, 1, 5, 20)), 18.0);
        assert_eq!(
            config.next_limit(100.0, None, &window(10, 0, 5, 100)),
            100.0,
            "max"
        );
        assert_eq!(
            config.next_limit(1.0, None, &window(10, 3, 5, 1)),
            1.0,
            "min"
        );
    }

    #[test]
    fn gradient_shrinks_with_latency_and_grows_only_without_queueing() {
        let config = config(Algorithm::Gradient(Gradient::DEFAULT));
        let baseline = Some(MS(10));
        // No baseline yet: no change.
        assert_eq!(config.next_limit(20.0, None, &window(10, 0, 50, 20)), 20.0);
        // Within the tolerance (15 ms): grows by smoothing * queue_size.
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 0, 15, 20)),
            20.8
        );
        // 20 ms: gradient 0.75, no queue allowance: 20 * (0.8 + 0.2 * 0.75).
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 0, 20, 20)),
            19.0
        );
        // Far beyond: the gradient stops at 0.5.
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 0, 500, 20)),
            18.0
        );
        // An overload counts as a gradient of 0.5, app-limited or not.
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 1, 5, 1)),
            18.0
        );
        // App-limited: no change.
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 0, 50, 9)),
            20.0
        );
    }

    #[test]
    fn vegas_steps_by_the_queue_estimate() {
        let config = config(Algorithm::Vegas(Vegas::DEFAULT));
        let baseline = Some(MS(10));
        // No queue: + beta.
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 0, 10, 20)),
            26.0
        );
        // queue = ceil(20 * (1 - 10/11)) = 2: between 1 and alpha: +1.
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 0, 11, 20)),
            21.0
        );
        // queue = ceil(20 * (1 - 10/14)) = 6: within [alpha, beta]: unchanged.
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 0, 14, 20)),
            20.0
        );
        // queue = 10 > beta: -1.
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 0, 20, 20)),
            19.0
        );
        // An overload: -1.
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 1, 10, 20)),
            19.0
        );
        assert_eq!(
            config.next_limit(20.0, baseline, &window(10, 0, 10, 5)),
            20.0,
            "app-limited"
        );
        assert_eq!(log10_root(5.0), 1.0);
        assert_eq!(log10_root(150.0), 2.0);
        assert_eq!(log10_root(1000.0), 3.0);
        assert_eq!((ceil(1.2), ceil(2.0), ceil(-0.5)), (2.0, 2.0, 0.0));
    }
}
