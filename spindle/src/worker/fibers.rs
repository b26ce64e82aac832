//! A slot's fibers in motion: suspending the running context on a wait cell,
//! resuming ready ones, yielding.
//!
//! The worker always runs on one *current* context: its thread's own stack
//! (the root) or a pooled fiber. Jobs run on whatever context is current;
//! nothing switches until a job waits on something unfinished. Then the
//! current context is recorded as the cell's waiter and the worker
//! switches to a ready fiber, or else a fresh pooled fiber that runs the
//! worker loop. The waker makes the suspended fiber ready on this slot
//! (never another: see `fiber/slot.rs`), and the loop resumes ready
//! fibers before it takes new jobs.
//!
//! A pooled fiber that runs the loop and switches to a ready fiber is done:
//! it goes back to the free list (by the context it switched to, since a
//! stack cannot free itself while running on it), and its next use starts
//! afresh at [`fiber_main`].

use super::WorkerLocal;
use crate::fiber::{context, FiberRef, SlotFibers};
use crate::sync::wait_cell::WaitCell;

impl WorkerLocal {
    /// True if this slot has fibers.
    #[inline(always)]
    pub(crate) fn has_fibers(&self) -> bool {
        self.fibers.is_some()
    }

    /// This slot's fibers, if it has any.
    #[inline(always)]
    fn slot_fibers(&self) -> Option<&SlotFibers> {
        // SAFETY: the slot's fibers live in the registry, which outlives
        // the slot (`WorkerLocal::new`'s contract).
        self.fibers.map(|f| unsafe { f.as_ref() })
    }

    /// The running context. Only with fibers.
    fn current_fiber(&self) -> FiberRef {
        self.current.get().expect("spindle: slot without fibers")
    }

    /// The running context's stack, `(lowest address, size)`, if known.
    pub(crate) fn current_stack(&self) -> Option<(usize, usize)> {
        match self.current.get() {
            Some(cur) => self.stack_of(cur),
            None => self.root_stack.get(),
        }
    }

    /// The stack a context of this slot runs on, `(lowest address, size)`,
    /// if known.
    fn stack_of(&self, context: FiberRef) -> Option<(usize, usize)> {
        let fiber = context.get();
        if !fiber.low.is_null() {
            // The usable size, whole pages (`stack_size` is what was asked).
            return Some((fiber.low as usize, fiber.top as usize - fiber.low as usize));
        }
        self.root_stack.get()
    }

    /// True if the running context is the thread's own stack.
    pub(crate) fn on_root(&self) -> bool {
        match (self.slot_fibers(), self.current.get()) {
            (Some(f), Some(cur)) => f.root() == cur,
            _ => true,
        }
    }

    /// True if some fiber of this slot is ready to resume.
    #[inline(always)]
    pub(crate) fn has_ready_fiber(&self) -> bool {
        self.slot_fibers()
            .is_some_and(|f| f.has_ready() || !self.ready_local.borrow().is_empty())
    }

    /// True if every pooled fiber made so far is free: nothing of this
    /// slot is suspended except, possibly, the running context.
    pub(crate) fn all_fibers_free(&self) -> bool {
        self.free.borrow().len() == self.made.get()
    }

    /// True if the slot may make another pooled fiber.
    #[inline]
    fn can_grow(&self) -> bool {
        self.made.get() < self.fiber_cap.get()
    }

    /// The system refused a fiber stack: make no more.
    #[cold]
    fn stop_growing(&self) {
        self.fiber_cap.set(self.made.get());
    }

