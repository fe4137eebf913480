//! Time for tokio services: the core's [`Clock`] over `tokio::time::Instant`.
//!
//! Every breaker reads tokio's clock, so `tokio::time::pause()` and
//! `#[tokio::test(start_paused = true)]` make tests exact. The core reads the
//! clock only when a decision needs it: a call in the Closed state of a
//! consecutive-failure breaker reads none.
//!
//! # The real-time shortcut
//!
//! One hot path does read the clock: rejecting a call while the breaker is Open
//! (the core compares the time with the end of the open duration). Reading
//! `tokio::time::Instant::now()` costs a `clock_gettime(CLOCK_MONOTONIC)`, about
//! 25-35 ns, more than the rest of the rejection together. Where tokio's clock
//! cannot be paused, that is on a multi-thread runtime or outside any runtime,
//! tokio's time *is* the system's monotonic time, and on Linux the kernel keeps a
//! coarse copy of it (`CLOCK_MONOTONIC_COARSE`, read in about 4 ns without a
//! system call, at the resolution of the kernel's tick: 1 to 4 ms). A breaker
//! therefore looks at the runtime each time the core reads its clock while
//! recording an outcome (a trip, a probe; never on the hot path), and remembers
//! whether that runtime can pause time; rejections read the coarse clock when it
//! cannot. On a current-thread runtime (the one `#[tokio::test]` uses, the only
//! one whose time can be paused) every read is tokio's own, so paused tests stay
//! exact to the nanosecond.
//!
//! In real time, then, an open duration can last up to one kernel tick longer
//! than configured, and `retry_after` can be up to one tick long. A breaker is
//! meant to be used from one runtime; sharing one between a paused test runtime
//! and a multi-thread runtime at the same time mixes two time scales.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use seawall_core::time::{Clock, Instant};

/// The core instant of [`ORIGIN`]: instants before it (a paused tokio clock can
/// stand before the moment seawall first read the time) stay representable.
const OFFSET: u64 = 1 << 62;

/// The origin of every breaker's time scale: one moment, read once per process.
struct Origin {
    std: std::time::Instant,
    /// The same moment on the kernel's monotonic scale, in nanoseconds.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    monotonic: i64,
}

static ORIGIN: OnceLock<Origin> = OnceLock::new();

fn origin() -> &'static Origin {
    ORIGIN.get_or_init(|| Origin {
        std: std::time::Instant::now(),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        monotonic: timespec_nanos(rustix::time::clock_gettime(
            rustix::time::ClockId::Monotonic,
        )),
    })
}

/// Nanoseconds of a monotonic timespec: `i64` holds 292 years of uptime.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
#[allow(clippy::useless_conversion)] // `tv_nsec` is an `i32` on some 32-bit targets
fn timespec_nanos(t: rustix::time::Timespec) -> i64 {
    t.tv_sec
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(t.tv_nsec))
}

/// `OFFSET + nanos`, saturating in both directions.
fn shifted(nanos: i128) -> Instant {
    let value = i128::from(OFFSET) + nanos;
    Instant::from_nanos(value.clamp(0, i128::from(u64::MAX)) as u64)
}

/// Converts a tokio instant to the core's scale.
pub(crate) fn to_core(instant: tokio::time::Instant) -> Instant {
    let origin = origin().std;
    let instant = instant.into_std();
    match instant.checked_duration_since(origin) {
        Some(after) => shifted(after.as_nanos() as i128),
        None => shifted(-(origin.duration_since(instant).as_nanos() as i128)),
    }
}

/// The core's [`Clock`] over tokio's clock: `tokio::time::Instant::now()`, so
/// paused time (`tokio::time::pause`, `advance`) is seen exactly.
///
/// Breakers, retries and rate limiters use it by default; it is public for code
/// that drives the core's state machines directly.
///
/// One shortcut: a breaker that last recorded an outcome on a multi-thread
/// runtime (or outside any runtime), where tokio's clock cannot be paused and
/// *is* the system's monotonic clock, rejects calls while Open by reading the
/// kernel's coarse monotonic clock (`CLOCK_MONOTONIC_COARSE` on Linux: about
/// 4 ns instead of about 30, at the resolution of a kernel tick, 1 to 4 ms). An
/// open duration then lasts up to one tick longer than configured. On a
/// current-thread runtime, the only kind whose time can be paused, every read is
/// tokio's own. A breaker is meant to be used from one runtime: sharing one
/// between a paused test runtime and a multi-thread runtime mixes two time scales.
///
/// ```
/// use std::time::Duration;
/// use seawall::TokioClock;
/// use seawall::core::Clock;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let before = TokioClock.now();
/// tokio::time::advance(Duration::from_secs(5)).await;
/// assert_eq!(TokioClock.now() - before, Duration::from_secs(5));
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TokioClock;

impl Clock for TokioClock {
    #[inline]
    fn now(&self) -> Instant {
        to_core(tokio::time::Instant::now())
    }
}

