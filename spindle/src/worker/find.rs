//! Where a slot looks for its next job.
//!
//! The plain path, taken while no `High`, `Low` or affine job is queued
//! anywhere (one load of `Registry::pending`): its own deque (LIFO; its
//! oldest job after a task yielded and after `FAIR_LOCAL` task wakes in
//! a row queued on it), the injector on a fairness tick, then other slots'
//! deques (FIFO, random first victim), then the injector.
//!
//! Otherwise, `find_by_class`: class by class in the pick's order (`High`,
//! `Normal`, `Low`, but see `Priority::pick_order` for the fairness picks),
//! and within a class: its mailbox, its own deque, the injector, other
//! slots' deques, other slots' mailboxes (jobs whose set includes it).

use super::{WorkerLocal, INJECTOR_TICK};
use crate::job::{JobRef, Priority};
use crate::observe::{self, Event};
use crate::queue::deque::Steal;
use crate::queue::hidden::Stolen;

impl WorkerLocal {
    /// Work this slot has itself: its deque (after promoting a private job
    /// if the deque ran dry), or, once every `INJECTOR_TICK` looks, the
    /// injector, so outside submissions are never starved.
    ///
    /// `fair`: the main loop's picks take the deque's oldest job now and
    /// then (see `pop_own`); a helping wait's never do.
    #[inline]
    pub(crate) fn find_local(&self, fair: bool) -> Option<JobRef> {
        if self.registry().pending.any() {
            return self.find_by_class(fair);
        }
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick.is_multiple_of(INJECTOR_TICK) {
            #[cfg(all(not(loom), any(unix, windows)))]
            if let Some(driver) = self.registry().driver_if_any() {
                if let Some(woken) = driver.poll_if_due() {
                    self.after_driver_wakes(woken);
                    // A sleeper that found the driver taken sleeps on its
                    // parker: it may take the driver now.
                    self.registry().sleep.notify_work(1);
                }
            }
            if let Some(job) = self.pop_injector() {
                return Some(job);
            }
        }
        self.pop_own(fair)
    }

    /// The newest job of this slot's `Normal` deque, after promoting a
    /// private job if thieves are starved. With `fair` (the loop's picks),
    /// its oldest after a yield and after `FAIR_LOCAL` task wakes in a row
    /// queued here (`count_wake`), so tasks that keep waking each other
    /// cannot starve what was queued before them. A helping wait picks
    /// newest first only: an old job run on top of a waiting frame would
    /// nest a whole unrelated subtree there.
    #[inline]
    fn pop_own(&self, fair: bool) -> Option<JobRef> {
        self.promote_if_starved();
        if fair {
            let fifo = self.fifo_left.get();
            if fifo > 0 || self.fair_due.get() {
                // After a yield (see `push_behind`), or the fairness pick.
                self.fifo_left.set(fifo.saturating_sub(1));
                self.fair_due.set(false);
                if let Some(p) = self.deque.pop_oldest() {
                    // SAFETY: our deque holds only `JobRef`s.
                    return Some(unsafe { JobRef::from_raw(p) });
                }
            }
        }
        // SAFETY: our deque holds only `JobRef`s.
        self.deque.pop().map(|p| unsafe { JobRef::from_raw(p) })
    }

    /// Work from elsewhere: other slots' deques, then the injector.
    pub(crate) fn find_remote(&self, fair: bool) -> Option<JobRef> {
        if self.registry().pending.any() {
            return self.find_by_class(fair);
        }
        self.steal(Priority::Normal).or_else(|| self.pop_injector())
    }

    /// Counts (and reports) a job taken from the injector.
    #[inline]
    fn took_from_injector(&self) {
        self.counters().injector_pops.bump();
        observe::event(Event::InjectorPop);
    }

    fn pop_injector(&self) -> Option<JobRef> {
        let job = self.registry().injector.pop()?;
        self.took_from_injector();
        // A stale "nothing special queued" may have sent us here while a
        // `High` or `Low` job sat in the injector.
        self.registry().pending.taken(job.priority());
        Some(job)
    }

    /// The oldest job of `class` in this slot's mailbox.
    fn pop_mailbox(&self, class: Priority) -> Option<JobRef> {
        let registry = self.registry();
        if !registry.pending.may_have_affine() {
            return None;
        }
        let job = registry.slot(self.index).mailbox.pop(class)?;
        registry.pending.taken_affine();
        Some(job)
    }

