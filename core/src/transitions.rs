//! Delivering a breaker's transitions to listeners in the order it made them.
//!
//! A transition is decided by one compare-and-swap, and returned to the
//! thread that won it; that thread tells the listeners a moment later. Two
//! threads that caused two transitions one after the other can therefore
//! tell them in the opposite order. An adapter with listeners keeps the
//! transitions reported to it in a small buffer and delivers them with this
//! module:
//!
//! - a batch is [`complete`] when it holds every transition the breaker made
//!   since the last delivery: their number is the breaker's count of
//!   transitions ([`Stats::state_transitions`](crate::Stats::state_transitions)),
//!   read after the last one was reported;
//! - [`order`] puts a complete batch in chain order, each transition starting
//!   in the state where the one before it ended.
//!
//! The thread that completes a batch delivers it; a thread whose transition
//! is not the last one reported leaves it to that one. Every transition the
//! breaker makes must be reported, or the batches stay incomplete: as a
//! safety net, an adapter delivers a batch anyway once it holds
//! [`MAX_BATCH`] transitions.
//!
//! ```
//! use seawall_core::breaker::{State, Transition};
//! use seawall_core::transitions::{complete, order};
//!
//! let t = |from, to| Transition { from, to };
//! // Two threads reported these two, the later one first.
//! let mut batch = [t(State::Open, State::HalfOpen), t(State::Closed, State::Open)];
//! assert!(complete(2, 0, batch.len()));
//! assert!(order(State::Closed, &mut batch));
//! assert_eq!(batch, [t(State::Closed, State::Open), t(State::Open, State::HalfOpen)]);
//! ```

use crate::breaker::{State, Transition};

/// The most transitions an adapter holds back: beyond, a transition that was
/// never reported would hold the others forever, so they are delivered. A
/// thread that made a transition and was then descheduled before reporting
/// it holds the others back until it runs again; this is far more than the
/// transitions any breaker makes meanwhile.
pub const MAX_BATCH: usize = 1 << 16;

/// Whether `buffered` transitions are every one made since `delivered` of
/// them were delivered, when the breaker has made `made` in all (its
/// `state_transitions`, which wraps at 2^32 like the count it reads).
pub const fn complete(made: u64, delivered: u64, buffered: usize) -> bool {
    let pending = (made as u32).wrapping_sub(delivered as u32);
    pending as usize == buffered
}

/// Puts `batch` in chain order from `from`, the state the last delivered
/// transition ended in: each transition starts where the previous one ended.
/// Returns false, leaving an order the caller may still deliver, when no such
/// chain exists (a transition that was not reported).
///
/// Equal transitions are interchangeable, so the batch is counted by kind
/// and the chain rebuilt from the counts, one step at a time, never taking a
/// step after which the rest could not be walked (Fleury's rule, on the five
/// states): linear in the batch, without allocating.
pub fn order(from: State, batch: &mut [Transition]) -> bool {
    let mut counts = [[0u32; 5]; 5];
    for transition in batch.iter() {
        counts[transition.from as usize][transition.to as usize] += 1;
    }
    let mut at = from as usize;
    let mut chained = true;
    for slot in batch.iter_mut() {
        let mut step = None;
        for to in 0..5 {
            if counts[at][to] == 0 {
                continue;
            }
            counts[at][to] -= 1;
            let rest_walkable = reaches_every_edge(&counts, to);
            counts[at][to] += 1;
            if rest_walkable {
                step = Some(to);
                break;
            }
            step = step.or(Some(to));
        }
        let (from, to) = match step {
            Some(to) => (at, to),
            None => {
                // No transition starts here: the chain is broken. Go on
                // from any transition left.
                chained = false;
                match first_left(&counts) {
                    Some(edge) => edge,
                    None => return false,
                }
            }
        };
        counts[from][to] -= 1;
        *slot = Transition {
            from: State::ALL[from],
            to: State::ALL[to],
        };
        at = to;
    }
    chained
}

/// Whether every transition counted starts in a state reachable from `start`
/// through the transitions counted.
fn reaches_every_edge(counts: &[[u32; 5]; 5], start: usize) -> bool {
    let mut reached = [false; 5];
    reached[start] = true;
    // Five states: four rounds of relaxation reach everything reachable.
    for _ in 0..4 {
        for from in 0..5 {
            if reached[from] {
                for to in 0..5 {
                    if counts[from][to] > 0 {
                        reached[to] = true;
                    }
                }
            }
        }
    }
    (0..5).all(|from| reached[from] || counts[from].iter().all(|&n| n == 0))
}

fn first_left(counts: &[[u32; 5]; 5]) -> Option<(usize, usize)> {
    (0..5)
        .flat_map(|from| (0..5).map(move |to| (from, to)))
        .find(|&(from, to)| counts[from][to] > 0)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn t(from: State, to: State) -> Transition {
        Transition { from, to }
    }

    #[test]
    fn a_batch_is_complete_when_it_holds_every_transition_made() {
        assert!(complete(5, 3, 2));
        assert!(!complete(5, 3, 1));
        assert!(complete(3, 3, 0));
        // The count wraps at 2^32, as the breaker's generation does.
        assert!(complete(1, u64::from(u32::MAX), 2));
    }

    #[test]
    fn order_finds_the_chain_with_lookahead() {
        use State::*;
        // From half-open: reopened, probed again, then closed. Taking
        // half_open -> closed first would leave the rest unchainable.
        let mut batch = [t(HalfOpen, Closed), t(Open, HalfOpen), t(HalfOpen, Open)];
        assert!(order(HalfOpen, &mut batch));
        assert_eq!(
            batch,
            [t(HalfOpen, Open), t(Open, HalfOpen), t(HalfOpen, Closed)]
        );
        let mut missing = [t(Open, HalfOpen)];
        assert!(!order(Closed, &mut missing));
        assert_eq!(missing, [t(Open, HalfOpen)], "delivered anyway");
        assert!(order(Closed, &mut []));
        // A long churn, shuffled: rebuilt into a chain.
        let cycle = [
            t(Closed, Open),
            t(Open, HalfOpen),
            t(HalfOpen, Open),
            t(Open, HalfOpen),
            t(HalfOpen, Closed),
        ];
        let mut long: [Transition; 500] = core::array::from_fn(|i| cycle[(i * 7) % 5]);
        assert!(order(Closed, &mut long));
        assert!(long.windows(2).all(|pair| pair[0].to == pair[1].from));
    }
}
