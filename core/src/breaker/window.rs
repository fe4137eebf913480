//! Sliding windows for the rate rule: the last N calls, or the calls of the last
//! T seconds in fixed buckets.
//!
//! The core does not allocate, so a window's storage is handed in: an array
//! (`CountWindow::<[Slot; 100]>::new()`, `TimeWindow::<[Bucket; 10]>::new(..)`), or any
//! `AsRef<[Slot]>` / `AsRef<[Bucket]>` such as a `Box<[Slot]>` in an adapter that
//! has a heap. Windows are lock-free: totals are exact once concurrent recorders
//! have returned (a recorder that races with a reset may land its outcome in the
//! fresh window).

use core::time::Duration;

use crate::error::ConfigError;
use crate::slice::SliceCounter;
use crate::sync::{AtomicU8, AtomicU32, AtomicUsize, Ordering};
use crate::time::{Clock, Instant, duration_nanos};

/// The largest window an adapter allocates for a breaker: the most calls of a
/// count window, and the most buckets of a time window (1,048,576), in every
/// binding, so that a typo cannot allocate gigabytes.
pub const MAX_WINDOW_LEN: usize = 1 << 20;

/// Calls, failures and slow calls currently in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WindowTotals {
    /// Calls recorded in the window.
    pub calls: u32,
    /// Of those, failures.
    pub failed: u32,
    /// Of those, slow calls (successful or not).
    pub slow: u32,
}

impl WindowTotals {
    /// `failed / calls`, or 0 with no calls.
    pub fn failure_rate(&self) -> f64 {
        ratio(self.failed, self.calls)
    }

    /// `slow / calls`, or 0 with no calls.
    pub fn slow_call_rate(&self) -> f64 {
        ratio(self.slow, self.calls)
    }

    /// Clamps counts read from separate atomics mid-update into a consistent
    /// triple: never more failures or slow calls than calls.
    fn consistent(calls: u32, failed: u32, slow: u32) -> Self {
        Self {
            calls,
            failed: failed.min(calls),
            slow: slow.min(calls),
        }
    }
}

fn ratio(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        f64::from(part) / f64::from(whole)
    }
}

/// Where a breaker keeps the outcomes its trip rule looks at.
///
/// [`NoWindow`] selects the consecutive-failure rule; an active window selects
/// the rate rule. Implemented by the windows of this module; adapters rarely
/// need to implement it.
pub trait Window: Sync {
    /// Whether this window drives the rate rule (false: consecutive failures).
    fn is_active(&self) -> bool;

    /// The number of calls the window must hold before its rates count, given
    /// the configured `minimum_calls`.
    fn minimum_calls(&self, configured: u32) -> u32 {
        configured
    }

    /// Adds one outcome and returns the totals that now apply. Time-based
    /// windows read the clock; count-based ones do not.
    fn record<K: Clock + ?Sized>(&self, failed: bool, slow: bool, clock: &K) -> WindowTotals;

    /// The totals that apply now, without recording anything.
    fn totals<K: Clock + ?Sized>(&self, clock: &K) -> WindowTotals;

    /// Forgets every outcome.
    fn reset(&self);

    /// Counts a slow successful probe of round `generation`: with a window the
    /// slow-call rule looks at the probes too. The count is tagged with the
    /// round, so each round starts from zero on its own.
    fn slow_probe(&self, generation: u64) {
        let _ = generation;
    }

    /// The slow probes counted in round `generation`.
    fn slow_probes(&self, generation: u64) -> u32 {
        let _ = generation;
        0
    }
}

/// No window: the breaker trips on consecutive failures.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NoWindow;

impl Window for NoWindow {
    #[inline]
    fn is_active(&self) -> bool {
        false
    }
    #[inline]
    fn record<K: Clock + ?Sized>(&self, _: bool, _: bool, _: &K) -> WindowTotals {
        WindowTotals::default()
    }
    #[inline]
    fn totals<K: Clock + ?Sized>(&self, _: &K) -> WindowTotals {
        WindowTotals::default()
    }
    #[inline]
    fn reset(&self) {}
}

const RECORDED: u8 = 0b001;
const FAILED: u8 = 0b010;
const SLOW: u8 = 0b100;