    /// Waits for `cell` without running other jobs on this stack: suspends
    /// when a fiber is ready or free, and otherwise parks the thread until
    /// one is (a fiber made ready unparks the slot) or the cell is set.
    pub(crate) fn wait_without_helping(&self, cell: &WaitCell) {
        let parker = self.registry().sleep.parker(self.index);
        let mut counted = false;
        loop {
            if cell.probe() {
                return;
            }
            if self.can_switch() && self.suspend_until(cell) {
                return;
            }
            if !counted {
                self.counters().fiber_fallbacks.bump();
                counted = true;
            }
            self.expose_before_parking();
            if cell.prepare_sleep(parker) && !self.can_switch() {
                parker.park();
            }
        }
    }

    /// True if a wait could suspend now: some fiber is ready or free, or
    /// one more may be made.
    #[inline]
    pub(crate) fn can_switch(&self) -> bool {
        self.has_fibers()
            && (self.has_ready_fiber() || !self.free.borrow().is_empty() || self.can_grow())
    }

    /// The oldest ready fiber: those woken from anywhere are moved behind
    /// the owner's own (yielders) first, so every ready fiber is taken in
    /// the order it joined the local list.
    fn pop_ready(&self) -> Option<FiberRef> {
        let fibers = self.slot_fibers()?;
        let mut local = self.ready_local.borrow_mut();
        fibers.take_ready(&mut local);
        local.pop_front()
    }

    /// Queues one of the slot's own fibers as ready, at the back, without
    /// waking anyone (the owner is awake) and without a lock.
    fn requeue(&self, fiber: FiberRef) {
        self.ready_local.borrow_mut().push_back(fiber);
    }

    /// A free pooled fiber (a new one if none is free and the slot may
    /// make one), set up to start the worker loop.
    fn take_free(&self) -> Option<FiberRef> {
        let popped = self.free.borrow_mut().pop();
        let f = match popped {
            Some(f) => f,
            None => self.make_fiber()?,
        };
        let fiber = f.get();
        // Its last context may have been freed mid-call (ASan only).
        crate::fiber::asan::unpoison(fiber.low, fiber.top as usize - fiber.low as usize);
        // SAFETY: a free fiber's stack is unused (its last context was
        // abandoned when it was freed); `fiber_main` gets the slot, which
        // outlives every context running on it.
        let sp = unsafe {
            context::init(
                fiber.top,
                fiber_main,
                (self as *const Self).cast_mut().cast(),
            )
        };
        fiber.sp.set(sp);
        Some(f)
    }

    /// Makes a new pooled fiber, counted as made (and in use). If the
    /// system refuses its stack, the slot makes no more (a wait then helps
    /// or parks, as at the cap).
    #[cold]
    fn make_fiber(&self) -> Option<FiberRef> {
        let fibers = self.slot_fibers()?;
        if !self.can_grow() {
            return None;
        }
        match fibers.make() {
            Some(f) => {
                let made = self.made.get() + 1;
                self.made.set(made);
                // The owner's lists hold at most every fiber (the root
                // too): grow them now, so that suspending, resuming and
                // freeing never allocate.
                let mut free = self.free.borrow_mut();
                let n = free.len();
                free.reserve((made + 1).saturating_sub(n));
                let mut ready = self.ready_local.borrow_mut();
                let n = ready.len();
                ready.reserve((made + 1).saturating_sub(n));
                Some(f)
            }
            None => {
                self.stop_growing();
                None
            }
        }
    }

    /// Suspends the running context until `cell` is set, running other
    /// work on other contexts meanwhile. Returns false (and does nothing)
    /// if there is no context to switch to: every pooled fiber is in use
    /// and none is ready; the caller then helps on this stack.
    pub(crate) fn suspend_until(&self, cell: &WaitCell) -> bool {
        loop {
            if cell.probe() {
                return true;
            }
            let (next, fresh) = match self.next_context() {
                Some(next) => next,
                None => return false,
            };
            let cur = self.current_fiber();
            if !cell.prepare_suspend(cur.resume()) {
                // Set meanwhile: stay.
                if fresh {
                    self.free.borrow_mut().push(next);
                } else {
                    self.ready_local.borrow_mut().push_front(next);
                }
                return true;
            }
            self.counters().fiber_suspends.bump();
            // SAFETY: `cur` is registered as the cell's waiter, so it is
            // resumed (queued ready here) exactly once, after the cell is
            // set; `next` is ready or fresh.
            unsafe { self.switch_to(next, false) };
            // Resumed by the cell's set; the loop re-checks it.
        }
    }

