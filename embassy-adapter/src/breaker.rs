//! The circuit breaker for async calls: the core's state machine, read with
//! [`EmbassyClock`], with an optional [`Listener`] for its events.

use core::fmt;
use core::future::Future;
use core::time::Duration;

use seawall_core::breaker::{
    self as core_breaker, BreakerConfig, NoWindow, Outcome, Permit, Rejection, State, Transition,
    Window, WindowTotals,
};
use seawall_core::stats::Stats;
use seawall_core::time::{Clock, Instant};

use crate::classify::{Classify, ErrorsAreFailures};
use crate::clock::{EmbassyClock, to_embassy_duration};
use crate::error::Error;
use crate::timeout::Elapsed;

/// Receives a breaker's events as they happen: the firmware's logs and metrics.
///
/// Every method has an empty default, so a listener implements only what it
/// needs. The breaker holds its listener by value: a zero-sized listener (the
/// usual case, writing to a `static` or a logger) costs no RAM, and the `()`
/// listener compiles away entirely. Methods run inside the call that caused the
/// event, so they should be short.
///
/// ```
/// use seawall_embassy::{Listener, Transition};
///
/// struct Log;
///
/// impl Listener for Log {
///     fn on_transition(&self, transition: Transition) {
///         // defmt::info!("breaker {}", transition.to.as_str());
///         let _ = transition;
///     }
/// }
/// ```
pub trait Listener {
    /// The breaker changed state: `from -> to`.
    fn on_transition(&self, transition: Transition) {
        let _ = transition;
    }

    /// A call was rejected without running.
    fn on_rejection(&self, rejection: &Rejection) {
        let _ = rejection;
    }
}

/// The listener that ignores every event.
impl Listener for () {}

/// A circuit breaker whose calls are futures, meant to live in a `static` and
/// be shared by every task that calls the same dependency.
///
/// It is the core's [`seawall_core::CircuitBreaker`], read with
/// [`EmbassyClock`]: `W` is its sliding window ([`NoWindow`] for the
/// consecutive-failure rule) and `L` its [`Listener`]. Every constructor is
/// `const`, and so is the configuration's builder, so an invalid configuration
/// fails the build rather than the firmware.
///
/// A call's future holds its permit while the call runs. Dropping the future
/// (a `select` that chose another branch, a task that was cancelled) releases
/// the permit unrecorded: a half-open probe slot is never left taken.
///
/// ```
/// use core::time::Duration;
/// use seawall_embassy::{BreakerConfig, CircuitBreaker, Error};
///
/// static CONFIG: BreakerConfig = match BreakerConfig::builder()
///     .failure_threshold(3)
///     .open_duration(Duration::from_secs(5))
///     .build()
/// {
///     Ok(config) => config,
///     Err(_) => panic!("invalid breaker configuration"),
/// };
/// static SENSOR: CircuitBreaker = CircuitBreaker::new(&CONFIG);
///
/// async fn read_sensor() -> Result<u16, ()> { Ok(42) }
///
/// async fn sample() -> Result<u16, Error<()>> {
///     SENSOR.call_with_timeout(Duration::from_millis(20), || read_sensor()).await
/// }
/// ```
pub struct CircuitBreaker<W: Window = NoWindow, L: Listener = ()> {
    inner: core_breaker::CircuitBreaker<&'static BreakerConfig, W>,
    listener: L,
}

impl CircuitBreaker<NoWindow, ()> {
    /// A breaker that trips on `failure_threshold` consecutive failures.
    pub const fn new(config: &'static BreakerConfig) -> Self {
        Self::with_listener(config, NoWindow, ())
    }
}

impl<W: Window> CircuitBreaker<W, ()> {
    /// A breaker whose trip rule is decided by `window` (see
    /// [`seawall_core::CircuitBreaker::with_window`]).
    pub const fn with_window(config: &'static BreakerConfig, window: W) -> Self {
        Self::with_listener(config, window, ())
    }
}

