//! A clock for scenarios whose results depend on the clock's absolute value.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use seawall::core::{Clock, Instant};

/// Paused tokio time, shifted to read the scenario's clock, plus `origin`: a
/// multiple of the time window's bucket (so buckets keep their boundaries) large
/// enough that a call can start "before" the scenario's time zero.
pub(crate) struct AlignedClock {
    origin: u64,
    base: tokio::time::Instant,
    /// Scenario milliseconds at `base`, in nanoseconds, adjusted by `set_time`
    /// and by latencies.
    shift: AtomicI64,
}

impl AlignedClock {
    pub(crate) fn new(start_ms: u64, bucket: Option<Duration>) -> Self {
        const SPAN: u64 = 10_000_000_000_000; // about 2.8 hours
        let origin = match bucket {
            Some(bucket) => SPAN.div_ceil(bucket.as_nanos() as u64) * bucket.as_nanos() as u64,
            None => SPAN,
        };
        Self {
            origin,
            base: tokio::time::Instant::now(),
            shift: AtomicI64::new(start_ms as i64 * 1_000_000),
        }
    }

    pub(crate) fn set(&self, ms: u64) {
        let elapsed = self.base.elapsed().as_nanos() as i64;
        self.shift
            .store(ms as i64 * 1_000_000 - elapsed, Ordering::SeqCst);
    }

    pub(crate) fn shift_back(&self, by: Duration) {
        self.shift.fetch_sub(by.as_nanos() as i64, Ordering::SeqCst);
    }
}

impl Clock for AlignedClock {
    fn now(&self) -> Instant {
        let nanos = self.base.elapsed().as_nanos() as i64 + self.shift.load(Ordering::SeqCst);
        Instant::from_nanos((self.origin as i64 + nanos).max(0) as u64)
    }
}
