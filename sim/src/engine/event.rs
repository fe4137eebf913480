//! The engine's events, packed for its heap.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum What {
    /// A call allocated ahead (closed loop, client retry) arrives.
    Arrive = 0,
    /// A call's next attempt, after its backoff.
    Retry = 1,
    /// An attempt's wait for the rate limiter is over.
    Resume = 2,
    /// An attempt ends (answered or timed out).
    Finish = 3,
    /// An attempt's wait for a bulkhead place is over.
    Expire = 4,
}

/// An event, packed for the heap in one 128-bit key: ordered by time, then
/// by the order in which events were scheduled (so that simultaneous events
/// keep their order; the count wraps after 2^29 events, which only reorders
/// simultaneous events scheduled that far apart, and deterministically).
/// Sixteen bytes: the heap's moves are most of a simulated call's cost.
#[derive(Debug, Clone, Copy)]
pub(super) struct Event {
    /// `at << 64 | seq << 35 | what << 32 | slot`.
    pub(super) key: u128,
}

pub(super) const SEQ_BITS: u32 = 29;

impl Event {
    pub(super) fn at(&self) -> u64 {
        (self.key >> 64) as u64
    }

    pub(super) fn what(&self) -> What {
        match (self.key >> 32) & 7 {
            0 => What::Arrive,
            1 => What::Retry,
            2 => What::Resume,
            3 => What::Finish,
            _ => What::Expire,
        }
    }

    pub(super) fn slot(&self) -> u32 {
        self.key as u32
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Event {}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: the heap is a max-heap, the earliest event comes first.
        other.key.cmp(&self.key)
    }
}
