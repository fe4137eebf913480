//! Client-side rate adaptation on throttling errors: the AWS SDKs' adaptive
//! retry mode, a token bucket whose rate follows CUBIC.
//!
//! Until the first throttling error the bucket is off and every attempt goes
//! at once. A throttling error turns it on and cuts the rate to `beta` (0.7)
//! times the rate the client was sending at; from there the rate grows back
//! along CUBIC's curve, `C * (t - K)^3 + W_max`, where `W_max` is the rate at the
//! last throttle and `K = cbrt(W_max * (1 - beta) / C)` is when it gets back there
//! (`C` = 0.4). Each response also measures the sending rate (counted in
//! half-second buckets, smoothed by 0.8), and the rate is never set above twice
//! what was measured, so an idle client does not bank a rate it never used.
//!
//! The rules are [`RateState`]'s, a plain value; [`AdaptiveRate`] keeps one in
//! atomics for many threads. The numbers are those of the SDKs, to the last
//! digit: the tests replay the AWS SDK for Rust's recorded sequence.

use core::time::Duration;

use crate::error::ConfigError;
use crate::sync::{AtomicBool, AtomicU64, Ordering};
use crate::time::{Clock, Instant};

/// The constants of the adaptive rate (the AWS SDKs' by default).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct AdaptiveRateConfig {
    /// The factor the rate is cut by on a throttling error, in (0, 1)
    /// (default 0.7).
    pub beta: f64,
    /// CUBIC's scale constant `C`: how fast the rate grows back, more than zero
    /// (default 0.4).
    pub scale: f64,
    /// The weight of the latest half-second in the measured sending rate, in
    /// (0, 1] (default 0.8).
    pub smoothing: f64,
    /// The lowest rate, in attempts per second, more than zero (default 0.5).
    pub min_rate: f64,
}

impl AdaptiveRateConfig {
    /// beta 0.7, C 0.4, smoothing 0.8, at least 0.5 attempts a second.
    pub const DEFAULT: AdaptiveRateConfig = AdaptiveRateConfig {
        beta: 0.7,
        scale: 0.4,
        smoothing: 0.8,
        min_rate: 0.5,
    };

    /// Checks every constant.
    pub const fn validate(&self) -> Result<(), ConfigError> {
        // Written so that NaN fails too.
        if !(self.beta > 0.0 && self.beta < 1.0) {
            return Err(ConfigError::new("beta", "must be in (0, 1)"));
        }
        if !(self.scale > 0.0 && self.scale.is_finite()) {
            return Err(ConfigError::new(
                "scale",
                "must be a finite number above zero",
            ));
        }
        if !(self.smoothing > 0.0 && self.smoothing <= 1.0) {
            return Err(ConfigError::new("smoothing", "must be in (0, 1]"));
        }
        if !(self.min_rate > 0.0 && self.min_rate.is_finite()) {
            return Err(ConfigError::new(
                "min_rate",
                "must be a finite number above zero",
            ));
        }
        Ok(())
    }
}

impl Default for AdaptiveRateConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The state of an adaptive rate, and its rules. Times are seconds since the
/// rate's start (`origin`): its creation, or its first use.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RateState {
    /// The start of the rate's time scale, in the clock's nanoseconds
    /// (`u64::MAX`: at the first use).
    pub origin: u64,
    /// The rate the bucket refills at, attempts per second.
    pub fill_rate: f64,
    /// The most tokens the bucket holds.
    pub max_capacity: f64,
    /// The tokens in the bucket.
    pub capacity: f64,
    /// When the bucket was last refilled (NaN: never).
    pub last_refill: f64,
    /// Whether the bucket paces attempts (after the first throttling error).
    pub enabled: bool,
    /// The measured, smoothed sending rate.
    pub measured_rate: f64,
    /// The start of the half-second the responses are being counted in.
    pub rate_bucket: f64,
    /// Responses counted in that half-second.
    pub request_count: u64,
    /// The rate at the last throttling error (CUBIC's `W_max`).
    pub last_max_rate: f64,
    /// When the last throttling error came.
    pub last_throttle: f64,
}

impl RateState {
    /// A client that has sent nothing yet; its time starts at its first use.
    pub const INITIAL: RateState = RateState {
        origin: u64::MAX,
        fill_rate: 0.0,
        max_capacity: f64::MAX,
        capacity: 0.0,
        last_refill: f64::NAN,
        enabled: false,
        measured_rate: 0.0,
        rate_bucket: 0.0,
        request_count: 0,
        last_max_rate: 0.0,
        last_throttle: 0.0,
    };