    /// The context a suspending one switches to, and whether it is fresh:
    /// a ready fiber (a wake, counted as the loop counts its resumes), or
    /// a fresh fiber to run the loop. A fresh one first when a fairness
    /// pick is due, so that fibers that keep waking each other by
    /// switching straight to one another still let the loop take its
    /// oldest job (`count_wake`).
    fn next_context(&self) -> Option<(FiberRef, bool)> {
        if !self.fair_due.get() {
            if let Some(f) = self.pop_ready() {
                self.count_wake();
                return Some((f, false));
            }
        }
        if let Some(f) = self.take_free() {
            return Some((f, true));
        }
        self.pop_ready().map(|f| (f, false))
    }

    /// Leaves the running context and runs `next`. Returns when the left
    /// context is resumed (never, if `free_current`: it is then freed).
    ///
    /// Never inlined: the compiler must not keep values derived from
    /// thread-locals across it (a suspended fiber resumes on the same
    /// thread by our rule, but the call boundary keeps the rule from being
    /// the only thing between us and llvm issue 98479).
    ///
    /// # Safety
    ///
    /// `next` is a ready or freshly set up fiber of this slot, not the
    /// running one. Unless `free_current`, the running context must be
    /// queued to come back (registered as a waiter, or requeued as ready).
    #[inline(never)]
    unsafe fn switch_to(&self, next: FiberRef, free_current: bool) {
        let cur = self.current_fiber();
        debug_assert_ne!(cur, next, "switch to the running fiber");
        // The joins of the context we leave must not stay hidden behind
        // it, nor mix with the next context's (`queue/hidden.rs`).
        self.promote_all();
        if free_current {
            self.pending_free.set(Some(cur));
        }
        self.current.set(Some(next));
        self.counters().fiber_switches.bump();
        // A task's poll may be what suspends here: its record stays with
        // this context (`task/raw.rs`, `save_poll`).
        let poll = crate::task::save_poll();
        let root = self.slot_fibers().is_some_and(|f| f.root() == next);
        let observed = crate::observe::suspend(cur.id(), next.id(), root);
        let asan = crate::fiber::asan::start(self.stack_of(next), free_current);
        // SAFETY: `cur.sp` is this thread's to write; `next.sp` was saved by
        // its own suspension or set up by `take_free` (caller's contract),
        // and its stack is alive (owned by the slot's table).
        unsafe {
            if self.slot_fibers().is_some_and(|f| f.float_env()) {
                context::switch_float_env(cur.get().sp.as_ptr(), next.get().sp.get());
            } else {
                context::switch(cur.get().sp.as_ptr(), next.get().sp.get());
            }
        }
        crate::fiber::asan::finish(asan);
        crate::observe::resume(observed);
        crate::task::restore_poll(poll);
        // Resumed: on the same thread (see `fiber/slot.rs`). Re-read the
        // slot through the non-inlined accessor rather than trusting any
        // value the compiler may have cached across the switch.
        let me = current_after_switch();
        debug_assert!(core::ptr::eq(me, self), "a fiber resumed on another slot");
        // SAFETY: `me` is the running slot.
        unsafe { &*me }.after_switch();
    }

    /// Runs in the context just switched to: returns the context that
    /// switched away and freed itself to the free list.
    fn after_switch(&self) {
        if let Some(f) = self.pending_free.take() {
            self.free.borrow_mut().push(f);
        }
    }

