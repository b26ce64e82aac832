//! A slot's fibers: the root context, the pooled fibers made so far (up
//! to a cap, on demand), and the queue of fibers ready to resume.
//!
//! # Where fibers run
//!
//! A fiber runs, suspends and resumes only on the thread that runs its
//! slot. Its stack may hold `!Send` values and references to the thread's
//! thread-locals (and the compiler may keep a thread-local's address in a
//! register across the `switch` call, llvm issue 98479); resuming it on
//! another thread would break both. So a wake-up from any thread only
//! queues the fiber on *its own* slot's ready queue, and only the thread
//! running the slot pops that queue. (A worker slot is run by one thread
//! for its whole life. The participant slot passes from one outside
//! thread to another, but only when none of its fibers is suspended: the
//! thread leaving it first resumes them to completion.)
//!
//! # Memory
//!
//! A pooled fiber is made the first time a wait finds no free one, and
//! kept (with its stack) until the pool is dropped: at most `cap` per
//! slot. Each stack is one mapping of `stack_size` bytes plus a guard
//! page; pages are committed only when touched.

use std::collections::VecDeque;

use super::control::{Fiber, FiberRef};
use super::stack::Stack;
use crate::facade::{Arc, AtomicUsize, Ordering};
use crate::sync::parker::Parker;
use crate::SpinLock;

/// A pooled fiber and the stack it runs on (kept together, for the drop).
/// Fields kept only to be dropped: the control block (which `FiberRef`s
/// point into) and the stack's mapping.
struct Pooled {
    _fiber: Box<Fiber>,
    _stack: Stack,
}

/// The fibers of one slot. Shared: wakers on any thread push to `ready`;
/// making fibers and taking the ready ones is the owner's. The owner moves
/// woken fibers to its own list (`WorkerLocal::ready_local`) before it
/// resumes them, and a yield requeues itself only there: a switch between
/// the owner's own ready fibers takes no lock.
pub(crate) struct SlotFibers {
    /// The thread's own stack.
    root: Box<Fiber>,
    /// The pooled fibers made so far. Locked only to add one (the owner,
    /// rarely). Dropped with the slot, when every fiber is free (a slot's
    /// thread leaves it only then), so no context runs on these stacks.
    made: SpinLock<Vec<Pooled>>,
    /// The most pooled fibers this slot may make.
    cap: usize,
    /// Usable bytes of each pooled fiber's stack.
    stack_size: usize,
    /// Switches save and restore the floating-point control state too
    /// (`Builder::fiber_float_env`).
    float_env: bool,
    /// Fibers whose wait is over, oldest first. A fiber is queued at most
    /// once per suspension.
    ready: SpinLock<VecDeque<FiberRef>>,
    /// `ready.len()`, readable without the lock (the worker loop's check).
    ready_len: AtomicUsize,
    /// The slot's parker: unparked when a fiber is made ready.
    parker: Arc<Parker>,
}

impl SlotFibers {
    /// A slot's fibers: the root context, and room for `cap` pooled
    /// fibers of `stack_size` usable bytes each, made on demand; switches
    /// between them carry the floating-point control state if `float_env`.
    pub(crate) fn new(
        cap: usize,
        stack_size: usize,
        float_env: bool,
        parker: Arc<Parker>,
    ) -> Box<Self> {
        let mut this = Box::new(Self {
            root: Box::new(Fiber {
                sp: core::cell::Cell::new(core::ptr::null_mut()),
                top: core::ptr::null_mut(),
                low: core::ptr::null_mut(),
                home: core::ptr::NonNull::dangling(),
            }),
            made: SpinLock::new(Vec::new()),
            cap,
            stack_size,
            float_env,
            ready: SpinLock::new(VecDeque::new()),
            ready_len: AtomicUsize::new(0),
            parker,
        });
        this.root.home = core::ptr::NonNull::from(&*this);
        this
    }

    /// The root context (the thread's own stack).
    pub(crate) fn root(&self) -> FiberRef {
        FiberRef::new(&self.root)
    }

    /// The most pooled fibers this slot may make.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// True if switches carry the floating-point control state.
    #[inline]
    pub(crate) fn float_env(&self) -> bool {
        self.float_env
    }

