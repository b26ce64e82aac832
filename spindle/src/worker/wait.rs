//! Waiting without blocking a thread: suspend the running context if a
//! fiber can take over, else run other jobs on this stack while it has
//! room, else sleep until the wait is over or a fiber is ready.

use super::WorkerLocal;
use crate::job::JobRef;
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

/// Where a scope's own jobs begin on its slot's deque.
///
/// Taken when a scope opens: every job pushed at or above `index` while
/// the slot's generation is still `generation` was pushed by the scope's
/// body or by jobs it ran (the running context has the deque's bottom to
/// itself until it switches away, and pushes only its own spawns and
/// wakes, except a promotion of hidden join halves, which starts a new
/// generation). A wait for the scope runs those of them that some scope
/// waits for (`JobHeader::is_scope_job`), newest first, before it
/// suspends: they are the scope's own jobs (an inner scope's are all done
/// before its body returns), so running them on the waiting stack is what
/// the body would have done inline. A detached spawn or a woken task is
/// never run there: it may want a lock a frame below holds (the deadlock
/// of rayon issue #592); the main loop runs it once the wait suspends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Floor {
    index: usize,
    generation: u32,
}

impl WorkerLocal {
    /// Returns once `cell` is set, running other jobs meanwhile.
    #[inline]
    pub(crate) fn wait_until(&self, cell: &WaitCell) {
        if !cell.probe() {
            self.wait_until_cold(cell, None);
        }
    }

    /// The deque position where jobs pushed from now on begin.
    #[inline]
    pub(crate) fn floor(&self) -> Floor {
        Floor {
            index: self.deque.mark(),
            generation: self.generation.get(),
        }
    }

    /// `wait_until` for a wait whose own jobs were pushed above `floor`:
    /// runs those first, newest first, then waits as `wait_until` does.
    #[inline]
    pub(crate) fn wait_until_above(&self, cell: &WaitCell, floor: Floor) {
        if !cell.probe() {
            self.wait_until_cold(cell, Some(floor));
        }
    }

    /// Starts a new generation (see `Floor`).
    #[inline(always)]
    pub(crate) fn new_generation(&self) {
        self.generation.set(self.generation.get().wrapping_add(1));
    }

    /// The newest job of the `Normal` deque if it is above `floor` and a
    /// scope's job (one some scope waits for; a detached spawn or a woken
    /// task is left for the main loop, as it may wait on what the frames
    /// below hold).
    fn pop_above(&self, floor: Floor) -> Option<JobRef> {
        if floor.generation != self.generation.get() {
            return None;
        }
        let p = self.deque.pop_from(floor.index)?;
        // SAFETY: our deque holds only `JobRef`s; popped, so ours.
        let job = unsafe { JobRef::from_raw(p) };
        // SAFETY: popped and not executed: the header is alive.
        if unsafe { job.header_ptr().as_ref() }.is_scope_job() {
            return Some(job);
        }
        // Back where it was: the slot it left is free (only this thread
        // pushes), so the push cannot fail.
        let pushed = self.deque.push(p);
        debug_assert!(pushed.is_ok());
        None
    }

    /// True if the running context's stack has room to run one more job
    /// on top of a waiting frame: more than a reserve left (a quarter of
    /// the stack, within 64 KiB..1 MiB), or, where the stack's bounds are
    /// unknown, fewer than `HELP_DEPTH_UNKNOWN` jobs nested so far.
    pub(crate) fn stack_has_room(&self) -> bool {
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
    fn wait_until_cold(&self, cell: &WaitCell, floor: Option<Floor>) {
        let registry = self.registry();
        let sleep = &registry.sleep;
        let mut searching = false;
        // `steal_hidden`'s barrier is done for this search.
        let mut hidden_fenced = false;
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
            if let Some(floor) = floor {
                if let Some(job) = self
                    .stack_has_room()
                    .then(|| self.pop_above(floor))
                    .flatten()
                {
                    if searching {
                        sleep.stop_searching(true);
                        searching = false;
                    }
                    self.run_nested(job);
                    backoff.reset();
                    continue;
                }
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
                self.find_local(false).or_else(|| self.find_remote(false))
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
                hidden_fenced = false;
            }
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            // Before sleeping: work another worker keeps hidden.
            if room {
                if let Some(job) = self.steal_hidden(!core::mem::replace(&mut hidden_fenced, true))
                {
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
                self.sleep_or_drive(|| {
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
    pub(crate) fn run_nested(&self, job: crate::job::JobRef) {
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