    /// The worker loop's first check: if a fiber is ready, resume it. A
    /// pooled fiber running the loop is freed; the root requeues itself
    /// behind the ready one. Returns false if none was ready.
    pub(crate) fn resume_ready(&self) -> bool {
        let Some(next) = self.pop_ready() else {
            return false;
        };
        // A fiber resumed by the loop is work woken here: it counts
        // toward the loop's fairness pick (`count_wake`), which the loop
        // takes before the next ready fiber.
        self.count_wake();
        if self.on_root() {
            self.requeue(self.current_fiber());
            // SAFETY: `next` is ready; the root is requeued.
            unsafe { self.switch_to(next, false) };
        } else {
            // SAFETY: `next` is ready; we are freed.
            unsafe { self.switch_to(next, true) };
            unreachable!("spindle: a freed fiber resumed");
        }
        true
    }

    /// Before the participant slot passes to another thread: resumes the
    /// slot's suspended fibers until every one is free (a fiber must not
    /// move to another thread), parking while none is ready. Takes no new
    /// jobs of its own: each resumed fiber finishes its job and comes
    /// straight back here (the root is first in the ready list). Call on
    /// the root.
    pub(crate) fn drain_fibers(&self) {
        debug_assert!(self.on_root(), "drain_fibers off the root");
        let parker = self.registry().sleep.parker(self.index);
        while !self.all_fibers_free() {
            if self.resume_ready() {
                continue;
            }
            self.expose_before_parking();
            if !self.has_ready_fiber() {
                parker.park();
            }
        }
    }

    /// `yield_now` on a worker: lets other ready work run, then resumes.
    pub(crate) fn yield_now(&self) {
        if let Some(fibers) = self.slot_fibers() {
            let cur = self.current_fiber();
            // The oldest ready fiber, and we go behind it: one borrow.
            let ready = {
                let mut local = self.ready_local.borrow_mut();
                fibers.take_ready(&mut local);
                let next = local.pop_front();
                if next.is_some() {
                    local.push_back(cur);
                }
                next
            };
            let next = match ready {
                Some(f) => Some(f),
                None => self.take_free().inspect(|_| {
                    self.yield_pass.set(true);
                    self.requeue(cur);
                }),
            };
            if let Some(next) = next {
                // SAFETY: `next` is ready or fresh; we are requeued.
                unsafe { self.switch_to(next, false) };
                return;
            }
        }
        // No fiber to switch to: let the OS run another thread. Running a
        // job here, on top of ours, is not an option: it could want a lock
        // the yielding job holds, and neither could go on.
        std::thread::yield_now();
    }

    /// Consumes the "run a job before resuming the yielder" mark a fresh
    /// fiber gets from `yield_now`.
    pub(crate) fn take_yield_pass(&self) -> bool {
        self.yield_pass.replace(false)
    }
}

/// The slot running on this thread, read through a call the compiler
/// cannot see into (see `switch_to`).
#[inline(never)]
fn current_after_switch() -> *const WorkerLocal {
    super::current_ptr()
}

/// Where a pooled fiber starts: the worker loop, which it leaves only by
/// switching to a ready fiber (and being freed).
///
/// # Safety
///
/// `arg` is the `WorkerLocal` of the slot running this thread.
unsafe extern "C" fn fiber_main(arg: *mut ()) -> ! {
    // SAFETY: `take_free` passes the running slot, which outlives the
    // contexts it runs.
    let local = unsafe { &*arg.cast::<WorkerLocal>() };
    crate::fiber::asan::entered();
    local.after_switch();
    let run = std::panic::AssertUnwindSafe(|| local.run_loop());
    let result = std::panic::catch_unwind(run);
    // The loop never returns on a pooled fiber, and jobs catch their own
    // panics: reaching this is a bug in spindle. Unwinding further would
    // cross the context switch.
    let what = if result.is_err() {
        "panicked"
    } else {
        "returned"
    };
    eprintln!("spindle: a fiber's worker loop {what}; aborting");
    std::process::abort()
}
