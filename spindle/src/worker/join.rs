//! `join` on a slot: the second half goes on the private stack, the first
//! half runs here, and the second half runs inline unless a thief got it.

use super::WorkerLocal;
use crate::job::StackJob;

impl WorkerLocal {
    /// Runs `a` and `b`, potentially in parallel; `a` on this thread.
    ///
    /// The unstolen path: construct `b`'s job in this frame, push it on the
    /// private stack (plain stores), run `a`, pop it back, run `b`. The only
    /// shared-memory access is the relaxed read of our own deque's ends in
    /// `promote_if_starved`, which stays in our cache while nobody steals.
    #[inline]
    pub(crate) fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        // SAFETY: our slot's parker lives in the registry, which outlives
        // every thread that can run the job.
        let job_b = unsafe { StackJob::new(b, self.parker) };
        // SAFETY: `job_b` stays in this frame until its `JobRef` is either
        // popped back unexecuted (`pop_if_private`) or its latch is set
        // (`wait_until`); the guard below keeps that true on unwinding.
        let b_ref = unsafe { job_b.as_job_ref() };
        let index = self.private.push(b_ref);
        match index {
            Some(_) => self.promote_if_starved(),
            None => self.push_public(b_ref),
        }
        let guard = Unwinding {
            worker: self,
            job: &job_b,
            index,
        };
        let ra = a();
        core::mem::forget(guard);
        if let Some(i) = index {
            if self.private.pop_if_private(i) {
                return (ra, job_b.run_inline());
            }
        }
        self.wait_until(job_b.latch());
        (ra, job_b.into_result())
    }
}

/// If `a` unwinds, `b`'s job must not be left in a queue or running on
/// another thread while this frame goes away: take it back or wait for it.
struct Unwinding<'a, F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    worker: &'a WorkerLocal,
    job: &'a StackJob<F, R>,
    index: Option<usize>,
}

impl<F, R> Drop for Unwinding<'_, F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn drop(&mut self) {
        if let Some(i) = self.index {
            if self.worker.private.pop_if_private(i) {
                return; // never shared: dropped unexecuted with the frame
            }
        }
        // Shared: it runs (here or on a thief) before the frame is gone. Its
        // result, or its own panic, is dropped; `a`'s panic wins.
        self.worker.wait_until(self.job.latch());
    }
}
