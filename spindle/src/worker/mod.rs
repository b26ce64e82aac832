//! A slot's own state and the loops that run jobs on it.
//!
//! A *slot* is a place that runs jobs: each worker thread has one, and the
//! pool has one more, the participant slot, that a thread from outside
//! borrows while it waits on the pool (so the caller runs jobs instead of
//! sleeping). [`WorkerLocal`] is the slot's owner-only half; the shared half
//! (stealer, cache home, counters) lives in the [`Registry`].
//!
//! The thread-local [`CURRENT`] points to the `WorkerLocal` the thread is
//! running, if any; front ends read it to find their pool.

mod fibers;
mod find;
mod join;
mod main_loop;
mod private;
mod wait;

use core::cell::{Cell, RefCell};
use core::ptr::{self, NonNull};
use std::collections::VecDeque;

pub(crate) use main_loop::run_worker;
pub(crate) use private::PrivateStack;

use crate::deque;
use crate::fiber::{FiberRef, SlotFibers};
use crate::job::{JobCache, JobHeader, JobRef, Priority};
use crate::registry::Registry;
use crate::sleep::Parker;
use crate::stats::SlotCounters;
use crate::util::XorShift;

thread_local! {
    /// The slot this thread runs, or null.
    static CURRENT: Cell<*const WorkerLocal> = const { Cell::new(ptr::null()) };
}

/// The slot this thread runs, or null. Valid while the thread runs it.
#[inline(always)]
pub(crate) fn current() -> *const WorkerLocal {
    CURRENT.with(Cell::get)
}

/// Makes `local` the current slot; returns the previous value to restore.
pub(crate) fn set_current(local: *const WorkerLocal) -> *const WorkerLocal {
    CURRENT.with(|c| c.replace(local))
}

/// The index of the pool worker running the calling thread
/// (`0..pool.num_workers()`), or `None` on a thread that is not a worker
/// (one that only waits on a pool from outside included). The index is the
/// one [`Affinity::worker`](crate::Affinity::worker) takes.
///
/// ```
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// assert_eq!(spindle::worker_index(), None);
/// // `install` runs on the caller, as the pool's participant: not a worker.
/// assert_eq!(pool.install(spindle::worker_index), None);
/// let (tx, rx) = std::sync::mpsc::channel();
/// pool.spawn(move || tx.send(spindle::worker_index()).unwrap());
/// assert!(matches!(rx.recv().unwrap(), Some(0 | 1)));
/// # Ok::<(), spindle::Error>(())
/// ```
pub fn worker_index() -> Option<usize> {
    let cur = current();
    // SAFETY: as in `with_current_cache`.
    let local = unsafe { cur.as_ref() }?;
    (local.index < local.registry().num_workers()).then_some(local.index)
}

/// Runs `f` with the current slot's job cache, if the thread runs a slot.
#[inline]
pub(crate) fn with_current_cache<R>(f: impl FnOnce(&JobCache) -> R) -> Option<R> {
    let cur = current();
    // SAFETY: `CURRENT` is non-null only while the `WorkerLocal` it points to
    // is alive and run by this thread (set by `run_worker` and the
    // participant guard, cleared before the value goes away).
    (!cur.is_null()).then(|| f(unsafe { &(*cur).cache }))
}

/// Every 64th look for work checks the injector first (fairness tick).
const INJECTOR_TICK: u32 = 64;

/// The owner-only half of a slot. Not `Sync`: one thread at a time.
pub(crate) struct WorkerLocal {
    index: usize,
    registry: NonNull<Registry>,
    deque: deque::Worker<JobHeader>,
    /// The `High` and `Low` deques (`deque` is the `Normal` one).
    class_deques: [deque::Worker<JobHeader>; 2],
    /// The running context's private stack of `join` second halves. Each
    /// context (the root, every pooled fiber) has its own, because a
    /// suspended fiber's active joins must not interleave with those of the
    /// contexts that run meanwhile: a switch saves the running context's
    /// entries to `saved_privates` and restores the next one's, so `join`
    /// keeps finding its stack at a fixed offset in the slot.
    private: PrivateStack,
    /// `[0]` the root's, `[i]` pooled fiber `i`'s entries while it is not
    /// running. Empty without fibers.
    saved_privates: Box<[PrivateStack]>,
    pub(crate) cache: JobCache,
    parker: *const Parker,
    counters: *const SlotCounters,
    rng: XorShift,
    tick: Cell<u32>,
    /// Jobs running nested in this slot's helping waits, on this context
    /// (see `wait.rs`, `DEEP_HELP`).
    help_depth: Cell<u32>,
    /// After a task yielded (see `push_behind`): how many local picks
    /// still take the deque's oldest job instead of its newest.
    fifo_left: Cell<usize>,
    /// This slot's fibers, if it has any (worker slots of a pool built
    /// with fibers, on a target with a context switch). They live in the
    /// registry, which outlives the slot.
    fibers: Option<NonNull<SlotFibers>>,
    /// The running context (the root at first); `None` without fibers.
    current: Cell<Option<FiberRef>>,
    /// Pooled fibers not in use.
    free: RefCell<Vec<FiberRef>>,
    /// Ready fibers, oldest first: the owner's own requeues (yields) and
    /// the fibers it moved here from the slot's shared queue. Never
    /// allocates after construction (capacity: every context once).
    ready_local: RefCell<VecDeque<FiberRef>>,
    /// A fiber that switched away for good, returned to `free` by the
    /// context it switched to (see `fibers.rs`).
    pending_free: Cell<Option<FiberRef>>,
    /// Set by `yield_now` for the fresh fiber it switches to: run one job
    /// before resuming ready fibers (the yielder among them).
    yield_pass: Cell<bool>,
}

