//! Per-slot counters, kept by each slot's own thread and read by anyone.

use crate::facade::{AtomicU64, Ordering};

/// One counter written by a single thread: an increment is a relaxed load
/// and store, not a locked read-modify-write.
#[derive(Default)]
pub(crate) struct Count(AtomicU64);

impl Count {
    #[inline(always)]
    pub(crate) fn bump(&self) {
        self.add(1);
    }

    #[inline(always)]
    pub(crate) fn add(&self, n: u64) {
        self.0
            .store(self.0.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters of one slot (a worker thread, or the participant slot that
/// a calling thread borrows while it waits).
#[derive(Default)]
pub(crate) struct SlotCounters {
    pub(crate) executed: Count,
    pub(crate) stolen: Count,
    pub(crate) steal_attempts: Count,
    pub(crate) parks: Count,
    pub(crate) injector_pops: Count,
    pub(crate) heap_fallbacks: Count,
    pub(crate) fiber_switches: Count,
    pub(crate) fiber_suspends: Count,
    pub(crate) fiber_fallbacks: Count,
}

impl SlotCounters {
    pub(crate) fn snapshot(&self) -> WorkerStats {
        WorkerStats {
            executed: self.executed.get(),
            stolen: self.stolen.get(),
            steal_attempts: self.steal_attempts.get(),
            parks: self.parks.get(),
            injector_pops: self.injector_pops.get(),
            heap_fallbacks: self.heap_fallbacks.get(),
            fiber_switches: self.fiber_switches.get(),
            fiber_suspends: self.fiber_suspends.get(),
            fiber_fallbacks: self.fiber_fallbacks.get(),
        }
    }
}

/// Counts for one slot of a pool. See [`Stats`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WorkerStats {
    /// Jobs taken from a queue (own deque, a victim, the injector) and run.
    /// A `join` whose second half ran inline, unstolen, counts nothing: it
    /// never went through a queue.
    pub executed: u64,
    /// Jobs taken from another slot's deque.
    pub stolen: u64,
    /// Rounds over the victims, successful or not.
    pub steal_attempts: u64,
    /// Times the thread went to sleep.
    pub parks: u64,
    /// Jobs taken from the global injector.
    pub injector_pops: u64,
    /// Spawns that found no free job-cache block (or a closure too large
    /// for one) and allocated on the heap.
    pub heap_fallbacks: u64,
    /// Context switches between fibers (suspensions, resumptions, yields).
    pub fiber_switches: u64,
    /// Waits that suspended their fiber.
    pub fiber_suspends: u64,
    /// Waits that found every fiber in use and ran other jobs on their own
    /// stack instead (the no-fiber behaviour).
    pub fiber_fallbacks: u64,
}

impl WorkerStats {
    fn add(&mut self, o: &WorkerStats) {
        self.executed += o.executed;
        self.stolen += o.stolen;
        self.steal_attempts += o.steal_attempts;
        self.parks += o.parks;
        self.injector_pops += o.injector_pops;
        self.heap_fallbacks += o.heap_fallbacks;
        self.fiber_switches += o.fiber_switches;
        self.fiber_suspends += o.fiber_suspends;
        self.fiber_fallbacks += o.fiber_fallbacks;
    }
}

/// A snapshot of a pool's counters, from [`Pool::stats`](crate::Pool::stats).
///
/// Counters are per slot and approximate while the pool runs (each is read
/// on its own); they are exact once the pool is idle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// One entry per worker thread, in index order.
    pub workers: Vec<WorkerStats>,
    /// The slot that a calling thread takes while it waits on the pool.
    pub participant: WorkerStats,
}

impl Stats {
    /// The sum over all workers and the participant slot.
    pub fn total(&self) -> WorkerStats {
        let mut t = self.participant;
        for w in &self.workers {
            t.add(w);
        }
        t
    }
}