    /// A client that has sent nothing yet, created at `now` (the AWS SDKs'
    /// `ClientRateLimiter::new(now)`).
    pub const fn starting_at(now: Instant) -> Self {
        RateState {
            origin: now.as_nanos(),
            ..Self::INITIAL
        }
    }

    /// Asks to send one attempt at `now`: granted, or the wait until a token is
    /// there (the bucket is left as it was; ask again after the wait).
    pub fn acquire(&mut self, now: Instant) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        const COST: f64 = 1.0;
        let t = self.seconds(now);
        self.refill(t);
        if self.capacity >= COST {
            self.capacity -= COST;
            return Ok(());
        }
        let wait = (COST - self.capacity) / self.fill_rate;
        match Duration::try_from_secs_f64(wait) {
            // A shortfall of less than a nanosecond is no shortfall: granting it
            // (and never going below zero) keeps a caller from spinning on zero
            // waits.
            Ok(Duration::ZERO) => {
                self.capacity = (self.capacity - COST).max(0.0);
                Ok(())
            }
            Ok(wait) => Err(wait),
            Err(_) => Err(Duration::MAX),
        }
    }

    /// Learns from a response at `now`: `throttled` when the dependency asked
    /// to slow down.
    pub fn on_response(&mut self, config: &AdaptiveRateConfig, now: Instant, throttled: bool) {
        let t = self.seconds(now);
        self.measure(config, now);
        let rate = if throttled {
            let rate = if self.enabled {
                self.measured_rate.min(self.fill_rate)
            } else {
                self.measured_rate
            };
            self.last_max_rate = rate;
            self.last_throttle = t;
            self.enabled = true;
            rate * config.beta
        } else {
            let k = cbrt(self.last_max_rate * (1.0 - config.beta) / config.scale);
            let dt = t - self.last_throttle - k;
            config.scale * (dt * dt * dt) + self.last_max_rate
        };
        let rate = rate.min(2.0 * self.measured_rate);
        self.refill(t);
        self.fill_rate = rate.max(config.min_rate);
        self.max_capacity = rate.max(1.0);
        self.capacity = self.capacity.min(self.max_capacity);
    }

    fn refill(&mut self, t: f64) {
        // Never refilled: nothing to add yet.
        if !self.last_refill.is_nan() {
            let added = (t - self.last_refill) * self.fill_rate;
            self.capacity = self.max_capacity.min(self.capacity + added);
        }
        self.last_refill = t;
    }

    /// Seconds since the origin (which the first use sets); a clock that went
    /// back before it reads zero.
    fn seconds(&mut self, now: Instant) -> f64 {
        if self.origin == u64::MAX {
            self.origin = now.as_nanos();
        }
        now.as_nanos().saturating_sub(self.origin) as f64 / 1e9
    }

    fn measure(&mut self, config: &AdaptiveRateConfig, now: Instant) {
        // Half-second buckets, in integers: floor(t * 2) / 2.
        let since = now.as_nanos().saturating_sub(self.origin);
        let bucket = (since / 500_000_000) as f64 * 0.5;
        self.request_count += 1;
        if bucket > self.rate_bucket {
            let rate = self.request_count as f64 / (bucket - self.rate_bucket);
            self.measured_rate =
                rate * config.smoothing + self.measured_rate * (1.0 - config.smoothing);
            self.request_count = 0;
            self.rate_bucket = bucket;
        }
    }
}

/// The cube root of `x` (at least 0), to within a unit in the last place:
/// `f64::cbrt` is not in `core`, and Newton's method gives the same bits on
/// every platform.
fn cbrt(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    if x.is_infinite() {
        return x;
    }
    // An estimate from the exponent bits, within a few percent, then Newton.
    let mut y = f64::from_bits(x.to_bits() / 3 + 0x2A9F_7893_782D_A1CE);
    for _ in 0..6 {
        y -= (y * y * y - x) / (3.0 * y * y);
    }
    y
}

