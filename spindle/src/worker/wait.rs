//! Waiting without blocking a thread: suspend the running context if a
//! fiber can take over, else run other jobs on this stack while it has
//! room, else sleep until the wait is over or a fiber is ready.

use super::WorkerLocal;
use crate::sync::block::{Blocker, Help};
use crate::sync::wait_cell::WaitCell;
use crate::util::stack::approximate_sp;
use crate::util::Backoff;

/// Where a context's stack bounds are unknown (a thread whose system does
/// not say), how many jobs a wait may run nested on it.
const HELP_DEPTH_UNKNOWN: u32 = 64;
/// Room a helping wait leaves free below itself, at least: the job it
/// runs needs stack too.
const HELP_RESERVE_MIN: usize = 64 * 1024;
/// ... and at most (a quarter of the stack in between).
const HELP_RESERVE_MAX: usize = 1024 * 1024;

/// The room a helping wait keeps free on a stack of `size` bytes.
fn help_reserve(size: usize) -> usize {
    (size / 4).clamp(HELP_RESERVE_MIN, HELP_RESERVE_MAX)
}

impl WorkerLocal {
    /// Returns once `cell` is set, running other jobs meanwhile.
    #[inline]
    pub(crate) fn wait_until(&self, cell: &WaitCell) {
        if !cell.probe() {
            self.wait_until_cold(cell);
        }
    }

    /// True if the running context's stack has room to run one more job
    /// on top of a waiting frame: more than a reserve left (a quarter of
    /// the stack, within 64 KiB..1 MiB), or, where the stack's bounds are
    /// unknown, fewer than `HELP_DEPTH_UNKNOWN` jobs nested so far.
    fn stack_has_room(&self) -> bool {
        let bounds = match self.current_stack() {
            Some(b) => b,
            None => return self.help_depth.get() < HELP_DEPTH_UNKNOWN,
        };
        let (low, size) = bounds;
        approximate_sp().saturating_sub(low) > help_reserve(size)
    }

    /// The wait itself (see the module docs). A wait that can neither
    /// suspend nor help parks: only where every fiber is in use (or there
    /// are none) *and* the stack is deep, and then other threads run the
    /// work; the wait returns once its cell is set.
    #[cold]
    #[inline(never)]
    fn wait_until_cold(&self, cell: &WaitCell) {
        let registry = self.registry();
        let sleep = &registry.sleep;
        let mut searching = false;
        let mut backoff = Backoff::new();
        let mut fell_back = false;
        while !cell.probe() {
            if registry.main_jobs.pending_here() {
                if searching {
                    sleep.stop_searching_idle(|| registry.has_work());
                    searching = false;
                }
                registry.run_main_jobs_here();
                backoff.reset();
                continue;
            }
            if self.can_switch() {
                if searching {
                    sleep.stop_searching_idle(|| registry.has_work());
                    searching = false;
                }
                if self.suspend_until(cell) {
                    break;
                }
            }
            if self.has_fibers() && !fell_back {
                self.counters().fiber_fallbacks.bump();
                fell_back = true;
            }
            let room = self.stack_has_room();
            let job = if room {
                self.find_local().or_else(|| self.find_remote())
            } else {
                None
            };
            if let Some(job) = job {
                if searching {
                    sleep.stop_searching(true);
                    searching = false;
                }
                self.run_nested(job);
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
            // Before sleeping: work another worker keeps hidden.
            if room {
                if let Some(job) = self.steal_hidden() {
                    sleep.stop_searching(true);
                    searching = false;
                    self.run_nested(job);
                    backoff.reset();
                    continue;
                }
            }
            if !room {
                self.expose_before_parking();
            }
            let parker = sleep.parker(self.index);
            if cell.prepare_sleep(parker) {
                self.counters().parks.bump();
                sleep.sleep(self.index, || {
                    cell.probe()
                        || (room && registry.has_work_for(self.index))
                        || self.can_switch()
                        || registry.main_jobs.pending_here()
                });
            }
            backoff.reset();
        }
        if searching {
            sleep.stop_searching_idle(|| registry.has_work());
        }
    }

    /// Runs a job on top of a waiting frame, counting the depth.
    fn run_nested(&self, job: crate::job::JobRef) {
        let depth = self.help_depth.get();
        self.help_depth.set(depth + 1);
        self.execute(job);
        self.help_depth.set(depth);
    }
}

/// How sync primitives ([`Event`](crate::Event), [`Mutex`](crate::Mutex))
/// wait on a thread that runs this slot: as a `join` does, or, for a lock,
/// without running other jobs on the waiting stack.
impl Blocker for WorkerLocal {
    fn block(&self, cell: &WaitCell, help: Help) {
        match help {
            Help::Allowed => self.wait_until(cell),
            Help::Forbidden => self.wait_without_helping(cell),
        }
    }
}