// SAFETY: a `WorkerLocal` is handed to its thread once (workers) or passed
// under the participant lock (the participant slot); it is used by one
// thread at a time. Its raw pointers point into the registry, which
// outlives it.
unsafe impl Send for WorkerLocal {}

impl WorkerLocal {
    /// # Safety
    ///
    /// `registry` must outlive the result; `index` names the slot whose
    /// deque `deque` is, and `cache` must be that slot's only local cache;
    /// `fibers`, if any, are that slot's (living in the registry), and the
    /// result must then run only on one thread for its whole life.
    pub(crate) unsafe fn new(
        registry: &Registry,
        index: usize,
        deque: deque::Worker<JobHeader>,
        class_deques: [deque::Worker<JobHeader>; 2],
        cache: JobCache,
        fibers: Option<&SlotFibers>,
    ) -> Self {
        let contexts = fibers.map_or(0, |f| 1 + f.pooled_count());
        let saved_privates = (0..contexts).map(|_| PrivateStack::new()).collect();
        Self {
            fibers: fibers.map(NonNull::from),
            current: Cell::new(fibers.map(SlotFibers::root)),
            free: RefCell::new(fibers.map(|f| f.pooled().collect()).unwrap_or_default()),
            ready_local: RefCell::new(VecDeque::with_capacity(contexts)),
            pending_free: Cell::new(None),
            yield_pass: Cell::new(false),
            index,
            registry: NonNull::from(registry),
            deque,
            class_deques,
            private: PrivateStack::new(),
            saved_privates,
            cache,
            parker: &**registry.sleep.parker(index),
            counters: registry.counters(index),
            rng: XorShift::new(index as u64 + 1),
            tick: Cell::new(0),
            fifo_left: Cell::new(0),
            help_depth: Cell::new(0),
        }
    }

    /// On a switch from context `from` to context `to` (fiber ids, 0 the
    /// root): keeps `from`'s private entries aside and brings back `to`'s.
    pub(crate) fn swap_private(&self, from: u32, to: u32) {
        self.saved_privates[from as usize].copy_from(&self.private);
        self.private.copy_from(&self.saved_privates[to as usize]);
    }

    #[inline(always)]
    pub(crate) fn registry(&self) -> &Registry {
        // SAFETY: the registry outlives every `WorkerLocal` (constructor
        // contract).
        unsafe { self.registry.as_ref() }
    }

    #[inline(always)]
    fn counters(&self) -> &SlotCounters {
        // SAFETY: the counters live in the registry (see `registry`).
        unsafe { &*self.counters }
    }

    /// Runs a job taken from a queue, and counts it.
    #[inline]
    pub(crate) fn execute(&self, job: JobRef) {
        // SAFETY: callers pass jobs they took from a queue (sole executor).
        unsafe { job.execute() };
        self.counters().executed.bump();
    }

    /// Pushes a job for thieves to see. If the deque was empty, thieves may
    /// be asleep: notify. If it was not, whoever was notified for the jobs
    /// already there (or the owner) covers this one too: see
    /// `sleep/README.md`, "lazy notification". A full deque moves its older
    /// half to the injector.
    #[inline]
    pub(crate) fn push_public(&self, job: JobRef) {
        if !job.is_plain() {
            return self.registry().push_special(job, Some(self));
        }
        let was_empty = self.deque.is_empty();
        match self.deque.push(job.into_raw()) {
            Ok(()) => {
                if was_empty {
                    self.registry().sleep.notify_work(1);
                }
            }
            Err(_) => self.overflow(job),
        }
    }

    /// Queues a job *behind* the work already in the deque: a task that
    /// yielded. It goes on the deque like any job (stealable), and the
    /// next local picks, as many as the deque holds now, take its oldest
    /// jobs (from the top, as a thief would) instead of the newest, so
    /// everything queued before runs before this job does.
    ///
    /// A `High` or `Low` job goes to the injector's queue for its class
    /// instead (FIFO, looked at after this slot's deque for that class),
    /// and an affine one to its mailbox (FIFO already).
    pub(crate) fn push_behind(&self, job: JobRef) {
        if !job.is_plain() {
            let local = if job.is_affine() { Some(self) } else { None };
            return self.registry().push_special(job, local);
        }
        self.push_public(job);
        self.fifo_left.set(self.deque.len());
    }