/// The system's monotonic time, read cheaply at tick resolution, on the scale
/// of [`TokioClock`] when tokio's clock is not paused.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn coarse_now() -> Instant {
    let now = timespec_nanos(rustix::time::clock_gettime(
        rustix::time::ClockId::MonotonicCoarse,
    ));
    // OFFSET (2^62) plus or minus less than 2^62 ns: no overflow, no clamp.
    let since_origin = now.saturating_sub(origin().monotonic);
    Instant::from_nanos(OFFSET.saturating_add_signed(since_origin))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[inline]
fn coarse_now() -> Instant {
    TokioClock.now()
}

/// Whether tokio's clock, seen from here, is the system's: true outside any
/// runtime and on a multi-thread runtime (time can be paused only on a
/// current-thread runtime).
fn clock_is_real_time() -> bool {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread,
        Err(_) => true,
    }
}

/// Where a breaker reads its time.
pub(crate) enum TimeSource {
    /// Tokio's clock, with the real-time shortcut for rejections.
    Tokio {
        /// Whether the last recording read happened where tokio's clock is real time.
        real_time: AtomicBool,
    },
    /// A clock chosen by the user (a `ManualClock` in tests, say).
    Custom(Arc<dyn Clock + Send + Sync>),
}

impl TimeSource {
    pub(crate) fn tokio() -> Self {
        TimeSource::Tokio {
            real_time: AtomicBool::new(false),
        }
    }

    /// The clock for `try_acquire`: reads the coarse clock if the breaker was
    /// last seen on a runtime whose time cannot be paused.
    #[inline]
    pub(crate) fn for_acquire(&self) -> AcquireClock<'_> {
        AcquireClock(self)
    }

    /// The clock for recording outcomes: looks at the runtime whenever the core
    /// reads it, and remembers the answer for the next rejections.
    #[inline]
    pub(crate) fn for_record(&self) -> RecordClock<'_> {
        RecordClock(self)
    }

    /// A precise reading, for measuring a call's latency.
    #[inline]
    pub(crate) fn precise_now(&self) -> Instant {
        match self {
            TimeSource::Tokio { .. } => TokioClock.now(),
            TimeSource::Custom(clock) => clock.now(),
        }
    }
}

impl std::fmt::Debug for TimeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeSource::Tokio { real_time } => f
                .debug_struct("Tokio")
                .field("real_time", &real_time.load(Ordering::Relaxed))
                .finish(),
            TimeSource::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// See [`TimeSource::for_acquire`].
pub(crate) struct AcquireClock<'a>(&'a TimeSource);

impl Clock for AcquireClock<'_> {
    #[inline]
    fn now(&self) -> Instant {
        match self.0 {
            TimeSource::Tokio { real_time } => {
                if real_time.load(Ordering::Relaxed) {
                    coarse_now()
                } else {
                    TokioClock.now()
                }
            }
            TimeSource::Custom(clock) => clock.now(),
        }
    }
}

/// See [`TimeSource::for_record`].
pub(crate) struct RecordClock<'a>(&'a TimeSource);

impl Clock for RecordClock<'_> {
    fn now(&self) -> Instant {
        match self.0 {
            TimeSource::Tokio { real_time } => {
                let real = clock_is_real_time();
                if real_time.load(Ordering::Relaxed) != real {
                    real_time.store(real, Ordering::Relaxed);
                }
                if real { coarse_now() } else { TokioClock.now() }
            }
            TimeSource::Custom(clock) => clock.now(),
        }
    }
}

/// `later - earlier` as a latency.
pub(crate) fn elapsed(earlier: Instant, later: Instant) -> Duration {
    later.saturating_duration_since(earlier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_before_the_origin_stay_ordered() {
        let now = tokio::time::Instant::now();
        let earlier = now - Duration::from_secs(1);
        let _ = origin();
        assert_eq!(to_core(now) - to_core(earlier), Duration::from_secs(1));
        assert!(to_core(earlier) < to_core(now));
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn the_coarse_clock_is_on_the_tokio_scale() {
        // The coarse clock shows the precise one as of the last kernel tick (two
        // ticks of slack for a tick that is late).
        let tick = rustix::time::clock_getres(rustix::time::ClockId::MonotonicCoarse);
        let tick = Duration::new(tick.tv_sec as u64, tick.tv_nsec as u32);
        let before = TokioClock.now();
        let coarse = coarse_now();
        let after = TokioClock.now();
        assert!(coarse <= after, "{coarse:?} > {after:?}");
        assert!(
            coarse + 2 * tick >= before,
            "{coarse:?} + 2 * {tick:?} < {before:?}"
        );
    }

    #[test]
    fn real_time_is_detected_from_the_runtime() {
        assert!(clock_is_real_time());
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(!current.block_on(async { clock_is_real_time() }));
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        assert!(multi.block_on(async { clock_is_real_time() }));
    }

    #[test]
    fn recording_reads_remember_the_runtime() {
        let source = TimeSource::tokio();
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        multi.block_on(async { source.for_record().now() });
        assert!(
            matches!(&source, TimeSource::Tokio { real_time } if real_time.load(Ordering::Relaxed))
        );
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        current.block_on(async { source.for_record().now() });
        assert!(
            matches!(&source, TimeSource::Tokio { real_time } if !real_time.load(Ordering::Relaxed))
        );
    }
}
