//! A job that lives in its caller's stack frame (`join`'s second half, and a
//! call handed from a foreign thread to a worker).

use core::ptr::NonNull;

use super::{JobHeader, JobRef, JobResult, DONE, SLEEPING};
use crate::sleep::Parker;
use crate::sync::{Arc, AtomicU32, Ordering, UnsafeCell};

/// Who to unpark when the job is done and its owner sleeps.
pub(crate) enum Waiter {
    /// A pool slot's parker: it lives as long as the registry, and every
    /// thread that can execute this job keeps the registry alive.
    Slot(*const Parker),
    /// A foreign thread's parker. The executing thread takes this `Arc` out
    /// *before* setting `DONE`, because the frame holding the job may be
    /// gone the moment `DONE` is visible.
    Thread(Option<Arc<Parker>>),
}

/// `F` plus room for its result, with a [`JobHeader`] in front.
#[repr(C)]
pub(crate) struct StackJob<F, R> {
    header: JobHeader,
    waiter: UnsafeCell<Waiter>,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    pub(crate) fn new(func: F, waiter: Waiter) -> Self {
        Self {
            header: JobHeader::new(Self::execute),
            waiter: UnsafeCell::new(waiter),
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
        }
    }

    /// A reference to this job for a queue.
    ///
    /// # Safety
    ///
    /// `self` must stay where it is (not moved, not dropped) until the job's
    /// latch reads `DONE`, or until the `JobRef` is taken back unexecuted.
    #[inline(always)]
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        // SAFETY: the caller keeps `self` alive and in place.
        unsafe { JobRef::new(NonNull::from(&self.header)) }
    }

    /// The latch: the header's state word, `DONE` once the result is in.
    #[inline(always)]
    pub(crate) fn latch(&self) -> &AtomicU32 {
        self.header.state()
    }

    /// Runs the closure here, without the queue (it was never stolen).
    #[inline(always)]
    pub(crate) fn run_inline(self) -> R {
        let f = self.func.into_inner();
        // SAFETY-free: `Some` until taken by `execute`, which did not run
        // because the job never left this thread.
        (f.expect("spindle: stack job ran twice"))()
    }

    /// The result of a job that was executed through its `JobRef`; resumes
    /// its panic if it panicked.
    pub(crate) fn into_result(self) -> R {
        debug_assert!(self.latch().load(Ordering::Relaxed) & DONE != 0);
        self.result.into_inner().into_return_value()
    }

    /// # Safety
    ///
    /// `this` points to the header of a live `StackJob<F, R>`, and the caller
    /// has the sole right to execute it.
    unsafe fn execute(this: NonNull<JobHeader>) {
        // SAFETY: the header is the first field of a `#[repr(C)]`
        // `StackJob<F, R>` (this function is only installed by `new`).
        let this = unsafe { this.cast::<Self>().as_ref() };
        this.header.mark_started();
        // SAFETY: only the single executor touches `func` (rule 1); the
        // owner reads it only after `DONE` or if the job never left.
        let func = this.func.with_mut(|f| unsafe { (*f).take() });
        let func = func.expect("spindle: stack job ran twice");
        let result = JobResult::call(func);
        // SAFETY: as above, the owner reads `result` only after `DONE`.
        this.result.with_mut(|r| unsafe { *r = result });
        // Take what we need to wake the owner *before* `DONE`: after it, the
        // owner may return and pop the frame holding `this`.
        // SAFETY: `waiter` is written only at construction.
        let wake: WakeTarget = this.waiter.with_mut(|w| match unsafe { &mut *w } {
            Waiter::Slot(p) => WakeTarget::Slot(*p),
            Waiter::Thread(a) => WakeTarget::Thread(a.take()),
        });
        // Release: publishes the result. Acquire: nothing, but `fetch_or`
        // must see the owner's `SLEEPING` if it was set first.
        let old = this.header.state().fetch_or(DONE, Ordering::AcqRel);
        if old & SLEEPING != 0 {
            match wake {
                // SAFETY: slot parkers live as long as the registry, which
                // the executing thread keeps alive (see `Waiter::Slot`).
                WakeTarget::Slot(p) => unsafe { (*p).unpark() },
                WakeTarget::Thread(Some(a)) => a.unpark(),
                WakeTarget::Thread(None) => {}
            }
        }
    }
}

enum WakeTarget {
    Slot(*const Parker),
    Thread(Option<Arc<Parker>>),
}