/// One call's outcome in a [`CountWindow`] (one byte).
#[derive(Debug, Default)]
pub struct Slot(AtomicU8);

impl Slot {
    loom_const_fn! {
        /// An empty slot.
        pub fn new() -> Self {
            Slot(AtomicU8::new(0))
        }
    }
}

/// The last `N` calls: a ring of one-byte slots with running totals.
///
/// ```
/// use seawall_core::breaker::{CountWindow, Slot, Window};
/// use seawall_core::time::Instant;
///
/// let window = CountWindow::<[Slot; 4]>::new();
/// let now = Instant::ZERO;
/// for failed in [true, true, false, false, false] {
///     window.record(failed, false, &now);
/// }
/// let totals = window.totals(&now);
/// assert_eq!((totals.calls, totals.failed), (4, 1)); // the oldest failure left the window
/// ```
// In this order (`repr(C)`): the totals, read by every call and written only
// when an outcome leaves or enters the window, sit a window of slots away from
// `next`, which every call writes, so callers on other cores do not take
// their cache line back on every call (with 100 slots, more than a line apart,
// and no larger than in the compiler's order).
#[derive(Debug)]
#[repr(C)]
pub struct CountWindow<S = [Slot; 100]> {
    next: AtomicUsize,
    slots: S,
    calls: AtomicU32,
    failed: AtomicU32,
    slow: AtomicU32,
    probes: SliceCounter,
}

impl<const N: usize> CountWindow<[Slot; N]> {
    /// A window of the last `N` calls (`N` must be at least 1: checked at compile time).
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        const { assert!(N > 0, "a count window holds at least one call") };
        Self::from_slots([const { Slot::new() }; N])
    }

    /// A window of the last `N` calls.
    #[cfg(loom)]
    pub fn new() -> Self {
        assert!(N > 0, "a count window holds at least one call");
        Self::from_slots(core::array::from_fn(|_| Slot::new()))
    }
}

impl<const N: usize> Default for CountWindow<[Slot; N]> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: AsRef<[Slot]>> CountWindow<S> {
    /// A window of the last `slots.len()` calls, kept in `slots`.
    pub fn with_storage(slots: S) -> Result<Self, ConfigError> {
        if slots.as_ref().is_empty() {
            return Err(ConfigError::new("window_size", "must be at least 1"));
        }
        Ok(Self::from_slots(slots))
    }

    /// How many calls the window holds.
    pub fn size(&self) -> usize {
        self.slots.as_ref().len()
    }
}

impl<S> CountWindow<S> {
    loom_const_fn! {
        fn from_slots(slots: S) -> Self {
            Self {
                slots,
                next: AtomicUsize::new(0),
                calls: AtomicU32::new(0),
                failed: AtomicU32::new(0),
                slow: AtomicU32::new(0),
                probes: SliceCounter::new(),
            }
        }
    }
}

/// The calls a count window of `size` must hold before its rates count: the
/// configured `minimum_calls`, or the window's size if smaller (a window can
/// never hold more).
pub const fn count_minimum(configured: u32, size: usize) -> u32 {
    let size = if size > u32::MAX as usize {
        u32::MAX
    } else {
        size as u32
    };
    if configured < size { configured } else { size }
}

/// Applies `new - old` (each 0 or 1) to a running total.
fn apply(total: &AtomicU32, old: bool, new: bool) {
    match (old, new) {
        (false, true) => {
            total.fetch_add(1, Ordering::AcqRel);
        }
        (true, false) => {
            total.fetch_sub(1, Ordering::AcqRel);
        }
        _ => {}
    }
}

/// Reads a running total that may be transiently below zero (wrapping) while a
/// concurrent replacement is half applied.
fn read_total(total: &AtomicU32, cap: u32) -> u32 {
    let value = total.load(Ordering::Acquire);
    if value > i32::MAX as u32 {
        0
    } else {
        value.min(cap)
    }
}

impl<S: AsRef<[Slot]> + Sync> Window for CountWindow<S> {
    fn is_active(&self) -> bool {
        true
    }

    fn minimum_calls(&self, configured: u32) -> u32 {
        count_minimum(configured, self.size())
    }

