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
        let result = JobResult::call(func);
        // SAFETY: as above, the owner reads `result` only after the set.
        this.result.with_mut(|r| unsafe { *r = result });
        // Publishes the result; the job may be gone right after.
        // SAFETY: live until set; set once, here.
        unsafe { WaitCell::set(&this.cell) };
    }
}
