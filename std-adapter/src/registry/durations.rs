//! Call-duration histograms: fixed buckets of atomic counts, so that timing a
//! call takes no lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Prometheus's default buckets (seconds): 5 ms to 10 s.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram of durations with fixed upper bounds.
#[derive(Debug)]
pub(crate) struct DurationHistogram {
    /// The upper bounds, in nanoseconds, ascending.
    bounds: Box<[u64]>,
    /// One count per bound, and one for the durations above every bound.
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

/// What a histogram holds at one moment.
#[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistogramSnapshot {
    /// The sum of the durations, in seconds.
    pub(crate) sum: f64,
    /// How many durations were observed.
    pub(crate) count: u64,
    /// `(upper bound in seconds, count in this bucket alone)`, the last bound
    /// infinite.
    pub(crate) buckets: Vec<(f64, u64)>,
}

impl DurationHistogram {
    /// A histogram with `bounds` in seconds (sorted and deduplicated here).
    pub(crate) fn new(bounds: &[f64]) -> Self {
        let mut nanos: Vec<u64> = bounds
            .iter()
            .filter(|b| b.is_finite() && **b >= 0.0)
            .map(|b| {
                Duration::from_secs_f64(*b)
                    .as_nanos()
                    .min(u128::from(u64::MAX)) as u64
            })
            .collect();
        nanos.sort_unstable();
        nanos.dedup();
        let counts = (0..=nanos.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            bounds: nanos.into_boxed_slice(),
            counts,
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Counts one duration: two relaxed `fetch_add`s.
    #[inline]
    pub(crate) fn observe(&self, duration: Duration) {
        let nanos = duration.as_nanos().min(u128::from(u64::MAX)) as u64;
        let bucket = self.bounds.partition_point(|bound| *bound < nanos);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let buckets: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .map(|nanos| *nanos as f64 / 1e9)
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.counts.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        HistogramSnapshot {
            sum: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            count: buckets.iter().map(|(_, n)| n).sum(),
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_the_first_bucket_that_holds_them() {
        let histogram = DurationHistogram::new(&[0.5, 0.1, 0.1, f64::NAN, 1.0]);
        for ms in [0, 100, 101, 500, 999, 5_000] {
            histogram.observe(Duration::from_millis(ms));
        }
        let snapshot = histogram.snapshot();
        assert_eq!(
            snapshot.buckets,
            [(0.1, 2), (0.5, 2), (1.0, 1), (f64::INFINITY, 1)]
        );
        assert_eq!(snapshot.count, 6);
        assert!((snapshot.sum - 6.7).abs() < 1e-9);
    }
}
