//! `Countdown`: how many of a task graph node's predecessors have not
//! finished in the current run, and whether one of them failed.
//!
//! # Spec
//!
//! - `reset(n)` arms it for a run with `n` predecessors. Only the node
//!   itself calls it, when it starts: every predecessor has arrived by
//!   then, and none of the next run can arrive before this run ends (runs
//!   of a graph are sequential), so no arrival races a reset.
//! - `arrive(failed)` is each predecessor's one arrival per run. Exactly
//!   one arrival, the last, gets `Some(poisoned)`, where `poisoned` is true
//!   if any arrival of the run said `failed`; it then owns starting the
//!   node. Everything each predecessor did before arriving happens before
//!   the last arrival returns (release on every decrement, acquire on the
//!   last: the decrements form one release sequence).

use crate::facade::{AtomicU32, Ordering};

/// The poison bit; the low 31 bits count predecessors still to arrive.
const POISON: u32 = 1 << 31;

/// The most predecessors a node may have.
pub(crate) const MAX_PREDECESSORS: u32 = POISON - 1;

pub(crate) struct Countdown {
    state: AtomicU32,
}

impl Countdown {
    pub(crate) fn new(n: u32) -> Self {
        debug_assert!(n <= MAX_PREDECESSORS);
        Self {
            state: AtomicU32::new(n),
        }
    }

    /// Arms it for the next run (see the spec: the node's own call, at its
    /// start).
    #[inline]
    pub(crate) fn reset(&self, n: u32) {
        // Relaxed: the next run's arrivals happen after this run's end,
        // which this node's completion (a release after this store) is
        // part of.
        self.state.store(n, Ordering::Relaxed);
    }

    /// One predecessor arrived; `failed` if it panicked or was itself
    /// cancelled. `Some(poisoned)` for the last arrival of the run.
    #[inline]
    pub(crate) fn arrive(&self, failed: bool) -> Option<bool> {
        if failed {
            // Before our decrement in the word's modification order, so the
            // last decrement (ours or a later one) reads it.
            self.state.fetch_or(POISON, Ordering::Relaxed);
        }
        let prev = self.state.fetch_sub(1, Ordering::AcqRel);
        debug_assert_ne!(prev & !POISON, 0, "a node's predecessor arrived twice");
        (prev & !POISON == 1).then_some(prev & POISON != 0)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::facade::{Arc, AtomicBool};
    use loom::thread;

    /// Two predecessors finish at once, one of them by panicking: exactly
    /// one of them starts the node, it sees the poison, and it sees the
    /// other's work. Then the node re-arms the countdown and a second run
    /// (both succeeding) starts it exactly once again, unpoisoned.
    #[test]
    fn the_last_predecessor_starts_the_node_once_and_sees_a_panic() {
        loom::model(|| {
            let node = Arc::new(Countdown::new(2));
            let work = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
            let arrive = |i: usize, failed: bool| {
                let (node, work) = (node.clone(), work.clone());
                thread::spawn(move || {
                    work[i].store(true, Ordering::Relaxed);
                    node.arrive(failed).inspect(|_| {
                        // The starter sees both predecessors' effects.
                        assert!(work[0].load(Ordering::Relaxed));
                        assert!(work[1].load(Ordering::Relaxed));
                    })
                })
            };
            let (a, b) = (arrive(0, true), arrive(1, false));
            let starts: Vec<bool> = [a, b]
                .into_iter()
                .filter_map(|t| t.join().unwrap())
                .collect();
            assert_eq!(starts, [true], "one start, poisoned");

            // The node starts: it re-arms for the next run.
            node.reset(2);
            let (a, b) = (arrive(0, false), arrive(1, false));
            let starts: Vec<bool> = [a, b]
                .into_iter()
                .filter_map(|t| t.join().unwrap())
                .collect();
            assert_eq!(starts, [false], "one start, clean after the reset");
        });
    }

    /// Both predecessors fail at once: still exactly one start, poisoned.
    #[test]
    fn two_failing_predecessors_start_the_node_once() {
        loom::model(|| {
            let node = Arc::new(Countdown::new(2));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let node = node.clone();
                    thread::spawn(move || node.arrive(true))
                })
                .collect();
            let starts: Vec<bool> = threads
                .into_iter()
                .filter_map(|t| t.join().unwrap())
                .collect();
            assert_eq!(starts, [true]);
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_carries_the_poison_to_the_last_arrival() {
        let c = Countdown::new(3);
        assert_eq!(c.arrive(false), None);
        assert_eq!(c.arrive(true), None);
        assert_eq!(c.arrive(false), Some(true));
        c.reset(1);
        assert_eq!(c.arrive(false), Some(false));
    }
}
