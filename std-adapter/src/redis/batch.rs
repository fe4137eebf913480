//! The Closed outcomes a process has not reported yet: summed in two atomic
//! words, so that recording one costs a load and, at most, one compare-and-
//! swap, and the sync task takes them all at once.
//!
//! An outcome of another round than the batch's is not added. Both words
//! also carry a tag of the round (its generation, modulo 8), for the outcome
//! whose recorder saw the batch's round just before the round changed: its
//! compare-and-swap then fails on the re-tagged word.

use std::sync::atomic::{AtomicU64, Ordering};

use seawall_core::breaker::rules::Run;

const TAG_BITS: u32 = 3;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

/// `Run` in one word: tag (3) | broken (1) | leading, longest, trailing (20 each).
const RUN_BITS: u32 = 20;
const RUN_MAX: u32 = (1 << RUN_BITS) - 1;

/// The window's counts in one word: tag (3) | calls (21) | failed, slow (20 each).
const CALL_BITS: u32 = 21;
const CALLS_MAX: u64 = (1 << CALL_BITS) - 1;
const COUNT_MAX: u64 = (1 << 20) - 1;

fn tag_of(generation: u64) -> u64 {
    generation & TAG_MASK
}

fn pack_run(tag: u64, run: Run) -> u64 {
    let field = |n: u32| u64::from(n.min(RUN_MAX));
    tag | u64::from(run.broken) << TAG_BITS
        | field(run.leading) << (TAG_BITS + 1)
        | field(run.longest) << (TAG_BITS + 1 + RUN_BITS)
        | field(run.trailing) << (TAG_BITS + 1 + 2 * RUN_BITS)
}

fn unpack_run(word: u64) -> Run {
    let field = |shift: u32| ((word >> shift) & u64::from(RUN_MAX)) as u32;
    Run {
        broken: (word >> TAG_BITS) & 1 == 1,
        leading: field(TAG_BITS + 1),
        longest: field(TAG_BITS + 1 + RUN_BITS),
        trailing: field(TAG_BITS + 1 + 2 * RUN_BITS),
    }
}

/// Outcomes of a window: calls, failed, slow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) calls: u64,
    pub(crate) failed: u64,
    pub(crate) slow: u64,
}

impl Counts {
    fn unpack(word: u64) -> Counts {
        Counts {
            calls: (word >> TAG_BITS) & CALLS_MAX,
            failed: (word >> (TAG_BITS + CALL_BITS)) & COUNT_MAX,
            slow: (word >> (TAG_BITS + CALL_BITS + 20)) & COUNT_MAX,
        }
    }
}

/// What [`Batch::take`] hands the sync task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Taken {
    pub(crate) generation: u64,
    pub(crate) run: Run,
    pub(crate) counts: Counts,
}

/// The outcomes of one round not reported yet.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The round (written only by [`retag`](Self::retag), under the engine's lock).
    generation: AtomicU64,
    run: AtomicU64,
    counts: AtomicU64,
}

/// What recording asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// Added (or nothing to add).
    Added,
    /// Not of the batch's round: dropped.
    Stale,
    /// Added, and the batch is half full: report it soon.
    Full,
}

impl Batch {
    pub(crate) fn new(generation: u64) -> Self {
        let tag = tag_of(generation);
        Self {
            generation: AtomicU64::new(generation),
            run: AtomicU64::new(pack_run(tag, Run::default())),
            counts: AtomicU64::new(tag),
        }
    }

