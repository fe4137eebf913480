//! A counter of one time slice, self-resetting: the building block of the
//! time-based windows (the breaker's [`TimeWindow`](crate::breaker::TimeWindow)
//! and the retry's adaptive throttle).
//!
//! One word holds `epoch << 32 | count`, so a counter left over from an older
//! slice resets itself in the same compare-and-swap that counts the new event:
//! no lock, no separate reset step to race with.

use crate::sync::{AtomicU64, Ordering};

/// `epoch << 32 | count` in one atomic word.
#[derive(Debug, Default)]
pub(crate) struct SliceCounter(AtomicU64);

impl SliceCounter {
    loom_const_fn! {
        /// An empty counter.
        pub(crate) fn new() -> Self {
            Self(AtomicU64::new(0))
        }
    }

    /// Counts one event in slice `epoch`, replacing a count of any other slice
    /// (an older one; or, if the clock went back, a newer one, whose count is
    /// dropped rather than mixed into this slice). Saturates at `u32::MAX`.
    pub(crate) fn bump(&self, epoch: u32) {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let next = if (current >> 32) as u32 == epoch {
                if current as u32 == u32::MAX {
                    return;
                }
                current + 1
            } else {
                (u64::from(epoch) << 32) | 1
            };
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// The count, if it belongs to one of the `len` slices up to `epoch`.
    pub(crate) fn count_in(&self, epoch: u32, len: u32) -> u32 {
        let value = self.0.load(Ordering::Acquire);
        if epoch.wrapping_sub((value >> 32) as u32) < len {
            value as u32
        } else {
            0
        }
    }

    /// Forgets the count.
    pub(crate) fn clear(&self) {
        self.0.store(0, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_per_slice_and_resets_on_a_new_one() {
        let counter = SliceCounter::new();
        counter.bump(7);
        counter.bump(7);
        assert_eq!(counter.count_in(7, 1), 2);
        assert_eq!(
            counter.count_in(8, 2),
            2,
            "slice 7 is within the last two of 8"
        );
        assert_eq!(counter.count_in(9, 2), 0);
        counter.bump(9);
        assert_eq!(counter.count_in(9, 1), 1);
        counter.bump(3); // the clock went back: the newer count is dropped
        assert_eq!(counter.count_in(9, 10), 1, "slice 3 of 9 within 10");
        counter.clear();
        assert_eq!(counter.count_in(3, 1), 0);
    }
}