impl<W: Window, L: Listener> CircuitBreaker<W, L> {
    /// A breaker with a window (pass [`NoWindow`] for the consecutive rule) and
    /// a listener for its events.
    pub const fn with_listener(config: &'static BreakerConfig, window: W, listener: L) -> Self {
        Self {
            inner: core_breaker::CircuitBreaker::with_window(config, window),
            listener,
        }
    }

    /// Runs the call `f` makes if the breaker lets it through; an `Err` counts
    /// as a failure, an `Ok` as a success.
    ///
    /// A rejected call does not run: [`Error::Rejected`] says when to try again.
    pub fn call<T, E, F, Fut>(&self, f: F) -> impl Future<Output = Result<T, Error<E>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        // Not an `async fn`: returning the inner future keeps one state
        // machine instead of two nested ones; `NoLimit` leaves the timeout's
        // code and state out of it.
        self.run(NoLimit, ErrorsAreFailures, f)
    }

    /// [`call`](Self::call) with a time limit: a call still running after
    /// `limit` is dropped, counted as a failure and returned as
    /// [`Error::Timeout`].
    pub fn call_with_timeout<T, E, F, Fut>(
        &self,
        limit: Duration,
        f: F,
    ) -> impl Future<Output = Result<T, Error<E>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run(limit, ErrorsAreFailures, f)
    }

    /// The general call: an optional time `limit`, and a [`Classify`]
    /// deciding what each result means to the breaker:
    /// `Some(Outcome::Failure)` counts against the dependency,
    /// `Some(Outcome::Success)` for it, and `None` counts as neither (an error
    /// that says nothing about the dependency, such as a caller's bad
    /// argument). A timeout always counts as a failure.
    ///
    /// Around calls made through other seawall policies (a rate limiter, a
    /// bulkhead), classify with [`Composed`](seawall_core::compose::Composed):
    /// their refusals then count as nothing and a timeout as a failure, as the
    /// core's composition table says; [`Error::flatten`] makes the nested
    /// error one level again.
    ///
    /// ```
    /// use seawall_embassy::core::compose::Composed;
    /// use seawall_embassy::{CircuitBreaker, Error, RateLimiter};
    ///
    /// async fn send(modem: &CircuitBreaker, uplink: &RateLimiter) -> Result<(), Error<()>> {
    ///     modem
    ///         .call_with(None, Composed, || uplink.call(|| async { Ok(()) }))
    ///         .await
    ///         .map_err(Error::flatten)
    /// }
    /// ```
    ///
    /// ```
    /// use seawall_embassy::{CircuitBreaker, Error, Outcome};
    ///
    /// enum Bus { Nack, BadRegister }
    ///
    /// async fn read(breaker: &CircuitBreaker, register: u8) -> Result<u8, Error<Bus>> {
    ///     let classifier = |result: &Result<u8, Bus>| match result {
    ///         Ok(_) => Some(Outcome::Success),
    ///         Err(Bus::Nack) => Some(Outcome::Failure),
    ///         Err(Bus::BadRegister) => None, // our mistake, not the device's
    ///     };
    ///     breaker.call_with(None, classifier, || async move {
    ///         if register > 0x7f { Err(Bus::BadRegister) } else { Ok(register) }
    ///     }).await
    /// }
    /// ```
    pub fn call_with<T, E, F, Fut, K>(
        &self,
        limit: Option<Duration>,
        classifier: K,
        f: F,
    ) -> impl Future<Output = Result<T, Error<E>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
    {
        self.run(limit, classifier, f)
    }

    /// Every call: compiled once per kind of time limit, so a call without a
    /// timeout carries none of a timeout's code or state.
    async fn run<T, E, F, Fut, K, D>(&self, limit: D, classifier: K, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
        D: TimeLimit,
    {
        let (permit, started) = self.acquire()?;
        let result = match limit.run(f()).await {
            Ok(result) => result,
            Err(elapsed) => {
                self.finish(permit, Some(Outcome::Failure), started);
                return Err(Error::Timeout(elapsed));
            }
        };
        self.finish(permit, classifier.classify(&result), started);
        result.map_err(Error::Inner)
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.inner.state()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// The configuration.
    pub fn config(&self) -> &BreakerConfig {
        self.inner.config()
    }

    /// The outcomes in the sliding window now (all zero without a window).
    pub fn window_totals(&self) -> WindowTotals {
        self.inner.window_totals(&EmbassyClock)
    }

    /// The listener.
    pub fn listener(&self) -> &L {
        &self.listener
    }

    /// The core's breaker, for what this adapter does not wrap (permits by hand).
    /// Transitions caused through it do not reach the listener.
    pub fn core(&self) -> &core_breaker::CircuitBreaker<&'static BreakerConfig, W> {
        &self.inner
    }

    /// Opens the breaker until [`reset`](Self::reset) or [`disable`](Self::disable).
    pub fn force_open(&self) -> Option<Transition> {
        self.notify(self.inner.force_open())
    }

    /// Lets every call through and counts it, without ever tripping, until
    /// [`reset`](Self::reset) or [`force_open`](Self::force_open).
    pub fn disable(&self) -> Option<Transition> {
        self.notify(self.inner.disable())
    }

    /// Closes the breaker and clears its failures and window; the statistics stay.
    pub fn reset(&self) -> Option<Transition> {
        self.notify(self.inner.reset())
    }

    /// A permit and the time it was granted, or the rejection, with the events
    /// sent to the listener. Not generic over the call, so it is compiled once
    /// per breaker type rather than once per call site.
    fn acquire(&self) -> Result<(Permit<'_, &'static BreakerConfig, W>, Instant), Rejection> {
        // One clock read serves the decision and the latency measurement.
        let now = EmbassyClock.now();
        match self.inner.try_acquire(&now) {
            Ok(permit) => {
                self.notify(permit.transition());
                Ok((permit, now))
            }
            Err(rejection) => {
                self.notify(rejection.transition());
                self.listener.on_rejection(&rejection);
                Err(rejection)
            }
        }
    }

    /// Records `outcome` with the call's latency, or releases the permit when
    /// the call counts as neither success nor failure.
    fn finish(
        &self,
        permit: Permit<'_, &'static BreakerConfig, W>,
        outcome: Option<Outcome>,
        started: Instant,
    ) {
        match outcome {
            Some(outcome) => {
                let now = EmbassyClock.now();
                self.notify(permit.record(outcome, Some(now - started), &now));
            }
            None => permit.release(),
        }
    }

    fn notify(&self, transition: Option<Transition>) -> Option<Transition> {
        if let Some(transition) = transition {
            self.listener.on_transition(transition);
        }
        transition
    }
}

/// How long a call may run.
trait TimeLimit {
    /// Runs `call` within the limit.
    fn run<Fut: Future>(self, call: Fut) -> impl Future<Output = Result<Fut::Output, Elapsed>>;
}

/// No limit: the call runs as long as it takes.
struct NoLimit;

impl TimeLimit for NoLimit {
    async fn run<Fut: Future>(self, call: Fut) -> Result<Fut::Output, Elapsed> {
        Ok(call.await)
    }
}

impl TimeLimit for Duration {
    async fn run<Fut: Future>(self, call: Fut) -> Result<Fut::Output, Elapsed> {
        embassy_time::with_timeout(to_embassy_duration(self), call)
            .await
            .map_err(|embassy_time::TimeoutError| Elapsed::new(self))
    }
}

impl TimeLimit for Option<Duration> {
    async fn run<Fut: Future>(self, call: Fut) -> Result<Fut::Output, Elapsed> {
        match self {
            Some(limit) => limit.run(call).await,
            None => Ok(call.await),
        }
    }
}

impl<W: Window, L: Listener> fmt::Debug for CircuitBreaker<W, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
