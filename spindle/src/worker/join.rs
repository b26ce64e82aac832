//! `join` on a slot: the second half goes on the private stack, the first
//! half runs here, and the second half runs inline unless a thief got it.

use core::mem::ManuallyDrop;

use super::WorkerLocal;
use crate::job::{JobResult, StackJob};

impl WorkerLocal {
    /// Runs `a` and `b`, potentially in parallel; `a` on this thread.
    ///
    /// The unstolen path: construct `b`'s job in this frame, push it on the
    /// private stack (plain stores), run `a`, pop it back, run `b`. The only
    /// shared-memory access is the relaxed read of the sleep state in
    /// `promote_if_starved`, which stays in our cache while nobody steals.
    ///
    /// The body is its own function (`join_outlined`): inlining it into
    /// recursive callers made fib 50% slower (bigger frames at every
    /// level). It takes `b` by value, which is free for a closure of up to
    /// two words (passed in registers). A bigger closure would be passed
    /// through memory and copied into the job with wide loads right after
    /// the caller stored it with narrow ones, a store-forwarding stall that
    /// made skynet 30% slower; such a closure stays in this (inlined)
    /// frame, and a one-word [`BorrowedFn`] handle to it travels instead.
    #[inline(always)]
    pub(crate) fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        if core::mem::size_of::<B>() <= 2 * core::mem::size_of::<usize>() {
            self.join_outlined(a, b)
        } else {
            let mut b = ManuallyDrop::new(b);
            let b = BorrowedFn(&mut b);
            self.join_outlined(a, move || b.call())
        }
    }

    #[inline(never)]
    fn join_outlined<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        self.join_with(a, &StackJob::new(b))
    }

    #[inline(always)]
    fn join_with<A, B, RA, RB>(&self, a: A, job_b: &StackJob<B, RB>) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        // SAFETY: `job_b` lives in our caller's frame until we return, and
        // we return only after its `JobRef` is either popped back
        // unexecuted (`pop_if_private`) or its latch is set (`wait_until`);
        // the guard below keeps that true on unwinding.
        let b_ref = unsafe { job_b.as_job_ref() };
        let index = self.private.push(b_ref);
        match index {
            Some(_) => self.promote_if_starved(),
            None => {
                // SAFETY: `b_ref` is in no queue yet; our slot's parker lives
                // in the registry, which outlives every thread that can run
                // the job.
                unsafe { crate::job::publish_waiter(b_ref, self.parker) };
                self.push_public(b_ref)
            }
        }
        let guard = Unwinding {
            worker: self,
            job: job_b,
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
        (ra, job_b.take_result())
    }
}

impl WorkerLocal {
    /// `join` with options for `b`: `b` is queued where its class (or its
    /// affinity) says, never on the private stack, and this thread runs
    /// `a`, then waits for `b` while running other jobs (`b` itself, if
    /// it may and nobody took it).
    pub(crate) fn join_placed<A, B, RA, RB>(
        &self,
        a: A,
        b: B,
        placement: crate::registry::Placement,
    ) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let job_b = StackJob::with_options(b, placement.priority, placement.affinity);
        // SAFETY: `job_b` lives in this frame until its latch is set
        // (`wait_until` below, or the guard's when `a` unwinds).
        let b_ref = unsafe { job_b.as_tagged_job_ref() };
        // SAFETY: not queued yet; our parker lives in the registry, which
        // outlives every thread that can run the job.
        unsafe { crate::job::publish_waiter(b_ref, self.parker) };
        self.push_public(b_ref);
        let guard = Unwinding {
            worker: self,
            job: &job_b,
            index: None,
        };
        let ra = a();
        core::mem::forget(guard);
        self.wait_until(job_b.latch());
        (ra, job_b.take_result())
    }
}

/// A closure that stays in its caller's frame while a one-word handle to
/// it travels: calls it, or drops it if never called.
struct BorrowedFn<'a, F>(&'a mut ManuallyDrop<F>);

impl<F: FnOnce() -> R, R> BorrowedFn<'_, F> {
    #[inline(always)]
    fn call(self) -> R {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the closure is taken once,
        // here, and not again by `Drop`.
        let f = unsafe { ManuallyDrop::take(this.0) };
        f()
    }
}

impl<F> Drop for BorrowedFn<'_, F> {
    fn drop(&mut self) {
        // SAFETY: `call` forgets `self`, so reaching `drop` means the
        // closure was never taken.
        unsafe { ManuallyDrop::drop(self.0) }
    }
}

/// If `a` unwinds, `b` still runs (every job handed to `join` runs
/// exactly once), and it must not be left in a queue or running on another
/// thread while this frame goes away: run it here if it is still private,
/// else wait for it. `a`'s panic is the one re-raised; a panic of `b` goes
/// to the pool's panic handler, so no panic is silently lost.
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
        let private = match self.index {
            Some(i) => self.worker.private.pop_if_private(i),
            None => false,
        };
        let result = if private {
            // Never shared: run it here. We are unwinding, so its panic
            // must be caught (a second panic in a drop would abort).
            JobResult::call(|| self.job.run_inline())
        } else {
            // Shared: it runs (here or on a thief) before the frame is gone.
            self.worker.wait_until(self.job.latch());
            self.job.take_job_result()
        };
        if let JobResult::Panic(p) = result {
            self.worker.registry().handle_panic(p);
        }
    }
}
