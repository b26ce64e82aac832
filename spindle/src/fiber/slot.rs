//! A worker slot's fibers: the control blocks and stacks, and the queue of
//! fibers ready to resume.
//!
//! # Where fibers run
//!
//! A fiber runs, suspends and resumes only on the worker thread that owns
//! its slot. Its stack may hold `!Send` values and references to the
//! thread's thread-locals (and the compiler may keep a thread-local's
//! address in a register across the `switch` call, llvm issue 98479);
//! resuming it on another thread would break both. So a wake-up from any
//! thread only queues the fiber on *its own* slot's ready queue, and only
//! the owning thread pops that queue.

use std::collections::VecDeque;

use super::control::{Fiber, FiberRef};
use super::stack::Stack;
use crate::sleep::Parker;
use crate::sync::{Arc, AtomicUsize, Ordering};
use crate::SpinLock;

/// The fibers of one worker slot. Shared: wakers on any thread push to
/// `ready`; everything else is the owner's. The owner moves woken fibers
/// to its own lock-free list (`WorkerLocal::ready_local`) before it
/// resumes them, and a yield requeues itself only there: a switch between
/// the owner's own ready fibers takes no lock.
pub(crate) struct SlotFibers {
    /// `[0]` is the thread's own stack; `[1..]` the pooled fibers.
    table: Box<[Fiber]>,
    /// `stacks[i]` is fiber `i + 1`'s stack. Kept only to be unmapped.
    _stacks: Vec<Stack>,
    /// Fibers whose wait is over, oldest first. Never allocates: its
    /// capacity is the table's size and a fiber is queued at most once.
    ready: SpinLock<VecDeque<FiberRef>>,
    /// `ready.len()`, readable without the lock (the worker loop's check).
    ready_len: AtomicUsize,
    /// The slot's parker: unparked when a fiber is made ready.
    parker: Arc<Parker>,
}

impl SlotFibers {
    /// A table with the root context and one pooled fiber per stack.
    pub(crate) fn new(stacks: Vec<Stack>, parker: Arc<Parker>) -> Box<Self> {
        let n = stacks.len() + 1;
        let mut this = Box::new(Self {
            table: Box::new([]),
            _stacks: Vec::new(),
            ready: SpinLock::new(VecDeque::with_capacity(n)),
            ready_len: AtomicUsize::new(0),
            parker,
        });
        let home = core::ptr::NonNull::from(&*this);
        let tops = core::iter::once(core::ptr::null_mut()).chain(stacks.iter().map(Stack::top));
        this.table = tops
            .enumerate()
            .map(|(id, top)| Fiber {
                sp: core::cell::Cell::new(core::ptr::null_mut()),
                top,
                home,
                id: id as u32,
            })
            .collect();
        this._stacks = stacks;
        this
    }

    /// The root context (the thread's own stack).
    pub(crate) fn root(&self) -> FiberRef {
        FiberRef::new(&self.table[0])
    }

    /// The pooled fibers, all free at the start.
    pub(crate) fn pooled(&self) -> impl Iterator<Item = FiberRef> + '_ {
        self.table[1..].iter().map(FiberRef::new)
    }

    /// How many pooled fibers the slot has.
    pub(crate) fn pooled_count(&self) -> usize {
        self.table.len() - 1
    }

    /// True if some fiber is ready (a relaxed hint; `pop_ready` decides).
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
    use crate::job::{publish_waiter, StackJob};
    use crate::latch::Latch;
    use loom::thread;

    /// A `join` whose second half was stolen, with fibers: the owner
    /// suspends its fiber on the stack job (`prepare_fiber_wait`) while a
    /// thief executes it; the worker loop then waits for the fiber to show
    /// up in its ready queue (parking in between, as it does when idle).
    ///
    /// Catches: an executor that unparks the thread but does not queue the
    /// fiber when `FIBER_WAITING` was set first (the owner parks forever),
    /// a fiber queued twice, a fiber pointer read before it was written,
    /// a ready-queue count read without the ordering that makes the entry
    /// visible after the wake, and a result not visible once the fiber
    /// resumes.
    #[test]
    fn stolen_stack_job_makes_the_suspended_fiber_ready_once() {
        loom::model(|| {
            let parker = Arc::new(Parker::new());
            let fibers = SlotFibers::new(Vec::new(), parker.clone());
            let job = StackJob::new(|| 5u32);
            // SAFETY: `job` stays in this frame until its latch reads
            // `DONE` and the executor is joined.
            let job_ref = unsafe { job.as_job_ref() };
            // SAFETY: not queued yet; `parker` outlives the executor.
            unsafe { publish_waiter(job_ref, Arc::as_ptr(&parker)) };
            // SAFETY: this thread is the job's only executor.
            let executor = thread::spawn(move || unsafe { job_ref.execute() });
            let root = fibers.root();
            if job.latch().prepare_fiber_wait(root) {
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
            assert!(job.latch().probe());
            assert_eq!(job.into_result(), 5);
            executor.join().unwrap();
            let mut late = VecDeque::new();
            fibers.take_ready(&mut late);
            assert!(late.is_empty(), "the fiber was made ready twice");
        });
    }
}