    fn record<K: Clock + ?Sized>(&self, failed: bool, slow: bool, _: &K) -> WindowTotals {
        let slots = self.slots.as_ref();
        // The slot index wraps with the counter: on 32-bit targets, once every
        // 2^32 calls, one call replaces a slot out of turn.
        let index = self.next.fetch_add(1, Ordering::AcqRel) % slots.len();
        let new = RECORDED | if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
        // A slot that already holds this outcome (a run of successes, the
        // common case) is left alone: the load stands for a swap of the value
        // for itself, and two callers on one breaker do not take the slots'
        // cache line from each other on every call.
        let old = match slots[index].0.load(Ordering::Acquire) {
            same if same == new => same,
            _ => slots[index].0.swap(new, Ordering::AcqRel),
        };
        // Each swap adjusts the totals by exactly what it replaced, so the totals
        // equal the slots' contents once every recorder has returned.
        apply(&self.calls, old & RECORDED != 0, true);
        apply(&self.failed, old & FAILED != 0, failed);
        apply(&self.slow, old & SLOW != 0, slow);
        self.totals(&crate::time::Instant::ZERO)
    }

    fn totals<K: Clock + ?Sized>(&self, _: &K) -> WindowTotals {
        let size = self.size().min(u32::MAX as usize) as u32;
        let calls = read_total(&self.calls, size);
        WindowTotals::consistent(
            calls,
            read_total(&self.failed, size),
            read_total(&self.slow, size),
        )
    }

    fn reset(&self) {
        for slot in self.slots.as_ref() {
            slot.0.store(0, Ordering::Release);
        }
        self.next.store(0, Ordering::Release);
        self.calls.store(0, Ordering::Release);
        self.failed.store(0, Ordering::Release);
        self.slow.store(0, Ordering::Release);
    }

    fn slow_probe(&self, generation: u64) {
        self.probes.bump(generation as u32);
    }

    fn slow_probes(&self, generation: u64) -> u32 {
        self.probes.count_in(generation as u32, 1)
    }
}

/// The outcomes of one time slice of a [`TimeWindow`].
///
/// Each counter is one word, `epoch << 32 | count`, so a bucket that belongs to
/// an older slice resets itself in the same CAS that counts the new call.
#[derive(Debug, Default)]
pub struct Bucket {
    calls: SliceCounter,
    failed: SliceCounter,
    slow: SliceCounter,
}

impl Bucket {
    loom_const_fn! {
        /// An empty bucket.
        pub fn new() -> Self {
            Self { calls: SliceCounter::new(), failed: SliceCounter::new(), slow: SliceCounter::new() }
        }
    }
}

/// The calls of the last `window` duration, in `B` fixed buckets of `window / B`.
///
/// The window slides a bucket at a time: at any moment it covers between
/// `B - 1` and `B` buckets of time. Buckets are at least 1 ms long; a bucket
/// untouched for exactly a multiple of 2^32 bucket lengths (49 days for 1 ms
/// buckets) would be mistaken for a current one.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::breaker::{Bucket, TimeWindow, Window};
/// use seawall_core::time::Instant;
///
/// let window = TimeWindow::<[Bucket; 10]>::new(Duration::from_secs(10)).unwrap();
/// window.record(true, false, &Instant::from_secs(0));
/// window.record(false, false, &Instant::from_secs(5));
/// assert_eq!(window.totals(&Instant::from_secs(9)).calls, 2);
/// assert_eq!(window.totals(&Instant::from_secs(12)).calls, 1); // the first second slid out
/// ```
#[derive(Debug)]
pub struct TimeWindow<S = [Bucket; 10]> {
    buckets: S,
    slices: TimeSlices,
    probes: SliceCounter,
}

const MIN_BUCKET_NANOS: u64 = 1_000_000;

