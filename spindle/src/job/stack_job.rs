//! A job that lives in its caller's stack frame (`join`'s second half, and a
//! call handed from a foreign thread to a worker).

use core::mem::MaybeUninit;
use core::ptr::NonNull;

use super::{JobHeader, JobRef, JobResult, Priority, DONE, FIBER_WAITING, SLEEPING};
use crate::fiber::FiberRef;
use crate::latch::Latch;
use crate::sleep::Parker;
use crate::sync::Arc;
use crate::sync::{Ordering, UnsafeCell};

/// `F` plus room for its result, with a [`JobHeader`] in front.
///
/// `waiter` is the parker of the thread that waits for the job: a pool
/// slot's (it lives as long as the registry, which every thread that can
/// execute the job keeps alive) or a recycled thread parker (never freed,
/// see `sleep::thread_parker`). Either way it outlives the job's frame,
/// which matters because the executor unparks it *after* setting `DONE`,
/// when the frame may already be gone.
///
/// The waiter is written only when the job is published to a queue
/// ([`publish_waiter`]), not when it is built: a `join` whose
/// second half is never shared (the common case) does not pay for it.
#[repr(C)]
pub(crate) struct StackJob<F, R> {
    head: StackHead,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
}

/// The part of every `StackJob` that does not depend on `F` and `R`, at
/// offset 0 (both structs are `#[repr(C)]` and it is the first field), so a
/// pointer to any stack job's header is also a pointer to its `StackHead`.
#[repr(C)]
pub(crate) struct StackHead {
    header: JobHeader,
    waiter: UnsafeCell<MaybeUninit<*const Parker>>,
    /// The owner's fiber, when it suspended on this job instead of
    /// sleeping (`FIBER_WAITING`). Written by the owner before it sets the
    /// bit, read by the executor after it saw the bit.
    fiber: UnsafeCell<MaybeUninit<FiberRef>>,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    /// A job running `func`. Before its `JobRef` goes into any queue, its
    /// waiter must be set with [`publish_waiter`].
    #[inline(always)]
    pub(crate) fn new(func: F) -> Self {
        Self {
            head: StackHead {
                header: JobHeader::new(Self::execute),
                waiter: UnsafeCell::new(MaybeUninit::uninit()),
                fiber: UnsafeCell::new(MaybeUninit::uninit()),
            },
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
        }
    }