/// An adaptive rate shared by the calls to one dependency: a [`RateState`] in
/// atomics.
///
/// Each attempt asks [`try_acquire`](Self::try_acquire) first (and waits what
/// it answers before asking again); each response goes to
/// [`on_response`](Self::on_response). The state is read and written under a
/// flag held for a few dozen arithmetic operations, as the SDKs hold a mutex:
/// no caller waits longer, and nothing is held across a wait. (On a
/// microcontroller, do not share one between an interrupt handler and the code
/// it interrupts.)
///
/// ```
/// use core::time::Duration;
/// use seawall_core::retry::{AdaptiveRate, AdaptiveRateConfig};
/// use seawall_core::time::ManualClock;
///
/// let rate = AdaptiveRate::new(AdaptiveRateConfig::DEFAULT).unwrap();
/// let clock = ManualClock::new();
/// // Ten attempts a second, all answered: nothing is paced.
/// for _ in 0..30 {
///     assert!(rate.try_acquire(&clock).is_ok());
///     rate.on_response(&clock, false);
///     clock.advance(Duration::from_millis(100));
/// }
/// // A throttling error: the rate drops to 0.7 times what was sent.
/// rate.on_response(&clock, true);
/// assert!(rate.is_enabled());
/// assert!(rate.fill_rate() < 10.0 * 0.7 + 0.01);
/// assert_eq!(rate.throttled(), 1);
/// ```
#[derive(Debug)]
pub struct AdaptiveRate {
    config: AdaptiveRateConfig,
    busy: AtomicBool,
    fields: [AtomicU64; FIELDS],
    throttled: AtomicU64,
    delayed: AtomicU64,
}

const FIELDS: usize = 11;

impl AdaptiveRate {
    /// A rate with `config`'s constants, off until the first throttling error;
    /// its time starts at its first use.
    #[cfg(not(loom))]
    pub const fn new(config: AdaptiveRateConfig) -> Result<Self, ConfigError> {
        Self::with_state(config, RateState::INITIAL)
    }

    /// A rate created at `now` (its time starts there, as the SDKs' does).
    #[cfg(not(loom))]
    pub const fn starting_at(
        config: AdaptiveRateConfig,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        Self::with_state(config, RateState::starting_at(now))
    }

    #[cfg(not(loom))]
    const fn with_state(config: AdaptiveRateConfig, state: RateState) -> Result<Self, ConfigError> {
        if let Err(error) = config.validate() {
            return Err(error);
        }
        let words = to_words(&state);
        let mut fields = [const { AtomicU64::new(0) }; FIELDS];
        let mut index = 0;
        while index < FIELDS {
            fields[index] = AtomicU64::new(words[index]);
            index += 1;
        }
        Ok(Self {
            config,
            busy: AtomicBool::new(false),
            fields,
            throttled: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
        })
    }

    /// A rate with `config`'s constants, off until the first throttling error.
    #[cfg(loom)]
    pub fn new(config: AdaptiveRateConfig) -> Result<Self, ConfigError> {
        Self::starting_at(config, Instant::from_nanos(u64::MAX))
    }

    /// A rate created at `now`.
    #[cfg(loom)]
    pub fn starting_at(config: AdaptiveRateConfig, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let words = to_words(&RateState::starting_at(now));
        Ok(Self {
            config,
            busy: AtomicBool::new(false),
            fields: core::array::from_fn(|index| AtomicU64::new(words[index])),
            throttled: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
        })
    }

    /// The constants.
    pub fn config(&self) -> &AdaptiveRateConfig {
        &self.config
    }