    /// The round the batch collects.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Adds an outcome of round `generation` to the consecutive run.
    #[inline]
    pub(crate) fn record_run(&self, generation: u64, failed: bool) -> Recorded {
        if self.generation() != generation {
            return Recorded::Stale;
        }
        let tag = tag_of(generation);
        let mut word = self.run.load(Ordering::Acquire);
        loop {
            if word & TAG_MASK != tag {
                return Recorded::Stale;
            }
            let run = unpack_run(word);
            let next = if failed {
                run.then(Run::FAILURE)
            } else {
                // A success after a success changes nothing: the common case
                // writes nothing.
                if run.broken && run.trailing == 0 {
                    return Recorded::Added;
                }
                run.then(Run::SUCCESS)
            };
            let packed = pack_run(tag, next);
            match self
                .run
                .compare_exchange_weak(word, packed, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let half = RUN_MAX / 2;
                    let full = next.leading > half || next.trailing > half;
                    return if full {
                        Recorded::Full
                    } else {
                        Recorded::Added
                    };
                }
                Err(actual) => word = actual,
            }
        }
    }

    /// Adds an outcome of round `generation` to the window's counts.
    #[inline]
    pub(crate) fn record_counts(&self, generation: u64, failed: bool, slow: bool) -> Recorded {
        if self.generation() != generation {
            return Recorded::Stale;
        }
        let tag = tag_of(generation);
        let add = 1 << TAG_BITS
            | u64::from(failed) << (TAG_BITS + CALL_BITS)
            | u64::from(slow) << (TAG_BITS + CALL_BITS + 20);
        let mut word = self.counts.load(Ordering::Acquire);
        loop {
            if word & TAG_MASK != tag {
                return Recorded::Stale;
            }
            let counts = Counts::unpack(word);
            if counts.calls >= CALLS_MAX || counts.failed >= COUNT_MAX || counts.slow >= COUNT_MAX {
                // Full until the sync task takes it (it was told at half).
                return Recorded::Full;
            }
            match self.counts.compare_exchange_weak(
                word,
                word + add,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) if counts.calls + 1 > CALLS_MAX / 2 => return Recorded::Full,
                Ok(_) => return Recorded::Added,
                Err(actual) => word = actual,
            }
        }
    }

    /// What is in the batch now, without taking it.
    pub(crate) fn peek(&self) -> (Run, Counts) {
        (
            unpack_run(self.run.load(Ordering::Acquire)),
            Counts::unpack(self.counts.load(Ordering::Acquire)),
        )
    }

    /// Takes the outcomes, leaving the batch empty for the same round.
    pub(crate) fn take(&self) -> Taken {
        let generation = self.generation();
        let tag = tag_of(generation);
        let run = self
            .run
            .swap(pack_run(tag, Run::default()), Ordering::AcqRel);
        let counts = self.counts.swap(tag, Ordering::AcqRel);
        Taken {
            generation,
            run: unpack_run(run),
            counts: Counts::unpack(counts),
        }
    }

    /// Starts collecting round `generation`, dropping what was collected for
    /// another (the round it belonged to is over).
    pub(crate) fn retag(&self, generation: u64) {
        if self.generation() == generation {
            return;
        }
        self.generation.store(generation, Ordering::Release);
        let tag = tag_of(generation);
        self.run
            .store(pack_run(tag, Run::default()), Ordering::Release);
        self.counts.store(tag, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_counts_are_collected_for_one_round() {
        let batch = Batch::new(9);
        assert_eq!(batch.record_run(9, true), Recorded::Added);
        assert_eq!(batch.record_run(9, false), Recorded::Added);
        assert_eq!(batch.record_run(9, false), Recorded::Added);
        assert_eq!(batch.record_run(9, true), Recorded::Added);
        assert_eq!(batch.record_run(8, true), Recorded::Stale);
        assert_eq!(batch.record_counts(9, true, false), Recorded::Added);
        assert_eq!(batch.record_counts(9, false, true), Recorded::Added);
        let taken = batch.take();
        assert_eq!(taken.generation, 9);
        assert_eq!(
            taken.run,
            Run {
                leading: 1,
                longest: 1,
                trailing: 1,
                broken: true
            }
        );
        assert_eq!(
            taken.counts,
            Counts {
                calls: 2,
                failed: 1,
                slow: 1
            }
        );
        assert_eq!(batch.take().counts, Counts::default());
        batch.record_counts(9, true, true);
        batch.retag(10);
        assert_eq!(batch.peek(), (Run::default(), Counts::default()));
        assert_eq!(batch.record_counts(9, true, true), Recorded::Stale);
        assert_eq!(batch.record_counts(10, true, true), Recorded::Added);
        // A round eight rounds away has the same tag, and is stale all the same.
        assert_eq!(batch.record_run(18, true), Recorded::Stale);
    }
}
