//! Where a slot looks for its next job: its own deque (LIFO; its oldest
//! job after a task yielded), the injector
//! on a fairness tick, then other slots' deques (FIFO, random first victim),
//! then the injector.

use super::{WorkerLocal, INJECTOR_TICK};
use crate::deque::Steal;
use crate::job::JobRef;

impl WorkerLocal {
    /// Work this slot has itself: its deque (after promoting a private job
    /// if the deque ran dry), or, once every `INJECTOR_TICK` looks, the
    /// injector, so outside submissions are never starved.
    #[inline]
    pub(crate) fn find_local(&self) -> Option<JobRef> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick.is_multiple_of(INJECTOR_TICK) {
            if let Some(job) = self.pop_injector() {
                return Some(job);
            }
        }
        self.promote_if_starved();
        let fifo = self.fifo_left.get();
        if fifo > 0 {
            // After a yield: the oldest jobs first (see `push_behind`).
            self.fifo_left.set(fifo - 1);
            loop {
                match self.registry().stealer(self.index).steal() {
                    // SAFETY: our deque holds only `JobRef`s.
                    Steal::Success(p) => return Some(unsafe { JobRef::from_raw(p) }),
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        // SAFETY: our deque holds only `JobRef`s.
        self.deque.pop().map(|p| unsafe { JobRef::from_raw(p) })
    }

    /// Work from elsewhere: other slots' deques, then the injector.
    pub(crate) fn find_remote(&self) -> Option<JobRef> {
        self.steal().or_else(|| self.pop_injector())
    }

    fn pop_injector(&self) -> Option<JobRef> {
        let job = self.registry().injector.pop();
        if job.is_some() {
            self.counters().injector_pops.bump();
        }
        job
    }

    /// One round over every other slot, starting at a random one. Victims
    /// that made us retry (a lost CAS) are visited again, a bounded number
    /// of times.
    fn steal(&self) -> Option<JobRef> {
        let registry = self.registry();
        let n = registry.num_slots();
        if n <= 1 {
            return None;
        }
        self.counters().steal_attempts.bump();
        let start = self.rng.below(n);
        for _round in 0..4 {
            let mut retry = false;
            for k in 0..n {
                let victim = (start + k) % n;
                if victim == self.index {
                    continue;
                }
                match registry.stealer(victim).steal() {
                    Steal::Success(p) => {
                        self.counters().stolen.bump();
                        // SAFETY: deques hold only `JobRef`s.
                        return Some(unsafe { JobRef::from_raw(p) });
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                break;
            }
        }
        None
    }
}
