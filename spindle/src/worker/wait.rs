//! Waiting without blocking a thread: run other jobs until the latch is
//! set, sleep only when there is nothing to run.

use super::WorkerLocal;
use crate::latch::Latch;
use crate::util::Backoff;
use std::time::{Duration, Instant};

/// How many jobs a slot may run nested inside its waits (each help runs a
/// job on top of the waiting frame) before a wait prefers its own work.
/// Past it, a wait takes only jobs from this slot's own deques and
/// mailbox (work its own frames queued, or work only it may run) until it
/// has found nothing there for `DEEP_GRACE`; then it looks everywhere
/// again, so no job is ever left waiting for it. Without this, waits that
/// cannot run what they wait for (a `join_with` half bound to another
/// worker) took unrelated work at every level and overflowed the stack.
/// Fibers avoid the nesting altogether: a wait suspends instead.
const DEEP_HELP: u32 = 64;
const DEEP_GRACE: Duration = Duration::from_millis(1);

impl WorkerLocal {
    /// Returns once `latch` is set, running other jobs meanwhile.
    #[inline]
    pub(crate) fn wait_until<L: Latch + ?Sized>(&self, latch: &L) {
        if !latch.probe() {
            self.wait_until_cold(latch);
        }
    }

    /// With fibers, the running context suspends until the latch is set
    /// (see `fibers.rs`). Without (or with every fiber in use), the thread
    /// runs other jobs on this stack until it is, and sleeps when there is
    /// nothing to run; it switches to suspending as soon as a fiber is
    /// ready or free again.
    #[cold]
    #[inline(never)]
    fn wait_until_cold<L: Latch + ?Sized>(&self, latch: &L) {
        if self.has_fibers() {
            if self.suspend_until(latch) {
                return;
            }
            self.counters().fiber_fallbacks.bump();
        }
        let registry = self.registry();
        let sleep = &registry.sleep;
        let mut searching = false;
        let mut backoff = Backoff::new();
        let mut deep_since = None;
        while !latch.probe() {
            if registry.main_jobs.pending_here() {
                if searching {
                    sleep.stop_searching(false);
                    searching = false;
                }
                registry.run_main_jobs_here();
                backoff.reset();
                continue;
            }
            if self.can_switch() {
                if searching {
                    sleep.stop_searching(false);
                    searching = false;
                }
                if self.suspend_until(latch) {
                    break;
                }
            }
            // Deep in nested helps, look at this slot's own work only,
            // for a while (see `DEEP_HELP`).
            let own_only = self.help_depth.get() >= DEEP_HELP
                && deep_since.get_or_insert_with(Instant::now).elapsed() < DEEP_GRACE;
            let job = if own_only {
                self.find_own()
            } else {
                self.find_local().or_else(|| self.find_remote())
            };
            if let Some(job) = job {
                if searching {
                    sleep.stop_searching(true);
                    searching = false;
                }
                let depth = self.help_depth.get();
                self.help_depth.set(depth + 1);
                self.execute(job);
                self.help_depth.set(depth);
                deep_since = None;
                backoff.reset();
                continue;
            }
            // Counted as searching only once a whole round found nothing
            // (see `main_loop`).
            if !searching {
                sleep.start_searching();
                searching = true;
            }
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            let parker = sleep.parker(self.index);
            if latch.prepare_sleep(parker) {
                self.counters().parks.bump();
                sleep.sleep(self.index, || {
                    latch.probe()
                        || registry.has_work_for(self.index)
                        || self.can_switch()
                        || registry.main_jobs.pending_here()
                });
            }
            backoff.reset();
        }
        if searching {
            sleep.stop_searching(false);
        }
    }
}