    /// [`StackJob::new`] with a priority class and an affinity set id (0:
    /// any worker). Its `JobRef` comes from [`StackJob::as_tagged_job_ref`].
    pub(crate) fn with_options(func: F, priority: Priority, affinity: u32) -> Self {
        Self {
            head: StackHead {
                header: JobHeader::with_options(Self::execute, priority, affinity),
                waiter: UnsafeCell::new(MaybeUninit::uninit()),
                fiber: UnsafeCell::new(MaybeUninit::uninit()),
            },
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
        // The pointer is derived from the whole job, not from `&self.head.header`:
        // `execute` and `publish_waiter` reach the fields after the header
        // through it, which a pointer to the header alone may not do (Miri
        // reports that under Stacked Borrows). The header is at offset 0.
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

    /// The latch: the header's state word, `DONE` once the result is in.
    #[inline(always)]
    pub(crate) fn latch(&self) -> &StackHead {
        &self.head
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

    /// Records that the waiter is going to sleep; false if already done.
    #[inline]
    pub(crate) fn set_sleeping(&self) -> bool {
        // AcqRel: ordered with the executor's `fetch_or(DONE)` on the same
        // word; whichever comes second sees the other.
        self.head
            .header
            .state()
            .fetch_or(SLEEPING, Ordering::AcqRel)
            & DONE
            == 0
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
        debug_assert!(self.head.header.state().load(Ordering::Relaxed) & DONE != 0);
        self.result.with_mut(|r| {
            // SAFETY: `DONE` is set (acquired by the latch probe that ended
            // the wait), so the executor is finished with `result`; only the
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
        // `StackJob<F, R>` (this function is only installed by `new`).
        let this = unsafe { this.cast::<Self>().as_ref() };
        this.head.header.mark_started();
        // SAFETY: only the single executor touches `func` (rule 1); the
        // owner reads it only after `DONE` or if the job never left.
        let func = this.func.with_mut(|f| unsafe { (*f).take() });
        let func = func.expect("spindle: stack job ran twice");
        let result = JobResult::call(func);
        // SAFETY: as above, the owner reads `result` only after `DONE`.
        this.result.with_mut(|r| unsafe { *r = result });
        // Read what we need to wake the owner *before* `DONE`: after it, the
        // owner may return and pop the frame holding `this`.
        // SAFETY: the job came out of a queue, and `publish_waiter` wrote
        // the waiter before it went in (the queue's release/acquire pair
        // orders that write before this read); nobody writes it afterwards.
        let waiter = this.head.waiter.with(|w| unsafe { (*w).assume_init() });
        // Release: publishes the result. Acquire: nothing, but `fetch_or`
        // must see the owner's `SLEEPING` if it was set first.
        let old = this.head.header.state().fetch_or(DONE, Ordering::AcqRel);
        if old & FIBER_WAITING != 0 {
            // The owner's fiber is suspended until we wake it, so its frame
            // (and `this`) is still alive here, whatever `DONE` says.
            // SAFETY: the owner wrote `fiber` before its `fetch_or` of
            // `FIBER_WAITING`, which our AcqRel `fetch_or` read.
            let fiber = this.head.fiber.with(|f| unsafe { (*f).assume_init() });
            fiber.wake();
        } else if old & SLEEPING != 0 {
            // SAFETY: the waiter's parker outlives the job (`new`'s contract).
            unsafe { (*waiter).unpark() };
        }
    }
}

/// Records `waiter` as the thread to wake when the job completes; call
/// it before the job's `JobRef` goes into a queue.
///
/// # Safety
///
/// `job` must come from [`StackJob::as_job_ref`] of a live stack job
/// (of any `F`, `R`) that is in no queue and not executing, and
/// `waiter` must outlive every thread that may execute it (see the
/// type's docs).
#[inline]
pub(crate) unsafe fn publish_waiter(job: JobRef, waiter: *const Parker) {
    // SAFETY: every stack job starts with a `StackHead` at offset 0, so
    // its header address is its `StackHead` address; the job is live and
    // not shared yet, so this thread is the only one touching `waiter`.
    unsafe {
        let head = job.header_ptr().cast::<StackHead>();
        (*head.as_ptr()).waiter.with_mut(|w| (*w).write(waiter));
    }
}

/// A stack job's latch: the `DONE` bit of its header's state word. The job
/// knows its owner's parker already, so sleeping only sets `SLEEPING`.
impl Latch for StackHead {
    #[inline]
    fn probe(&self) -> bool {
        self.header.state().load(Ordering::Acquire) & DONE != 0
    }

    fn prepare_sleep(&self, _parker: &Arc<Parker>) -> bool {
        // AcqRel: our SLEEPING must be ordered with the setter's `fetch_or`
        // of DONE; whichever RMW comes second sees the other.
        self.header.state().fetch_or(SLEEPING, Ordering::AcqRel) & DONE == 0
    }

    fn prepare_fiber_wait(&self, fiber: FiberRef) -> bool {
        // SAFETY: only the owner writes `fiber`, and the executor reads it
        // only after seeing `FIBER_WAITING`, which we set below (release).
        // A previous suspension on this job ended with the executor's
        // wake, after its read.
        self.fiber.with_mut(|f| unsafe { (*f).write(fiber) });
        self.header
            .state()
            .fetch_or(FIBER_WAITING, Ordering::AcqRel)
            & DONE
            == 0
    }
}