    /// Like `push_public`, but a full deque runs the job here and now
    /// instead of spilling: `scope` uses it so one thread spawning a million
    /// jobs is throttled by its own deque rather than filling the heap.
    #[inline]
    pub(crate) fn push_or_run(&self, job: JobRef) {
        debug_assert!(job.is_plain());
        let was_empty = self.deque.is_empty();
        match self.deque.push(job.into_raw()) {
            Ok(()) => {
                if was_empty {
                    self.registry().sleep.notify_work(1);
                }
            }
            Err(_) => self.execute(job),
        }
    }

    /// Pushes a batch without notifying; the caller notifies once.
    pub(crate) fn push_batch_quiet(&self, job: JobRef) {
        debug_assert!(job.is_plain());
        if self.deque.push(job.into_raw()).is_err() {
            self.overflow(job);
        }
    }

    /// The deque of `class` (`Normal`: the main one).
    #[inline]
    pub(crate) fn class_deque(&self, class: Priority) -> &deque::Worker<JobHeader> {
        match class {
            Priority::High => &self.class_deques[0],
            Priority::Normal => &self.deque,
            Priority::Low => &self.class_deques[1],
        }
    }

    /// Pushes a `High` or `Low` job (counted in `pending` by the caller)
    /// on this slot's deque for its class; a full one sends it to the
    /// injector instead. The caller notifies.
    pub(crate) fn push_class(&self, job: JobRef) {
        debug_assert!(!job.is_affine() && job.priority() != Priority::Normal);
        if self
            .class_deque(job.priority())
            .push(job.into_raw())
            .is_err()
        {
            self.registry().injector.push(job);
        }
    }

    #[cold]
    #[inline(never)]
    fn overflow(&self, job: JobRef) {
        let half = self.deque.capacity().div_ceil(2);
        let mut batch = Vec::with_capacity(half);
        self.deque.drain_oldest(half, &mut batch);
        let moved = batch.len();
        // SAFETY: these came out of our deque, where only `JobRef`s go.
        let jobs = batch.into_iter().map(|p| unsafe { JobRef::from_raw(p) });
        let registry = self.registry();
        registry.injector.push_batch(jobs);
        if self.deque.push(job.into_raw()).is_err() {
            // Thieves cannot refill our deque, so half of it is free now;
            // a capacity of 1 is the only way here.
            registry.injector.push(job);
        }
        registry.sleep.notify_work(moved + 1);
    }

    /// Moves the oldest private job (the largest piece of work) to the
    /// deque, where thieves can take it.
    #[inline(never)]
    fn promote(&self) {
        if let Some(job) = self.private.take_oldest() {
            // SAFETY: the private stack holds only `join` stack jobs, which
            // this slot's thread waits for (see `private.rs`), in no queue;
            // our parker lives in the registry, which outlives every thread
            // that can run them.
            unsafe { crate::job::publish_waiter(job, self.parker) };
            self.push_public(job);
        }
    }

    /// Gives thieves something to take if they have nothing: called at each
    /// fork and in every wait. Promotion happens only while the deque is
    /// empty and some thread is searching or asleep: when every thread is
    /// busy (or there is only one), a promoted job would only come back
    /// through the deque's fenced pop. A thread that starts searching or
    /// goes to sleep changes the sleep state, so the next fork here sees it
    /// and promotes (waking a sleeper through `push_public`).
    #[inline(always)]
    fn promote_if_starved(&self) {
        // Cheapest test first: while every thread is busy, the deque's
        // ends are never read.
        if self.private.has_private() && self.registry().sleep.wants_work() && self.deque.is_empty()
        {
            self.promote();
        }
    }

    /// Job cache misses so far (for the counters).
    pub(crate) fn record_heap_fallback(&self) {
        self.counters().heap_fallbacks.bump();
    }

    /// Moves whatever is left in this slot's deque to the injector; the
    /// participant slot does this when its borrowing thread leaves.
    pub(crate) fn flush_to_injector(&self) {
        debug_assert!(self.private.is_empty());
        let mut batch = Vec::new();
        for class in [Priority::High, Priority::Normal, Priority::Low] {
            self.class_deque(class).drain_oldest(usize::MAX, &mut batch);
        }
        if batch.is_empty() {
            return;
        }
        let n = batch.len();
        // SAFETY: as in `overflow`.
        let jobs = batch.into_iter().map(|p| unsafe { JobRef::from_raw(p) });
        self.registry().injector.push_batch(jobs);
        self.registry().sleep.notify_work(n);
    }

    /// The slot's index in the registry.
    pub(crate) fn index(&self) -> usize {
        self.index
    }
}
