//! The breaker's configuration, in the words users know from resilience4j.

use std::time::Duration;

use seawall_core::ConfigError;
use seawall_core::breaker::{AnyWindow, BreakerConfig, Bucket, CountWindow, Slot, TimeWindow};

pub use seawall_core::breaker::MAX_WINDOW_LEN;

/// A sliding window: the breaker trips on the failure rate or the slow-call rate
/// of the calls in it, instead of on consecutive failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlidingWindow {
    /// The last `size` calls.
    Count {
        /// How many calls the window holds (1 to [`MAX_WINDOW_LEN`]).
        size: usize,
    },
    /// The calls of the last `duration`, kept in `buckets` buckets that slide
    /// one at a time.
    Time {
        /// The length of the window.
        duration: Duration,
        /// The number of buckets (1 to [`MAX_WINDOW_LEN`], each at least 1 ms).
        buckets: usize,
    },
}

/// How a [`CircuitBreaker`](crate::CircuitBreaker) decides: the three classic
/// fields (`failure_threshold`, `success_threshold`, `timeout`) and every
/// option of the core.
///
/// Without a [`window`](Self::window) the breaker trips after
/// `failure_threshold` consecutive failures; with one it trips when the failure
/// rate or the slow-call rate in the window reaches its threshold, once
/// `minimum_calls` are in it. Every value is checked when the breaker is built
/// ([`CircuitBreaker::try_new`](crate::CircuitBreaker::try_new)), with the
/// core's rules; the error names the field.
///
/// ```
/// use std::time::Duration;
/// use seawall::{CircuitBreakerConfig, SlidingWindow};
///
/// // The classic breaker: 5 consecutive failures open it for 60 s, 2 successful
/// // probes close it.
/// let classic = CircuitBreakerConfig {
///     failure_threshold: 5,
///     success_threshold: 2,
///     timeout: Duration::from_secs(60),
///     ..Default::default()
/// };
///
/// // resilience4j's: half of the last 100 calls failing, or 80 % of them slower
/// // than 2 s, opens it; the open duration doubles on each reopening, up to 10 min.
/// let rated = CircuitBreakerConfig {
///     window: Some(SlidingWindow::Count { size: 100 }),
///     failure_rate_threshold: 0.5,
///     slow_call_rate_threshold: 0.8,
///     slow_call_duration: Duration::from_secs(2),
///     minimum_calls: 20,
///     open_duration_multiplier: 2.0,
///     max_open_duration: Some(Duration::from_secs(600)),
///     ..classic.clone()
/// };
/// assert!(rated.validate().is_ok());
/// let error = CircuitBreakerConfig { failure_rate_threshold: 1.5, ..rated }.validate().unwrap_err();
/// assert_eq!(error.to_string(), "invalid failure_rate_threshold: must be a number in (0, 1]");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitBreakerConfig {
    /// Consecutive failures that open a breaker without a window (default 5).
    pub failure_threshold: u32,
    /// Successful probes that close a half-open breaker (default 2).
    pub success_threshold: u32,
    /// How long the breaker stays open after it trips, before it lets a probe
    /// through: the open duration (default 60 s).
    pub timeout: Duration,
    /// Probes let through at once while half-open (default 1).
    pub half_open_max_calls: u32,
    /// Factor applied to the open duration each time the breaker reopens without
    /// having closed in between (at least 1.0; default 1.0, no growth).
    pub open_duration_multiplier: f64,
    /// Cap of that growth (default none).
    pub max_open_duration: Option<Duration>,
    /// Reopen a half-open breaker whose probes all hang: when every probe slot is
    /// taken and none was admitted or answered for this long (default none).
    pub max_wait_in_half_open: Option<Duration>,
    /// The rate rule's window; `None` (the default) selects the
    /// consecutive-failure rule.
    pub window: Option<SlidingWindow>,
    /// Failure rate (in (0, 1]) at or above which a windowed breaker opens (default 0.5).
    pub failure_rate_threshold: f64,
    /// Slow-call rate (in (0, 1]) at or above which a windowed breaker opens (default 1.0).
    pub slow_call_rate_threshold: f64,
    /// A call longer than this is slow (default 60 s). Latency is measured only
    /// for breakers with a window.
    pub slow_call_duration: Duration,
    /// Calls that must be in the window before its rates count (default 100; a
    /// count window smaller than this uses its size).
    pub minimum_calls: u32,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self::from(BreakerConfig::DEFAULT)
    }
}

