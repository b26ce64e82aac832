//! Completion signals that a waiting slot can sleep on.
//!
//! A latch is set once by whoever finishes the work. A waiter on a slot
//! with fibers calls [`Latch::prepare_fiber_wait`] and suspends its fiber;
//! the setter makes that fiber ready again. Otherwise the waiter helps
//! (runs other jobs); when there is nothing to help with, it calls
//! [`Latch::prepare_sleep`], which records that the setter must unpark it,
//! and then sleeps through the pool's sleep protocol. The setter must read
//! everything it needs to wake the waiter *before* it sets the latch: the
//! latch may live in the waiter's stack frame and vanish the moment the
//! waiter sees it set (the same rule as rayon's `Latch::set` taking a raw
//! pointer).

use crate::fiber::FiberRef;
use crate::sleep::Parker;
use crate::sync::Arc;

/// Something a slot can wait for while running other jobs.
pub(crate) trait Latch {
    /// True once set; `Acquire`, so the work's results are visible.
    fn probe(&self) -> bool;

    /// Arranges for `parker` to be unparked when the latch is set. Returns
    /// false if it is already set (then the caller must not sleep).
    fn prepare_sleep(&self, parker: &Arc<Parker>) -> bool;

    /// Arranges for `fiber` to be woken ([`FiberRef::wake`], once) when the
    /// latch is set; the caller then suspends it. Returns false if the
    /// latch is already set (then nothing is recorded and the caller must
    /// not suspend).
    ///
    /// The setter may touch the latch after setting it when a fiber waits:
    /// the fiber stays suspended, and so the latch's memory alive, until
    /// that wake.
    fn prepare_fiber_wait(&self, fiber: FiberRef) -> bool;
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sleep::Sleep;
    use loom::thread;

    /// The real `StackJob`, executed through its `JobRef` on another thread
    /// while its owner waits as a pool slot does (`worker/wait.rs`):
    /// `prepare_sleep` on the job's latch, then the sleep protocol. After
    /// the latch reads `DONE` the owner takes the result from the job's
    /// cell, which loom checks for a happens-before edge.
    ///
    /// Catches: `DONE` set without release (or probed without acquire): the
    /// result read races the executor's write; an executor that wakes
    /// nobody when `SLEEPING` was set first, or a waiter that sleeps after
    /// `DONE`: the owner parks forever.
    #[test]
    fn stack_job_result_is_visible_to_a_slot_waiter() {
        use crate::job::{publish_waiter, StackJob};
        loom::model(|| {
            let sleep = Arc::new(Sleep::new(1));
            let job = StackJob::new(|| 42u32);
            // SAFETY: `job` stays in this frame, unmoved, until its latch
            // reads `DONE` (the loop below).
            let job_ref = unsafe { job.as_job_ref() };
            let parker: *const Parker = &**sleep.parker(0);
            // SAFETY: the job is in no queue yet; the parker lives in
            // `sleep`, which outlives the executor (joined below).
            unsafe { publish_waiter(job_ref, parker) };
            // The spawn hands the `JobRef` over as a queue would.
            // SAFETY: this thread is the job's only executor.
            let executor = thread::spawn(move || unsafe { job_ref.execute() });
            sleep.start_searching();
            while !job.latch().probe() {
                if job.latch().prepare_sleep(sleep.parker(0)) {
                    sleep.sleep(0, || job.latch().probe());
                }
            }
            sleep.stop_searching(false);
            assert_eq!(job.into_result(), 42);
            executor.join().unwrap();
        });
    }

    /// `Pool::run_on_worker`'s hand-over with the real types: an outside
    /// thread publishes its waiter, pushes the stack job through the
    /// injector and parks on its own parker (`set_sleeping`, then `park`);
    /// a worker pops the job and executes it. The result must be visible
    /// once `DONE` is.
    ///
    /// Catches: a waiter write not ordered before the executor's read (it
    /// must travel with the job through the queue), a result not released
    /// by `DONE`, and a lost unpark between `set_sleeping` and `park`.
    #[test]
    fn stack_job_through_injector_wakes_outside_waiter() {
        use crate::injector::Injector;
        use crate::job::{publish_waiter, StackJob};
        loom::model(|| {
            let parker = Arc::new(Parker::new());
            let inj = Arc::new(Injector::new());
            let i2 = inj.clone();
            let worker = thread::spawn(move || loop {
                if let Some(job) = i2.pop() {
                    // SAFETY: popped from the queue, so ours to execute once.
                    unsafe { job.execute() };
                    return;
                }
                thread::yield_now();
            });
            let job = StackJob::new(|| 7u64);
            // SAFETY: `job` stays in this frame until its latch reads `DONE`.
            let job_ref = unsafe { job.as_job_ref() };
            // SAFETY: not queued yet; `parker` outlives the worker (joined
            // below, and this `Arc` lives until then).
            unsafe { publish_waiter(job_ref, Arc::as_ptr(&parker)) };
            inj.push(job_ref);
            while !job.latch().probe() {
                if job.set_sleeping() {
                    parker.park();
                }
            }
            assert_eq!(job.into_result(), 7);
            worker.join().unwrap();
        });
    }
}
