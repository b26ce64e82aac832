//! Exponential backoff for spin loops.

use crate::facade::{spin_loop, thread};

/// Spins with exponentially more pause instructions, then yields the thread.
///
/// `snooze` is for waiting on another thread; `is_completed` says the caller
/// has spun long enough and should block instead.
pub(crate) struct Backoff {
    step: u32,
}

/// Up to 2^SPIN_LIMIT pause instructions per step before yielding.
const SPIN_LIMIT: u32 = 6;
/// After this many steps the caller should park.
const YIELD_LIMIT: u32 = 10;

impl Backoff {
    pub(crate) const fn new() -> Self {
        Self { step: 0 }
    }

    pub(crate) fn reset(&mut self) {
        self.step = 0;
    }

    /// One step of waiting for another thread: spins first, then yields.
    pub(crate) fn snooze(&mut self) {
        if self.step <= SPIN_LIMIT {
            for _ in 0..1u32 << self.step {
                spin_loop();
            }
        } else {
            thread::yield_now();
        }
        if self.step <= YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// True once spinning has gone on long enough that blocking is better.
    pub(crate) fn is_completed(&self) -> bool {
        self.step > YIELD_LIMIT
    }
}
