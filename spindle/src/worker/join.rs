//! `join` on a slot: the second half goes on the hidden deque, the first
//! half runs here, and the second half runs inline unless a thief got it.

use core::mem::ManuallyDrop;

use super::WorkerLocal;
use crate::job::{JobRef, JobResult, StackJob};

impl WorkerLocal {
    /// Runs `a` and `b`, potentially in parallel; `a` on this thread.
    ///
    /// The unstolen path: construct `b`'s job in this frame, push it on the
    /// hidden deque (plain stores), run `a`, pop it back (a store, a
    /// compiler fence and a load), run `b`. The shared lines it reads (the
    /// sleep state, the hidden deque's `top`) stay in our cache while
    /// nobody steals.
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
        // we return only after its `JobRef` is either taken back
        // unexecuted (`hidden.pop`, `take_back`) or its cell is set
        // (`wait_until`); the guard below keeps that true on unwinding.
        let b_ref = unsafe { job_b.as_job_ref() };
        let index = match self.hidden.push(b_ref) {
            Some(i) => {
                // Dekker with an idle thread: it announces itself (searching
                // or asleep) and then looks at hidden rings through the
                // barrier (`steal_hidden`); we store `bottom` above and then
                // read the sleep state in `promote_if_starved`. One of us
                // sees the other. The load must not move above the store:
                // the light side of the asymmetric fence (a compiler fence
                // on Linux; a `SeqCst` fence elsewhere).
                crate::util::asym::light();
                self.promote_if_starved();
                i
            }
            None => {
                self.push_public(b_ref);
                NOT_HIDDEN
            }
        };
        let guard = Unwinding {
            worker: self,
            job: job_b,
            index,
        };
        let ra = a();
        core::mem::forget(guard);
        if index != NOT_HIDDEN && self.hidden.pop(index) {
            return (ra, job_b.run_inline());
        }
        // Promoted (or the hidden deque was full) and still on our own
        // deque: run it here, as if it had stayed hidden.
        // SAFETY: as above; made again rather than kept across `a`.
        if self.take_back(unsafe { job_b.as_job_ref() }) {
            return (ra, job_b.run_inline());
        }
        self.wait_until(job_b.cell());
        (ra, job_b.take_result())
    }

    /// Takes a join half back if it is still queued where this slot can
    /// reach it without a search: the newest job of its deque for the
    /// job's class, or in this slot's own mailbox. True if it did; the
    /// caller then runs the job itself (as if it had never been shared).
    pub(crate) fn take_back(&self, job: JobRef) -> bool {
        if job.is_affine() {
            let registry = self.registry();
            let taken = registry
                .slot(self.index)
                .mailbox
                .remove(job.priority(), job);
            if taken {
                registry.pending.taken_affine();
            }
            return taken;
        }
        let deque = self.class_deque(job.priority());
        if deque.peek_newest() != Some(job.into_raw()) {
            return false;
        }
        // Only this thread pushes, so `pop` now gives `job` or nothing (a
        // thief took it meanwhile).
        match deque.pop() {
            Some(p) => {
                debug_assert_eq!(p, job.into_raw());
                self.registry().pending.taken(job.priority());
                true
            }
            None => false,
        }
    }
}

impl WorkerLocal {
    /// `join` with options for `b`: `b` is queued where its class (or its
    /// affinity) says, never on the hidden deque, and this thread runs
    /// `a`, then waits for `b` while running other jobs (`b` itself, if
    /// it may and nobody took it).
    pub(crate) fn join_placed<A, B, RA, RB>(
        &self,
        a: A,
        b: B,
        placement: crate::pool::registry::Placement,
    ) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let job_b = StackJob::with_options(b, placement.priority, placement.affinity);
        // SAFETY: `job_b` lives in this frame until its cell is set
        // (`wait_until` below, or the guard's when `a` unwinds).
        let b_ref = unsafe { job_b.as_tagged_job_ref() };
        self.push_public(b_ref);
        let guard = Unwinding {
            worker: self,
            job: &job_b,
            index: NOT_HIDDEN,
        };
        let ra = a();
        core::mem::forget(guard);
        // Still queued where we can reach it (our own class deque or
        // mailbox, when its options allow us): run it here.
        if self.take_back(b_ref) {
            return (ra, job_b.run_inline());
        }
        self.wait_until(job_b.cell());
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
/// thread while this frame goes away: run it here if it is still ours,
/// else wait for it. `a`'s panic is the one re-raised; a panic of `b` goes
/// to the pool's panic handler, so no panic is silently lost.
struct Unwinding<'a, F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    worker: &'a WorkerLocal,
    job: &'a StackJob<F, R>,
    /// The half's index in the hidden deque, or `NOT_HIDDEN`.
    index: usize,
}

/// A join half that never went to the hidden deque (it was full, or the
/// join has options).
const NOT_HIDDEN: usize = usize::MAX;

impl<F, R> Drop for Unwinding<'_, F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn drop(&mut self) {
        let ours = (self.index != NOT_HIDDEN && self.worker.hidden.pop(self.index)) || {
            // SAFETY: the job is alive (this frame) and its `JobRef` was made
            // the same way before: only compared here, never executed.
            let b_ref = unsafe { self.job.as_tagged_job_ref() };
            self.worker.take_back(b_ref)
        };
        let result = if ours {
            // Never shared: run it here. We are unwinding, so its panic
            // must be caught (a second panic in a drop would abort).
            JobResult::call(|| self.job.run_inline())
        } else {
            // Shared: it runs (here or on a thief) before the frame is gone.
            self.worker.wait_until(self.job.cell());
            self.job.take_job_result()
        };
        if let JobResult::Panic(p) = result {
            self.worker.registry().handle_panic(p);
        }
    }
}
