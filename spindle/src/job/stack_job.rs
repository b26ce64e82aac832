//! A job that lives in its caller's stack frame (`join`'s second half, and a
//! call handed from a foreign thread or another pool to a worker).

use core::ptr::NonNull;

use super::{JobHeader, JobRef, JobResult, Priority};
use crate::facade::UnsafeCell;
use crate::sync::wait_cell::WaitCell;

/// `F` plus room for its result, with a [`JobHeader`] in front and the
/// [`WaitCell`] its owner waits on.
///
/// The owner builds it in its frame, hands its [`JobRef`] to a queue (or
/// keeps it on its private stack), and, unless it takes the job back
/// unexecuted, waits on [`StackJob::cell`] before the frame goes away.
/// The executor writes the result and then sets the cell, touching the job
/// no more after that (the cell's rule 2): the frame may be gone the
/// moment the owner sees the cell set.
#[repr(C)]
pub(crate) struct StackJob<F, R> {
    header: JobHeader,
    cell: WaitCell,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    /// A job running `func`.
    #[inline(always)]
    pub(crate) fn new(func: F) -> Self {
        Self {
            header: JobHeader::new(Self::execute),
            cell: WaitCell::new(),
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
        }
    }

    /// [`StackJob::new`] with a priority class and an affinity set id (0:
    /// any worker). Its `JobRef` comes from [`StackJob::as_tagged_job_ref`].
    pub(crate) fn with_options(func: F, priority: Priority, affinity: u32) -> Self {
        Self {
            header: JobHeader::with_options(Self::execute, priority, affinity),
            cell: WaitCell::new(),
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
        }
    }

    /// A reference to this job for a queue.
    ///
    /// # Safety
    ///
    /// `self` must stay where it is (not moved, not dropped) until its cell
    /// is set, or until the `JobRef` is taken back unexecuted.
    #[inline(always)]
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        // The pointer is derived from the whole job, not from `&self.header`:
        // `execute` reaches the fields after the header through it, which a
        // pointer to the header alone may not do (Miri reports that under
        // Stacked Borrows). The header is at offset 0.
        // SAFETY: the caller keeps `self` alive and in place.
        unsafe { JobRef::new(NonNull::from(self).cast::<JobHeader>(), Priority::Normal) }
    }

    /// Like [`StackJob::as_job_ref`], for a job made by `with_options`.
    ///
    /// # Safety
    ///
    /// As for [`StackJob::as_job_ref`].
    pub(crate) unsafe fn as_tagged_job_ref(&self) -> JobRef {
        // SAFETY: as in `as_job_ref`.
        unsafe { JobRef::from_header(NonNull::from(self).cast::<JobHeader>()) }
    }

    /// What the owner waits on: set once the result is in.
    #[inline(always)]
    pub(crate) fn cell(&self) -> &WaitCell {
        &self.cell
    }

    /// Runs the closure here, without the queue (it was never shared).
    /// Takes the closure out in place: moving the whole job would copy it.
    #[inline(always)]
    pub(crate) fn run_inline(&self) -> R {
        // SAFETY: the job never left this thread (popped back from the
        // private stack), so nobody else touches `func`.
        let f = self.func.with_mut(|f| unsafe { (*f).take() });
        (f.expect("spindle: stack job ran twice"))()
    }

    /// The result of a job that was executed through its `JobRef`; resumes
    /// its panic if it panicked.
    pub(crate) fn into_result(self) -> R {
        self.take_result()
    }

    /// [`StackJob::into_result`] through a shared reference: takes the
    /// result out, leaving `None`.
    pub(crate) fn take_result(&self) -> R {
        self.take_job_result().into_return_value()
    }

    /// The executed job's result or panic, taken out (leaving `None`).
    pub(crate) fn take_job_result(&self) -> JobResult<R> {
        debug_assert!(self.cell.probe());
        self.result.with_mut(|r| {
            // SAFETY: the cell is set (acquired by the probe that ended the
            // wait), so the executor is finished with `result`; only the
            // owner touches it now.
            unsafe { core::mem::replace(&mut *r, JobResult::None) }
        })
    }

    /// # Safety
    ///
    /// `this` points to the header of a live `StackJob<F, R>`, and the caller
    /// has the sole right to execute it.
    unsafe fn execute(this: NonNull<JobHeader>) {
        // SAFETY: the header is at offset 0 of a `#[repr(C)]`
        // `StackJob<F, R>`: `new` and `with_options` install this function
        // in the header of exactly that type.
        let this = unsafe { this.cast::<Self>().as_ref() };
        this.header.mark_started();
        // SAFETY: only the single executor touches `func` (rule 1); the
        // owner reads it only after the cell is set or if the job never
        // left.
        let func = this.func.with_mut(|f| unsafe { (*f).take() });
        let func = func.expect("spindle: stack job ran twice");
        let span = crate::observe::span(crate::observe::Kind::Job, crate::observe::Name::of::<F>());
        let result = JobResult::call(func);
        drop(span);
        // SAFETY: as above, the owner reads `result` only after the set.
        this.result.with_mut(|r| unsafe { *r = result });
        // Publishes the result; the job may be gone right after.
        // SAFETY: live until set; set once, here.
        unsafe { WaitCell::set(&this.cell) };
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::facade::Arc;
    use crate::sleep::Sleep;
    use crate::sync::parker::Parker;
    use loom::thread;

    /// The real `StackJob`, executed through its `JobRef` on another thread
    /// while its owner waits as a pool slot does (`worker/wait.rs`):
    /// `prepare_sleep` on the job's cell with the slot's parker, then the
    /// sleep protocol. After the cell reads set, the owner takes the result
    /// from the job, which loom checks for a happens-before edge.
    ///
    /// Catches: a set without release (or a probe without acquire): the
    /// result read races the executor's write; an executor that wakes
    /// nobody when `SLEEPING` was set first, or a waiter that sleeps after
    /// the set: the owner parks forever.
    #[test]
    fn stack_job_result_is_visible_to_a_slot_waiter() {
        loom::model(|| {
            let sleep = Arc::new(Sleep::new(1));
            let job = StackJob::new(|| 42u32);
            // SAFETY: `job` stays in this frame, unmoved, until its cell is
            // set (the loop below).
            let job_ref = unsafe { job.as_job_ref() };
            // The spawn hands the `JobRef` over as a queue would.
            // SAFETY: this thread is the job's only executor.
            let executor = thread::spawn(move || unsafe { job_ref.execute() });
            sleep.start_searching();
            while !job.cell().probe() {
                if job.cell().prepare_sleep(sleep.parker(0)) {
                    sleep.sleep(0, || job.cell().probe());
                }
            }
            sleep.stop_searching(false);
            assert_eq!(job.into_result(), 42);
            executor.join().unwrap();
        });
    }

    /// A call handed from a thread outside the pool: the thread pushes the
    /// stack job through the real injector and parks on its own parker; a
    /// worker pops the job and executes it. The result must be visible
    /// once the cell is set, and the wake must not be lost.
    ///
    /// Catches: a result not released by the set, a parker read after the
    /// set (it may be gone), and a lost unpark between `prepare_sleep` and
    /// `park`.
    #[test]
    fn stack_job_through_injector_wakes_an_outside_waiter() {
        use crate::queue::injector::Injector;
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
            // SAFETY: `job` stays in this frame until its cell is set.
            let job_ref = unsafe { job.as_job_ref() };
            inj.push(job_ref);
            while !job.cell().probe() {
                if job.cell().prepare_sleep(&parker) {
                    parker.park();
                }
            }
            assert_eq!(job.into_result(), 7);
            worker.join().unwrap();
        });
    }
}