/// How a time window cuts time: the bucket a moment falls in, and the buckets
/// the window covers at a moment. [`TimeWindow`] counts in atomics; a store
/// that keeps a time window elsewhere (the tokio adapter's shared breaker
/// keeps it in Redis) cuts time the same way.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::breaker::TimeSlices;
/// use seawall_core::time::Instant;
///
/// let slices = TimeSlices::new(Duration::from_secs(10), 10).unwrap();
/// assert_eq!(slices.index(Instant::from_millis(12_500)), 12);
/// assert!(slices.covers(3, Instant::from_millis(12_500))); // seconds 3 to 12
/// assert!(!slices.covers(2, Instant::from_millis(12_500)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeSlices {
    bucket_nanos: u64,
    buckets: u64,
}

impl TimeSlices {
    /// The slices of a window over `window` in `buckets` buckets (at least
    /// one, each at least 1 ms long).
    pub const fn new(window: Duration, buckets: usize) -> Result<Self, ConfigError> {
        match bucket_nanos(window, buckets) {
            Ok(bucket_nanos) => Ok(Self {
                bucket_nanos,
                buckets: buckets as u64,
            }),
            Err(error) => Err(error),
        }
    }

    /// The bucket `now` falls in.
    pub const fn index(&self, now: Instant) -> u64 {
        now.as_nanos() / self.bucket_nanos
    }

    /// Whether the window covers bucket `index` at `now`: the current bucket
    /// and the `buckets - 1` before it.
    pub const fn covers(&self, index: u64, now: Instant) -> bool {
        let current = self.index(now);
        index <= current && current - index < self.buckets
    }

    /// The number of buckets.
    pub const fn buckets(&self) -> usize {
        self.buckets as usize
    }

    /// The length of one bucket.
    pub const fn bucket_duration(&self) -> Duration {
        Duration::from_nanos(self.bucket_nanos)
    }
}

const fn bucket_nanos(window: Duration, buckets: usize) -> Result<u64, ConfigError> {
    if buckets == 0 {
        return Err(ConfigError::new("window_buckets", "must be at least 1"));
    }
    if buckets > u32::MAX as usize {
        return Err(ConfigError::new(
            "window_buckets",
            "must be at most 4294967295",
        ));
    }
    let nanos = duration_nanos(window);
    if nanos == 0 {
        return Err(ConfigError::new(
            "window_duration",
            "must be greater than zero",
        ));
    }
    let per_bucket = nanos / buckets as u64;
    if per_bucket < MIN_BUCKET_NANOS {
        return Err(ConfigError::new(
            "window_duration",
            "must give each bucket at least 1 ms",
        ));
    }
    Ok(per_bucket)
}

impl<const B: usize> TimeWindow<[Bucket; B]> {
    /// A window over the last `window`, in `B` buckets.
    #[cfg(not(loom))]
    pub const fn new(window: Duration) -> Result<Self, ConfigError> {
        match TimeSlices::new(window, B) {
            Ok(slices) => Ok(Self {
                buckets: [const { Bucket::new() }; B],
                slices,
                probes: SliceCounter::new(),
            }),
            Err(error) => Err(error),
        }
    }

    /// A window over the last `window`, in `B` buckets.
    #[cfg(loom)]
    pub fn new(window: Duration) -> Result<Self, ConfigError> {
        Ok(Self {
            buckets: core::array::from_fn(|_| Bucket::new()),
            slices: TimeSlices::new(window, B)?,
            probes: SliceCounter::new(),
        })
    }
}

impl<S: AsRef<[Bucket]>> TimeWindow<S> {
    /// A window over the last `window`, in `buckets.len()` buckets kept in `buckets`.
    pub fn with_storage(buckets: S, window: Duration) -> Result<Self, ConfigError> {
        let slices = TimeSlices::new(window, buckets.as_ref().len())?;
        Ok(Self {
            buckets,
            slices,
            probes: SliceCounter::new(),
        })
    }

    /// The length of one bucket.
    pub fn bucket_duration(&self) -> Duration {
        self.slices.bucket_duration()
    }

    /// The duration the window covers.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(
            self.slices
                .bucket_nanos
                .saturating_mul(self.buckets.as_ref().len() as u64),
        )
    }

    /// How the window cuts time.
    pub fn slices(&self) -> TimeSlices {
        self.slices
    }

    fn slice(&self, clock: &(impl Clock + ?Sized)) -> (u64, u32) {
        let index = self.slices.index(clock.now());
        (index, index as u32)
    }
}

