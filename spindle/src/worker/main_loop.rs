//! The loop a worker runs for the life of the pool: on its thread's own
//! stack at first, and on a pooled fiber whenever the context that ran it
//! is suspended.

use super::{set_current, SlotBox, WorkerLocal};
use crate::facade::Arc;
use crate::pool::registry::Registry;
use crate::util::Backoff;

/// Entry point of a worker thread: runs jobs until the pool terminates and
/// every queue is empty.
pub(crate) fn run_worker(local: SlotBox, registry: Arc<Registry>) {
    // SAFETY: `local` lives until the end of this function, after it is
    // replaced again below, and only this thread runs it.
    let prev = unsafe { set_current(local.as_ptr()) };
    debug_assert!(prev.is_null(), "a worker thread already ran a slot");
    local.set_root_stack();
    #[cfg(spindle_fibers)]
    if local.has_fibers() {
        // A fiber stack overflow is reported from the signal handler,
        // which needs a stack of its own.
        crate::fiber::guard::ensure_altstack();
    }
    crate::observe::worker_started(&registry, local.index());
    registry.worker_started(local.index());
    local.run_loop();
    debug_assert!(local.on_root() && local.all_fibers_free());
    // Still current: the hook may ask for its worker index.
    registry.worker_stopping(local.index());
    // SAFETY: restores what was current before (null on a worker thread).
    unsafe { set_current(prev) };
    drop(local);
    // The last worker out finishes shutdown (the pool's drop may have
    // detached the threads rather than joined them).
    Registry::worker_exited(&registry);
    drop(registry);
}

impl WorkerLocal {
    /// Takes, in order: a ready fiber, a job of its own, a job from
    /// elsewhere; spins briefly, then sleeps.
    ///
    /// On the root context it returns once the pool terminates, every queue
    /// is empty and none of the slot's fibers is suspended (a suspended one
    /// waits for a job that will still run, and must resume before the
    /// thread ends). On a pooled fiber it never returns: the fiber leaves
    /// by switching to a ready one (`resume_ready`).
    pub(crate) fn run_loop(&self) {
        let registry = self.registry();
        let sleep = &registry.sleep;
        let mut searching = false;
        // `steal_hidden`'s barrier is done for this search.
        let mut hidden_fenced = false;
        let mut backoff = Backoff::new();
        // A fiber started by `yield_now` runs one job before it resumes
        // ready fibers, the yielder among them.
        let mut skip_ready = self.take_yield_pass();
        // Voted to exit (`Registry::vote_exit`): runs nothing until it
        // takes the vote back.
        let voted = core::cell::Cell::new(false);
        loop {
            if voted.get() {
                if registry.exit_decided() {
                    break;
                }
                if !registry.has_work_for(self.index) && !self.has_ready_fiber() {
                    sleep.sleep(self.index, || {
                        registry.has_work_for(self.index)
                            || self.has_ready_fiber()
                            || registry.exit_decided()
                    });
                    continue;
                }
                if !registry.unvote(&voted) {
                    break;
                }
            }
            if registry.main_jobs.pending_here() {
                // The participant slot's fibers, on the thread that built
                // the pool: main-thread jobs first.
                registry.run_main_jobs_here();
            }
            // Ready fibers first, except when a fairness pick is due
            // (`count_wake`): fibers that keep waking each other would
            // otherwise keep this slot's deque waiting forever.
            if !skip_ready && !self.fair_due.get() && self.has_ready_fiber() {
                if searching {
                    sleep.stop_searching_idle(|| registry.has_work());
                    searching = false;
                }
                if self.resume_ready() {
                    backoff.reset();
                    continue;
                }
            }
            skip_ready = false;
            if let Some(job) = self.find_local(true) {
                if searching {
                    sleep.stop_searching(true);
                    searching = false;
                }
                self.execute(job);
                backoff.reset();
                continue;
            }
            // Read the flag *before* scanning: every job queued before
            // shutdown began is then visible to the scan (the flag's store
            // is a release after the submission, our load an acquire).
            let terminating = registry.is_terminating();
            if let Some(job) = self.find_remote(true) {
                if searching {
                    sleep.stop_searching(true);
                    searching = false;
                }
                self.execute(job);
                backoff.reset();
                continue;
            }
            // Only a thread that found nothing anywhere counts as searching:
            // a steal that succeeds at once costs no write to the shared
            // sleep state.
            if !searching {
                sleep.start_searching();
                searching = true;
                hidden_fenced = false;
            }
            // Nothing anywhere. Shutdown runs every queued job first, so we
            // leave only when the queues were empty after we saw the flag,
            // only from the thread's own stack with no fiber suspended, and
            // only once every worker is there (`vote_exit`).
            let can_exit = self.on_root() && self.all_fibers_free();
            if terminating && can_exit && !self.has_ready_fiber() {
                if registry.vote_exit(&voted) {
                    break;
                }
                if voted.get() {
                    continue;
                }
            }
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            // Before sleeping: work another worker keeps hidden (a `join`
            // half whose owner may never publish it; `queue/hidden.rs`).
            if let Some(job) = self.steal_hidden(!core::mem::replace(&mut hidden_fenced, true)) {
                sleep.stop_searching(true);
                searching = false;
                self.execute(job);
                backoff.reset();
                continue;
            }
            self.counters().parks.bump();
            let has_work = || {
                registry.has_work_for(self.index)
                    || self.has_ready_fiber()
                    || (can_exit && registry.is_terminating())
                    || registry.main_jobs.pending_here()
            };
            self.sleep_or_drive(has_work);
            backoff.reset();
        }
        if searching {
            sleep.stop_searching_idle(|| registry.has_work());
        }
    }
}