    /// Makes one more pooled fiber. `None` if the slot has `cap` already,
    /// or the system refused the stack. Owner only.
    pub(crate) fn make(&self) -> Option<FiberRef> {
        let mut made = self.made.lock();
        if made.len() >= self.cap {
            return None;
        }
        let stack = Stack::new(self.stack_size).ok()?;
        let fiber = Box::new(Fiber {
            sp: core::cell::Cell::new(core::ptr::null_mut()),
            top: stack.top(),
            low: stack.top().wrapping_sub(stack.usable_size()),
            home: core::ptr::NonNull::from(self),
        });
        let handle = FiberRef::new(&fiber);
        made.push(Pooled {
            _fiber: fiber,
            _stack: stack,
        });
        // Room for every fiber of the slot (the root too) in the ready
        // queue now, so that making a fiber ready never allocates.
        let mut ready = self.ready.lock();
        let all = made.len() + 1;
        let queued = ready.len();
        ready.reserve(all.saturating_sub(queued));
        Some(handle)
    }

    /// True if some fiber is ready (a relaxed hint; `take_ready` decides).
    #[inline(always)]
    pub(crate) fn has_ready(&self) -> bool {
        self.ready_len.load(Ordering::Relaxed) != 0
    }

    /// Queues a fiber whose wait is over and wakes the slot's thread.
    pub(crate) fn push_ready(&self, fiber: FiberRef) {
        {
            let mut ready = self.ready.lock();
            debug_assert!(!ready.contains(&fiber), "fiber made ready twice");
            ready.push_back(fiber);
            // Release: a thread that sees the count sees the entry (it
            // takes the lock anyway) and whatever the waker did before.
            self.ready_len.store(ready.len(), Ordering::Release);
        }
        // The thread may be asleep; the parker's token keeps a wake-up that
        // comes before its park from being lost.
        self.parker.unpark();
    }

    /// Moves every queued fiber, oldest first, to the back of `into` (the
    /// owner's local ready list). Owner only.
    #[inline(always)]
    pub(crate) fn take_ready(&self, into: &mut VecDeque<FiberRef>) {
        if self.has_ready() {
            self.take_queued(into);
        }
    }

    /// `take_ready` once something is queued: the lock, out of line.
    #[inline(never)]
    fn take_queued(&self, into: &mut VecDeque<FiberRef>) {
        let mut ready = self.ready.lock();
        into.extend(ready.drain(..));
        self.ready_len.store(0, Ordering::Release);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::job::StackJob;
    use loom::thread;

    /// A `join` whose second half was stolen, with fibers: the owner
    /// suspends its fiber on the stack job's wait cell while a thief
    /// executes it; the worker loop then waits for the fiber to show up in
    /// its ready queue (parking in between, as it does when idle).
    ///
    /// Catches: an executor that unparks the thread but does not queue the
    /// fiber when the suspension was recorded first (the owner parks
    /// forever), a fiber queued twice, a ready-queue count read without
    /// the ordering that makes the entry visible after the wake, and a
    /// result not visible once the fiber resumes.
    #[test]
    fn stolen_stack_job_makes_the_suspended_fiber_ready_once() {
        loom::model(|| {
            let parker = Arc::new(Parker::new());
            let fibers = SlotFibers::new(0, 0, false, parker.clone());
            let job = StackJob::new(|| 5u32);
            // SAFETY: `job` stays in this frame until its cell is set and
            // the executor is joined.
            let job_ref = unsafe { job.as_job_ref() };
            // SAFETY: this thread is the job's only executor.
            let executor = thread::spawn(move || unsafe { job_ref.execute() });
            let root = fibers.root();
            if job.cell().prepare_suspend(root.resume()) {
                // Suspended: the worker loop runs until the fiber is ready.
                let mut local = VecDeque::new();
                loop {
                    fibers.take_ready(&mut local);
                    if let Some(f) = local.pop_front() {
                        assert_eq!(f, root);
                        break;
                    }
                    parker.park();
                }
                assert!(local.is_empty(), "the fiber was made ready twice");
            }
            assert!(job.cell().probe());
            assert_eq!(job.into_result(), 5);
            executor.join().unwrap();
            let mut late = VecDeque::new();
            fibers.take_ready(&mut late);
            assert!(late.is_empty(), "the fiber was made ready twice");
        });
    }
}