impl<S: AsRef<[Bucket]> + Sync> Window for TimeWindow<S> {
    fn is_active(&self) -> bool {
        true
    }

    fn record<K: Clock + ?Sized>(&self, failed: bool, slow: bool, clock: &K) -> WindowTotals {
        let buckets = self.buckets.as_ref();
        let (index, epoch) = self.slice(clock);
        let bucket = &buckets[(index % buckets.len() as u64) as usize];
        bucket.calls.bump(epoch);
        if failed {
            bucket.failed.bump(epoch);
        }
        if slow {
            bucket.slow.bump(epoch);
        }
        self.totals_at(epoch)
    }

    fn totals<K: Clock + ?Sized>(&self, clock: &K) -> WindowTotals {
        self.totals_at(self.slice(clock).1)
    }

    fn reset(&self) {
        for bucket in self.buckets.as_ref() {
            bucket.calls.clear();
            bucket.failed.clear();
            bucket.slow.clear();
        }
    }

    fn slow_probe(&self, generation: u64) {
        self.probes.bump(generation as u32);
    }

    fn slow_probes(&self, generation: u64) -> u32 {
        self.probes.count_in(generation as u32, 1)
    }
}

impl<S: AsRef<[Bucket]>> TimeWindow<S> {
    fn totals_at(&self, epoch: u32) -> WindowTotals {
        let buckets = self.buckets.as_ref();
        let len = buckets.len() as u32;
        let (mut calls, mut failed, mut slow) = (0u32, 0u32, 0u32);
        for bucket in buckets {
            calls = calls.saturating_add(bucket.calls.count_in(epoch, len));
            failed = failed.saturating_add(bucket.failed.count_in(epoch, len));
            slow = slow.saturating_add(bucket.slow.count_in(epoch, len));
        }
        WindowTotals::consistent(calls, failed, slow)
    }
}

/// A window chosen at run time: none, count-based or time-based. Adapters whose
/// users pick the rule in a configuration use this, with heap storage.
#[derive(Debug)]
pub enum AnyWindow<CS = [Slot; 100], TS = [Bucket; 10]> {
    /// Consecutive-failure rule.
    None,
    /// Rate rule over the last N calls.
    Count(CountWindow<CS>),
    /// Rate rule over the last T seconds.
    Time(TimeWindow<TS>),
}

impl<CS: AsRef<[Slot]> + Sync, TS: AsRef<[Bucket]> + Sync> Window for AnyWindow<CS, TS> {
    fn is_active(&self) -> bool {
        !matches!(self, AnyWindow::None)
    }

    fn minimum_calls(&self, configured: u32) -> u32 {
        match self {
            AnyWindow::Count(window) => window.minimum_calls(configured),
            _ => configured,
        }
    }

    fn record<K: Clock + ?Sized>(&self, failed: bool, slow: bool, clock: &K) -> WindowTotals {
        match self {
            AnyWindow::None => WindowTotals::default(),
            AnyWindow::Count(window) => window.record(failed, slow, clock),
            AnyWindow::Time(window) => window.record(failed, slow, clock),
        }
    }

    fn totals<K: Clock + ?Sized>(&self, clock: &K) -> WindowTotals {
        match self {
            AnyWindow::None => WindowTotals::default(),
            AnyWindow::Count(window) => window.totals(clock),
            AnyWindow::Time(window) => window.totals(clock),
        }
    }

    fn reset(&self) {
        match self {
            AnyWindow::None => {}
            AnyWindow::Count(window) => window.reset(),
            AnyWindow::Time(window) => window.reset(),
        }
    }

    fn slow_probe(&self, generation: u64) {
        match self {
            AnyWindow::None => {}
            AnyWindow::Count(window) => window.slow_probe(generation),
            AnyWindow::Time(window) => window.slow_probe(generation),
        }
    }