/// The same options, without a window.
impl From<BreakerConfig> for CircuitBreakerConfig {
    fn from(core: BreakerConfig) -> Self {
        Self {
            failure_threshold: core.failure_threshold(),
            success_threshold: core.success_threshold(),
            timeout: core.open_duration(),
            half_open_max_calls: core.half_open_max_calls(),
            open_duration_multiplier: core.open_duration_multiplier(),
            max_open_duration: core.max_open_duration(),
            max_wait_in_half_open: core.max_wait_in_half_open(),
            window: None,
            failure_rate_threshold: core.failure_rate_threshold(),
            slow_call_rate_threshold: core.slow_call_rate_threshold(),
            slow_call_duration: core.slow_call_duration(),
            minimum_calls: core.minimum_calls(),
        }
    }
}

/// The window type every adapter breaker uses: chosen at run time, on the heap.
pub(crate) type HeapWindow = AnyWindow<Box<[Slot]>, Box<[Bucket]>>;

impl CircuitBreakerConfig {
    /// Checks every option, as building a breaker does.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.build().map(drop)
    }

    /// The core's configuration for these options.
    pub fn to_core(&self) -> Result<BreakerConfig, ConfigError> {
        let mut builder = BreakerConfig::builder()
            .failure_threshold(self.failure_threshold)
            .success_threshold(self.success_threshold)
            .open_duration(self.timeout)
            .half_open_max_calls(self.half_open_max_calls)
            .open_duration_multiplier(self.open_duration_multiplier)
            .failure_rate_threshold(self.failure_rate_threshold)
            .slow_call_rate_threshold(self.slow_call_rate_threshold)
            .slow_call_duration(self.slow_call_duration)
            .minimum_calls(self.minimum_calls);
        if let Some(max) = self.max_open_duration {
            builder = builder.max_open_duration(max);
        }
        if let Some(wait) = self.max_wait_in_half_open {
            builder = builder.max_wait_in_half_open(wait);
        }
        builder.build().map_err(rename)
    }

    /// The core's configuration and window for these options.
    pub(crate) fn build(&self) -> Result<(BreakerConfig, HeapWindow), ConfigError> {
        let config = self.to_core()?;
        window_len(self.window)?;
        let window = match self.window {
            None => AnyWindow::None,
            Some(SlidingWindow::Count { size }) => {
                let slots: Box<[Slot]> = (0..size).map(|_| Slot::new()).collect();
                AnyWindow::Count(CountWindow::with_storage(slots)?)
            }
            Some(SlidingWindow::Time { duration, buckets }) => {
                let storage: Box<[Bucket]> = (0..buckets).map(|_| Bucket::new()).collect();
                AnyWindow::Time(TimeWindow::with_storage(storage, duration)?)
            }
        };
        Ok((config, window))
    }
}

/// The core calls the open duration `open_duration`; this configuration calls
/// it `timeout`, and so must its errors.
fn rename(error: ConfigError) -> ConfigError {
    if error.field() == "open_duration" {
        ConfigError::new("timeout", error.reason())
    } else if error.reason() == "must not be below open_duration" {
        ConfigError::new(error.field(), "must not be below timeout")
    } else {
        error
    }
}

fn window_len(window: Option<SlidingWindow>) -> Result<(), ConfigError> {
    match window {
        Some(SlidingWindow::Count { size }) if size > MAX_WINDOW_LEN => {
            Err(ConfigError::new("window_size", "must be at most 1048576"))
        }
        Some(SlidingWindow::Time { buckets, .. }) if buckets > MAX_WINDOW_LEN => Err(
            ConfigError::new("window_buckets", "must be at most 1048576"),
        ),
        _ => Ok(()),
    }
}