impl WorkerLocal {
    /// After the event driver woke `woken` tasks from this thread (queued
    /// on this slot's deque, newest on top): the loop's next picks take
    /// the deque oldest first, as after a yield (`push_behind`), so a
    /// batch of I/O and timer wakes runs in the order it came.
    #[cfg(all(not(loom), any(unix, windows)))]
    pub(crate) fn after_driver_wakes(&self, woken: usize) {
        if woken > 0 {
            self.fifo_left.set(self.deque.len());
        }
    }

    /// A sleep of this slot (the loop's, or a wait's): in the event driver
    /// if the pool has one and no other thread drives it (see
    /// `driver/mod.rs`), else on the parker. A sleeper on the parker
    /// re-checks that the driver is still taken (S3), and a busy worker
    /// that took it for a moment (`poll_if_due`) wakes a sleeper after:
    /// so a sleeper never stays on its parker while the driver is free.
    /// Wakers claim the driving sleeper last (`Sleep::set_driving`).
    pub(crate) fn sleep_or_drive(&self, has_work: impl Fn() -> bool) {
        crate::observe::event(crate::observe::Event::Park);
        self.sleep_or_drive_quietly(has_work);
        crate::observe::event(crate::observe::Event::Unpark);
    }

    fn sleep_or_drive_quietly(&self, has_work: impl Fn() -> bool) {
        let registry = self.registry();
        #[cfg(all(not(loom), any(unix, windows)))]
        if let Some(driver) = registry.driver_if_any() {
            if let Some(drive) = driver.try_drive() {
                let wake = || drive.driver().notify();
                let woken = core::cell::Cell::new(0);
                registry.sleep.set_driving(Some(self.index));
                registry.sleep.sleep_with(self.index, has_work, |p| {
                    p.park_via(|| woken.set(drive.turn(true)), &wake)
                });
                registry.sleep.set_driving(None);
                drop(drive);
                self.after_driver_wakes(woken.get());
                return;
            }
            registry
                .sleep
                .sleep(self.index, || has_work() || driver.is_free());
            return;
        }
        registry.sleep.sleep(self.index, has_work);
    }
}
