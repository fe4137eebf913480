//! A dependency of limited capacity: `capacity` workers, first come first
//! served.
//!
//! Each attempt's own latency is drawn as usual; with a capacity, it starts
//! only when a worker is free, so the caller waits for the queue too. As the
//! service times are known when an attempt arrives, the first-come queue needs
//! no events of its own: each worker's next free moment decides when the next
//! attempt starts. A caller that times out leaves its attempt in place, and
//! the worker stays busy with it for its whole latency: the wasted work that
//! makes an overloaded server slower still.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The workers, by the moment each is free again (`u64::MAX`: stuck on a call
/// that hangs).
pub(super) struct Server {
    free_at: BinaryHeap<Reverse<u64>>,
}

impl Server {
    pub(super) fn new(capacity: u32) -> Self {
        Self {
            free_at: (0..capacity).map(|_| Reverse(0)).collect(),
        }
    }

    /// An attempt arriving `now` that takes `latency` once a worker has it
    /// (`None`: it hangs): how long its caller waits for the answer (`None`:
    /// forever).
    pub(super) fn serve(&mut self, now: u64, latency: Option<u64>) -> Option<u64> {
        let Reverse(free) = self.free_at.pop().expect("at least one worker");
        let start = free.max(now);
        let done = match latency {
            Some(latency) if start != u64::MAX => start.saturating_add(latency),
            _ => u64::MAX,
        };
        self.free_at.push(Reverse(done));
        (done != u64::MAX).then(|| done - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_queue_for_the_first_free_worker() {
        let mut server = Server::new(2);
        assert_eq!(server.serve(0, Some(10)), Some(10));
        assert_eq!(server.serve(0, Some(10)), Some(10));
        // Both busy until 10: the third waits 10, then takes 10.
        assert_eq!(server.serve(0, Some(10)), Some(20));
        assert_eq!(
            server.serve(5, Some(1)),
            Some(6),
            "starts at 10, ends at 11"
        );
        // A hang takes its worker for good; the other still serves.
        assert_eq!(server.serve(30, None), None);
        assert_eq!(server.serve(30, Some(1)), Some(1));
        assert_eq!(server.serve(40, Some(1)), Some(1));
        let mut stuck = Server::new(1);
        assert_eq!(stuck.serve(0, None), None);
        assert_eq!(
            stuck.serve(100, Some(1)),
            None,
            "behind a hung call, forever"
        );
    }
}
