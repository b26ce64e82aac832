//! Waiting without blocking a thread: run other jobs until the latch is
//! set, sleep only when there is nothing to run.

use super::WorkerLocal;
use crate::latch::Latch;
use crate::util::Backoff;

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
            if let Some(job) = self.find_local() {
                if searching {
                    sleep.stop_searching(true);
                    searching = false;
                }
                self.execute(job);
                backoff.reset();
                continue;
            }
            if let Some(job) = self.find_remote() {
                if searching {
                    sleep.stop_searching(true);
                    searching = false;
                }
                self.execute(job);
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