    fn slow_probes(&self, generation: u64) -> u32 {
        match self {
            AnyWindow::None => 0,
            AnyWindow::Count(window) => window.slow_probes(generation),
            AnyWindow::Time(window) => window.slow_probes(generation),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const T0: Instant = Instant::ZERO;

    #[test]
    fn count_window_keeps_the_last_n() {
        let window = CountWindow::<[Slot; 3]>::new();
        assert_eq!(window.totals(&T0), WindowTotals::default());
        window.record(true, true, &T0);
        window.record(true, false, &T0);
        assert_eq!(
            window.record(false, false, &T0),
            WindowTotals {
                calls: 3,
                failed: 2,
                slow: 1
            }
        );
        assert_eq!(
            window.record(false, false, &T0),
            WindowTotals {
                calls: 3,
                failed: 1,
                slow: 0
            }
        );
        window.reset();
        assert_eq!(window.totals(&T0), WindowTotals::default());
        assert_eq!(
            window.record(false, true, &T0),
            WindowTotals {
                calls: 1,
                failed: 0,
                slow: 1
            }
        );
        assert_eq!(window.minimum_calls(100), 3);
        assert_eq!(window.minimum_calls(2), 2);
    }

    #[test]
    fn count_window_storage_must_not_be_empty() {
        let empty: [Slot; 0] = [];
        assert_eq!(
            CountWindow::with_storage(empty).unwrap_err().field(),
            "window_size"
        );
        let window = CountWindow::with_storage([Slot::new(), Slot::new()]).unwrap();
        assert_eq!(window.size(), 2);
    }

    #[test]
    fn time_window_slides_by_buckets() {
        let window = TimeWindow::<[Bucket; 4]>::new(Duration::from_secs(4)).unwrap();
        assert_eq!(window.bucket_duration(), Duration::from_secs(1));
        assert_eq!(window.duration(), Duration::from_secs(4));
        window.record(true, false, &Instant::from_millis(500));
        window.record(false, true, &Instant::from_millis(1500));
        window.record(true, true, &Instant::from_millis(3999));
        let at = |ms| window.totals(&Instant::from_millis(ms));
        assert_eq!(
            at(3999),
            WindowTotals {
                calls: 3,
                failed: 2,
                slow: 2
            }
        );
        assert_eq!(
            at(4000),
            WindowTotals {
                calls: 2,
                failed: 1,
                slow: 2
            }
        );
        assert_eq!(
            at(5000),
            WindowTotals {
                calls: 1,
                failed: 1,
                slow: 1
            }
        );
        assert_eq!(
            at(6999),
            WindowTotals {
                calls: 1,
                failed: 1,
                slow: 1
            }
        );
        assert_eq!(at(7000), WindowTotals::default());
        // The bucket of second 4 replaces the one of second 0.
        assert_eq!(
            window
                .record(false, false, &Instant::from_millis(4000))
                .calls,
            3
        );
        window.reset();
        assert_eq!(at(4000), WindowTotals::default());
    }

    #[test]
    fn time_window_tolerates_a_clock_going_back() {
        let window = TimeWindow::<[Bucket; 2]>::new(Duration::from_secs(2)).unwrap();
        window.record(true, false, &Instant::from_secs(10));
        // Back to second 8: same bucket slot, older slice; its count replaces the newer one.
        assert_eq!(window.record(false, false, &Instant::from_secs(8)).calls, 1);
        assert_eq!(window.totals(&Instant::from_secs(10)).calls, 0);
    }

    #[test]
    fn time_window_validates() {
        assert_eq!(
            TimeWindow::<[Bucket; 0]>::new(Duration::from_secs(1))
                .unwrap_err()
                .field(),
            "window_buckets"
        );
        assert_eq!(
            TimeWindow::<[Bucket; 2]>::new(Duration::ZERO)
                .unwrap_err()
                .field(),
            "window_duration"
        );
        assert_eq!(
            TimeWindow::<[Bucket; 10]>::new(Duration::from_millis(9))
                .unwrap_err()
                .field(),
            "window_duration"
        );
        assert!(TimeWindow::<[Bucket; 10]>::new(Duration::from_millis(10)).is_ok());
    }

    #[test]
    fn rates() {
        let totals = WindowTotals {
            calls: 4,
            failed: 1,
            slow: 2,
        };
        assert_eq!(totals.failure_rate(), 0.25);
        assert_eq!(totals.slow_call_rate(), 0.5);
        assert_eq!(WindowTotals::default().failure_rate(), 0.0);
    }
}