    /// The newest job of this slot's `High` or `Low` deque.
    fn pop_class(&self, class: Priority) -> Option<JobRef> {
        let p = self.class_deque(class).pop()?;
        self.registry().pending.taken(class);
        // SAFETY: our deques hold only `JobRef`s.
        Some(unsafe { JobRef::from_raw(p) })
    }

    /// Every source, class by class (see the module docs).
    #[inline(never)]
    fn find_by_class(&self, fair: bool) -> Option<JobRef> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        Priority::pick_order(tick)
            .into_iter()
            .find_map(|class| self.find_class(class, tick, fair))
    }

    fn find_class(&self, class: Priority, tick: u32, fair: bool) -> Option<JobRef> {
        let registry = self.registry();
        let pending = &registry.pending;
        if let Some(job) = self.pop_mailbox(class) {
            return Some(job);
        }
        if class == Priority::Normal {
            let injected = || {
                let job = registry.injector.pop_class(class);
                job.inspect(|_| self.took_from_injector())
            };
            // The injector's fairness tick, as on the plain path.
            let job = if tick.is_multiple_of(INJECTOR_TICK) {
                injected().or_else(|| self.pop_own(fair))
            } else {
                self.pop_own(fair).or_else(injected)
            };
            if let Some(job) = job.or_else(|| self.steal(class)) {
                return Some(job);
            }
        } else if pending.may_have(class) {
            if let Some(job) = self.pop_class(class) {
                return Some(job);
            }
            let job = registry
                .injector
                .pop_class(class)
                .inspect(|_| self.took_from_injector())
                .or_else(|| self.steal(class));
            if let Some(job) = job {
                pending.taken(class);
                return Some(job);
            }
        }
        if pending.may_have_affine() {
            let n = registry.num_slots();
            let start = self.rng.below(n);
            for k in 0..n {
                let other = (start + k) % n;
                if other == self.index {
                    continue;
                }
                if let Some(job) = registry.slot(other).mailbox.take_for(self.index, class) {
                    pending.taken_affine();
                    return Some(job);
                }
            }
        }
        None
    }

    /// One round over every other slot's deque for `class`, starting at a
    /// random one. Victims that made us retry (a lost CAS) are visited
    /// again, a bounded number of times.
    fn steal(&self, class: Priority) -> Option<JobRef> {
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
                match registry.class_stealer(victim, class).steal() {
                    Steal::Success(p) => {
                        self.counters().stolen.bump();
                        observe::event(Event::Steal { victim });
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

    /// Takes the oldest hidden job of another slot (the second half of a
    /// `join` its owner has not published; see `queue/hidden.rs`). Costly
    /// (a process-wide barrier per attempt), so only a thread about to
    /// sleep calls it. Slots that look empty are skipped without a steal.
    ///
    /// `first_since_announced`: the caller has announced itself (searching
    /// or asleep) since its last call. Then a barrier comes before the
    /// scan. It is the slow side of the Dekker with a joining owner
    /// (`WorkerLocal::join_with`: store `bottom`, light fence, read the
    /// sleep state): without it a push still in the owner's store buffer
    /// looks empty to the hint (`looks_nonempty`) while the owner's read,
    /// made before our announcement, saw nobody idle, and the half stays
    /// hidden from us for as long as its owner does not fork or wait. A
    /// thread that stays announced needs it once: every push after the
    /// barrier sees the announcement (and is promoted), every push before
    /// it is visible to our reads after it. Once per idle period rather
    /// than per sleep: a barrier per sleep made `graph-chain` 9% slower.
    #[cold]
    pub(crate) fn steal_hidden(&self, first_since_announced: bool) -> Option<JobRef> {
        if !crate::util::asym::slow_side_allowed() {
            return None;
        }
        if first_since_announced {
            crate::util::asym::heavy();
        }
        let registry = self.registry();
        let n = registry.num_slots();
        let start = self.rng.below(n);
        for k in 0..n {
            let victim = (start + k) % n;
            if victim == self.index {
                continue;
            }
            let thief = &registry.slot(victim).hidden;
            // A lost race is retried a few times: the entry is still there
            // for someone, and we are otherwise about to sleep.
            for _ in 0..4 {
                if !thief.looks_nonempty() {
                    break;
                }
                match thief.steal() {
                    Stolen::Job(job) => {
                        self.counters().stolen.bump();
                        observe::event(Event::Steal { victim });
                        return Some(job);
                    }
                    Stolen::Empty => break,
                    Stolen::Retry => {}
                }
            }
        }
        None
    }
}