    /// Asks to send one attempt now: `Ok`, or how long to wait before asking
    /// again. Reads the clock once.
    pub fn try_acquire<K: Clock + ?Sized>(&self, clock: &K) -> Result<(), Duration> {
        if self.fields[ENABLED].load(Ordering::Acquire) == 0 {
            // The common case before any throttling: no lock, no clock.
            return Ok(());
        }
        let now = clock.now();
        let result = self.update(|state| state.acquire(now));
        if result.is_err() {
            self.delayed.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Learns from a response: `throttled` when the dependency asked to slow
    /// down. Reads the clock once.
    pub fn on_response<K: Clock + ?Sized>(&self, clock: &K, throttled: bool) {
        let now = clock.now();
        if throttled {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        }
        let config = self.config;
        self.update(|state| state.on_response(&config, now, throttled));
    }

    /// A copy of the state now.
    pub fn state(&self) -> RateState {
        self.update(|state| *state)
    }

    /// The rate attempts are paced at, per second, once enabled.
    pub fn fill_rate(&self) -> f64 {
        f64::from_bits(self.fields[FILL_RATE].load(Ordering::Acquire))
    }

    /// The measured sending rate, per second.
    pub fn measured_rate(&self) -> f64 {
        self.state().measured_rate
    }

    /// Whether attempts are paced (since the first throttling error).
    pub fn is_enabled(&self) -> bool {
        self.fields[ENABLED].load(Ordering::Acquire) != 0
    }

    /// Throttling responses seen.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// Attempts told to wait.
    pub fn delayed(&self) -> u64 {
        self.delayed.load(Ordering::Relaxed)
    }

    /// Back to the initial state: off until the next throttling error, its
    /// time starting again at its next use.
    pub fn reset(&self) {
        self.update(|state| *state = RateState::INITIAL);
    }

    /// Runs `f` on the state with the flag held.
    fn update<T>(&self, f: impl FnOnce(&mut RateState) -> T) -> T {
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
            #[cfg(loom)]
            loom::thread::yield_now();
        }
        let mut words = [0u64; FIELDS];
        for (word, field) in words.iter_mut().zip(&self.fields) {
            *word = field.load(Ordering::Relaxed);
        }
        let mut state = from_words(&words);
        let result = f(&mut state);
        for (word, field) in to_words(&state).into_iter().zip(&self.fields) {
            field.store(word, Ordering::Relaxed);
        }
        self.busy.store(false, Ordering::Release);
        result
    }
}

const FILL_RATE: usize = 0;
const ENABLED: usize = 4;

const fn to_words(state: &RateState) -> [u64; FIELDS] {
    [
        state.fill_rate.to_bits(),
        state.max_capacity.to_bits(),
        state.capacity.to_bits(),
        state.last_refill.to_bits(),
        state.enabled as u64,
        state.measured_rate.to_bits(),
        state.rate_bucket.to_bits(),
        state.request_count,
        state.last_max_rate.to_bits(),
        state.last_throttle.to_bits(),
        state.origin,
    ]
}

fn from_words(words: &[u64; FIELDS]) -> RateState {
    RateState {
        fill_rate: f64::from_bits(words[0]),
        max_capacity: f64::from_bits(words[1]),
        capacity: f64::from_bits(words[2]),
        last_refill: f64::from_bits(words[3]),
        enabled: words[4] != 0,
        measured_rate: f64::from_bits(words[5]),
        rate_bucket: f64::from_bits(words[6]),
        request_count: words[7],
        last_max_rate: f64::from_bits(words[8]),
        last_throttle: f64::from_bits(words[9]),
        origin: words[10],
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn at(seconds: f64) -> Instant {
        Instant::from_nanos((seconds * 1e9) as u64)
    }

    fn close(expected: f64, actual: f64) -> bool {
        (expected - actual).abs() <= 1e-12 * expected.abs().max(1.0)
    }

    /// The AWS SDK for Rust's `test_client_sending_rates` (ported there from the
    /// Go SDK's adaptive rate tests): a response every 200 ms, throttled at 2.0 s
    /// and 3.2 s, with the measured rate and the bucket's refill rate expected
    /// after each. Ours must give the same numbers (to 1e-12, the float
    /// operations being the same but for the cube root).
    #[test]
    fn matches_the_aws_sdk_recorded_sequence() {
        let config = AdaptiveRateConfig::DEFAULT;
        // Created at time 0, as the SDK's test's limiter is.
        let mut state = RateState::starting_at(Instant::ZERO);
        // (time, throttled, measured rate, refill rate)
        let sequence = [
            (0.2, false, 0.000000, 0.500000),
            (0.4, false, 0.000000, 0.500000),
            (0.6, false, 4.800000000000001, 0.500000),
            (0.8, false, 4.800000000000001, 0.500000),
            (1.0, false, 4.160000, 0.500000),
            (1.2, false, 4.160000, 0.691200),
            (1.4, false, 4.160000, 1.0975999999999997),
            (1.6, false, 5.632000000000001, 1.6384000000000005),
            (1.8, false, 5.632000000000001, 2.332800),
            (2.0, true, 4.326400, 3.0284799999999996),
            (2.2, false, 4.326400, 3.48663917347026),
            (2.4, false, 4.326400, 3.821874416040255),
            (2.6, false, 5.665280, 4.053385727709987),
            (2.8, false, 5.665280, 4.200373108479454),
            (3.0, false, 4.333056, 4.282036558348658),
            (3.2, true, 4.333056, 2.99742559084406),
            (3.4, false, 4.333056, 3.4522263943863463),
        ];
        for (t, throttled, measured, fill) in sequence {
            state.on_response(&config, at(t), throttled);
            assert!(close(measured, state.measured_rate), "{t}: {state:?}");
            assert!(close(fill, state.fill_rate), "{t}: {state:?}");
        }
    }

    /// The SDKs' CUBIC tests: at the throttle the rate is beta times the rate
    /// then, and it climbs back to it at time K (10 at K = 1.9574338205844317
    /// for a maximum of 10).
    #[test]
    fn cubic_reaches_the_old_maximum_at_k() {
        assert!(close(cbrt(10.0 * 0.3 / 0.4), 1.9574338205844317));
        assert!(close(cbrt(8.0 * 0.3 / 0.4), 1.8171205928321397));
        assert!(close(cbrt(27.0), 3.0));
        assert_eq!(cbrt(0.0), 0.0);
        assert_eq!(cbrt(-1.0), 0.0);
        assert_eq!(cbrt(f64::NAN), 0.0);
        assert_eq!(cbrt(f64::INFINITY), f64::INFINITY);
        let config = AdaptiveRateConfig::DEFAULT;
        let state = RateState {
            last_max_rate: 10.0,
            last_throttle: 5.0,
            measured_rate: 1e9, // no cap from the measured rate
            ..RateState::starting_at(Instant::ZERO)
        };
        // The AWS SDK for Rust's `test_calculated_rate_with_successes`.
        for (t, expected) in [
            (5.0, 7.0),
            (6.0, 9.64893600966),
            (7.0, 10.000030849917364),
            (8.0, 10.453284520772092),
        ] {
            let mut after = state;
            after.on_response(&config, at(t), false);
            assert!(
                (after.fill_rate - expected).abs() < 1e-9,
                "{t}: {}",
                after.fill_rate
            );
        }
    }

    #[test]
    fn the_bucket_paces_once_enabled() {
        let config = AdaptiveRateConfig::DEFAULT;
        let mut state = RateState::INITIAL;
        assert_eq!(state.acquire(at(0.0)), Ok(()), "off: no pacing");
        state.on_response(&config, at(0.0), true);
        assert!(state.enabled);
        assert_eq!(state.fill_rate, 0.5);
        // 0.1 s at 0.5 a second: 0.05 tokens, 1.9 s to go.
        let wait = state.acquire(at(0.1)).unwrap_err();
        assert!((wait.as_secs_f64() - 1.9).abs() < 1e-9, "{wait:?}");
        assert!(state.capacity >= 0.0);
        // Many waiters get the same answer: no cascade.
        assert_eq!(state.acquire(at(0.1)), Err(wait));
        assert_eq!(state.acquire(at(2.1)), Ok(()));
        assert!(state.capacity.abs() < 1e-9);
        // A shortfall below a nanosecond is granted, never below zero.
        state.capacity = 1.0 - 1e-12;
        state.last_refill = 0.5;
        assert_eq!(state.acquire(at(0.5)), Ok(()));
        assert_eq!(state.capacity, 0.0);
    }

    #[test]
    fn the_shared_rate_counts_and_resets() {
        let rate = AdaptiveRate::new(AdaptiveRateConfig::DEFAULT).unwrap();
        assert_eq!(rate.config(), &AdaptiveRateConfig::DEFAULT);
        assert!(rate.try_acquire(&Instant::ZERO).is_ok());
        rate.on_response(&Instant::ZERO, true);
        assert!(rate.is_enabled());
        assert!(rate.try_acquire(&at(0.1)).is_err());
        assert_eq!((rate.throttled(), rate.delayed()), (1, 1));
        assert_eq!(rate.state().fill_rate, rate.fill_rate());
        assert_eq!(rate.measured_rate(), 0.0);
        rate.reset();
        assert!(!rate.is_enabled());
        assert!(rate.try_acquire(&at(0.2)).is_ok());
    }

    #[test]
    fn every_invalid_field_is_named() {
        let d = AdaptiveRateConfig::DEFAULT;
        let field = |config: AdaptiveRateConfig| AdaptiveRate::new(config).unwrap_err().field();
        for bad in [0.0, 1.0, f64::NAN] {
            assert_eq!(field(AdaptiveRateConfig { beta: bad, ..d }), "beta");
        }
        for bad in [0.0, f64::INFINITY, f64::NAN] {
            assert_eq!(field(AdaptiveRateConfig { scale: bad, ..d }), "scale");
            assert_eq!(field(AdaptiveRateConfig { min_rate: bad, ..d }), "min_rate");
        }
        for bad in [0.0, 1.5, f64::NAN] {
            assert_eq!(
                field(AdaptiveRateConfig {
                    smoothing: bad,
                    ..d
                }),
                "smoothing"
            );
        }
    }
}
