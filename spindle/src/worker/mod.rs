//! A slot's own state and the loops that run jobs on it.
//!
//! A *slot* is a place that runs jobs: each worker thread has one, and the
//! pool has one more, the participant slot, that a thread from outside
//! borrows while it waits on the pool (so the caller runs jobs instead of
//! sleeping). [`WorkerLocal`] is the slot's owner-only half; the shared half
//! (stealer, cache home, counters) lives in the [`Registry`].
//!
//! The thread-local [`CURRENT`] points to the `WorkerLocal` the thread is
//! running, if any; front ends reach it through [`with_current`] and
//! [`with_current_in`] to find their pool.

mod fibers;
mod find;
mod join;
mod main_loop;
mod slot_box;
mod wait;

use core::cell::{Cell, RefCell};
use core::ptr::{self, NonNull};
use std::collections::VecDeque;

pub(crate) use main_loop::run_worker;
pub(crate) use slot_box::SlotBox;

use crate::fiber::{FiberRef, SlotFibers};
use crate::job::{JobCache, JobHeader, JobRef, Priority};
use crate::pool::registry::Registry;
use crate::pool::stats::SlotCounters;
use crate::queue::{deque, hidden};
use crate::sync::block::{set_blocker, Blocker};
use crate::util::XorShift;

thread_local! {
    /// The slot this thread runs, or null.
    static CURRENT: Cell<*const WorkerLocal> = const { Cell::new(ptr::null()) };
}

/// The slot this thread runs, as a raw pointer (null if none): only for
/// the fiber switch's re-read of its slot (`fibers.rs`).
#[inline(always)]
fn current_ptr() -> *const WorkerLocal {
    CURRENT.with(Cell::get)
}

/// A zero-sized witness that the code holding it runs on this thread,
/// in this frame (it is neither `Send` nor `Sync`): the current slot
/// borrowed through it cannot leave the frame, and so cannot outlive the
/// slot. For hot paths that must not move their arguments into a closure
/// (see `join`); elsewhere [`with_current`] says the same.
pub(crate) struct Here(core::marker::PhantomData<*const ()>);

impl Here {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Here(core::marker::PhantomData)
    }

    /// The slot this thread runs, if any, for as long as this frame.
    #[inline(always)]
    pub(crate) fn slot(&self) -> Option<&WorkerLocal> {
        // The one place the crate reads `CURRENT` as a reference.
        // SAFETY: `CURRENT` is non-null only while the slot it points to
        // is alive and run by this thread, and it changes only in
        // `run_worker` and the participant guard, which wrap every frame
        // that runs on the slot: the borrow, tied to `self` (this frame),
        // ends before the slot can go.
        unsafe { CURRENT.with(Cell::get).as_ref() }
    }
}

impl Here {
    /// The slot this thread runs if it is one of `registry`'s.
    #[inline(always)]
    pub(crate) fn slot_in(&self, registry: &Registry) -> Option<&WorkerLocal> {
        self.slot().filter(|w| ptr::eq(w.registry(), registry))
    }
}

/// Runs `f` with the slot this thread runs, if any (of any pool).
///
/// The one way to reach the current slot: the reference cannot outlive
/// the call, and the slot outlives the call (a thread changes its slot
/// only in `run_worker` and in the participant guard, never while code
/// below them is running on it).
#[inline(always)]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&WorkerLocal>) -> R) -> R {
    f(Here::new().slot())
}

/// Runs `f` with the slot this thread runs if it is one of `registry`'s.
#[inline(always)]
pub(crate) fn with_current_in<R>(
    registry: &Registry,
    f: impl FnOnce(Option<&WorkerLocal>) -> R,
) -> R {
    with_current(|w| f(w.filter(|w| ptr::eq(w.registry(), registry))))
}

/// Makes `local` the current slot (its job cache the thread's own, and it
/// the thread's blocker: how sync primitives wait); returns the previous
/// value to restore.
///
/// # Safety
///
/// A non-null `local` stays alive, and is run by this thread only, until
/// it is replaced here.
pub(crate) unsafe fn set_current(local: *const WorkerLocal) -> *const WorkerLocal {
    // SAFETY: the contract above.
    let slot = unsafe { local.as_ref() };
    let cache = slot.map_or(ptr::null(), |w| &w.cache as *const JobCache);
    let blocker = slot.map(|w| w as &dyn Blocker as *const dyn Blocker);
    // SAFETY: both live in the slot, alive and ours while it is current.
    unsafe {
        crate::job::set_current_cache(cache);
        set_blocker(blocker);
    }
    #[cfg(feature = "trace")]
    crate::observe::set_thread(slot.map(|w| w.registry().slot(w.index())));
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
    with_current(|w| {
        let w = w?;
        (w.index < w.registry().num_workers()).then_some(w.index)
    })
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
    /// The second halves of the running context's active `join`s, not yet
    /// on `deque` (see `queue/hidden.rs`). A context that switches away
    /// first promotes all of its own, so they never mix with another
    /// context's.
    hidden: hidden::Owner,
    pub(crate) cache: JobCache,
    counters: *const SlotCounters,
    rng: XorShift,
    tick: Cell<u32>,
    /// Changes whenever jobs that are not the running context's own may
    /// have been pushed on `deque`: at each promotion of hidden join
    /// halves and each context switch. Invalidates older `Floor`s.
    generation: Cell<u32>,
    /// Jobs running nested in this slot's helping waits, on this context
    /// (a fallback stack budget where the stack's bounds are unknown).
    help_depth: Cell<u32>,
    /// The root context's stack, `(lowest address, size)`, if known: set
    /// by the thread that runs the slot (see `set_root_stack`).
    root_stack: Cell<Option<(usize, usize)>>,
    /// Task wakes queued here in a row: since the last fairness pick or
    /// task spawn here (see `count_wake`).
    wakes: Cell<u32>,
    /// Set once `wakes` reached `FAIR_LOCAL`: the loop's next pick of its
    /// own deque takes the oldest job.
    fair_due: Cell<bool>,
    /// After a task yielded (see `push_behind`): how many local picks
    /// still take the deque's oldest job instead of its newest.
    fifo_left: Cell<usize>,
    /// This slot's fibers, if it has any (a pool built with fibers, on a
    /// target with a context switch). They live in the registry, which
    /// outlives the slot.
    fibers: Option<NonNull<SlotFibers>>,
    /// The running context (the root at first); `None` without fibers.
    current: Cell<Option<FiberRef>>,
    /// Pooled fibers made and not in use.
    free: RefCell<Vec<FiberRef>>,
    /// Pooled fibers made so far (free or not).
    made: Cell<usize>,
    /// The most pooled fibers this slot makes: its cap, or fewer once the
    /// system refused a stack.
    fiber_cap: Cell<usize>,
    /// Ready fibers, oldest first: the owner's own requeues (yields) and
    /// the fibers it moved here from the slot's shared queue.
    ready_local: RefCell<VecDeque<FiberRef>>,
    /// A fiber that switched away for good, returned to `free` by the
    /// context it switched to (see `fibers.rs`).
    pending_free: Cell<Option<FiberRef>>,
    /// Set by `yield_now` for the fresh fiber it switches to: run one job
    /// before resuming ready fibers (the yielder among them).
    yield_pass: Cell<bool>,
}

// SAFETY: a `WorkerLocal` is handed to its thread once (workers) or passed
// under the participant lock (the participant slot, only while none of
// its fibers is suspended); it is used by one thread at a time. Its raw
// pointers point into the registry, which outlives it.
unsafe impl Send for WorkerLocal {}

impl WorkerLocal {
    /// # Safety
    ///
    /// `registry` must outlive the result; `index` names the slot whose
    /// deques `deque` and `class_deques` are, and `cache` must be that
    /// slot's only local cache; `fibers`, if any, are that slot's (living
    /// in the registry), and while any of them is suspended the result
    /// must stay on the thread that runs it.
    pub(crate) unsafe fn new(
        registry: &Registry,
        index: usize,
        deque: deque::Worker<JobHeader>,
        class_deques: [deque::Worker<JobHeader>; 2],
        cache: JobCache,
        fibers: Option<&SlotFibers>,
    ) -> Self {
        Self {
            fibers: fibers.map(NonNull::from),
            current: Cell::new(fibers.map(SlotFibers::root)),
            free: RefCell::new(Vec::new()),
            made: Cell::new(0),
            fiber_cap: Cell::new(fibers.map_or(0, SlotFibers::cap)),
            ready_local: RefCell::new(VecDeque::new()),
            pending_free: Cell::new(None),
            yield_pass: Cell::new(false),
            index,
            registry: NonNull::from(registry),
            deque,
            class_deques,
            hidden: hidden::Owner::new(),
            cache,
            counters: registry.counters(index),
            rng: XorShift::new(index as u64 + 1),
            tick: Cell::new(0),
            generation: Cell::new(0),
            fifo_left: Cell::new(0),
            wakes: Cell::new(0),
            fair_due: Cell::new(false),
            help_depth: Cell::new(0),
            root_stack: Cell::new(None),
        }
    }

    /// The slot's hidden join halves (for the registry to attach thieves).
    pub(crate) fn hidden(&self) -> &hidden::Owner {
        &self.hidden
    }

    /// Records the root context's stack: the calling thread's (the one
    /// that runs the slot now).
    pub(crate) fn set_root_stack(&self) {
        self.root_stack.set(crate::util::stack::thread_stack());
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

    /// Counts a task wake queued on this slot: every `FAIR_LOCAL`-th in a
    /// row makes the loop's next pick of its own deque the oldest job, so
    /// tasks that keep waking each other cannot starve what was queued
    /// before them (see `FAIR_LOCAL`). A spawn breaks the row
    /// (`count_spawn`): a tree of spawns is run newest first, as fork-join
    /// wants, and ends.
    #[inline]
    pub(crate) fn count_wake(&self) {
        let n = self.wakes.get() + 1;
        if n >= crate::options::FAIR_LOCAL {
            self.wakes.set(0);
            self.fair_due.set(true);
        } else {
            self.wakes.set(n);
        }
    }

    /// A task spawned here: the work on this slot grows rather than cycles.
    #[inline]
    pub(crate) fn count_spawn(&self) {
        self.wakes.set(0);
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

    /// Moves the oldest hidden job (the largest piece of work) to the
    /// deque, where thieves can take it cheaply.
    #[inline(never)]
    fn promote(&self) {
        if let Some(job) = self.hidden.take_oldest() {
            self.new_generation();
            self.push_public(job);
        }
    }

    /// Moves every hidden job to the deque, oldest first: before the
    /// running context switches away, so that its joins' halves are
    /// neither stuck behind its suspension nor mixed with the next
    /// context's (see `queue/hidden.rs`).
    #[inline]
    pub(crate) fn promote_all(&self) {
        // Also at every context switch (which promotes all first).
        self.new_generation();
        while let Some(job) = self.hidden.take_oldest() {
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
    /// A worker that never forks again is covered by hidden steals
    /// (`queue/hidden.rs`).
    #[inline(always)]
    fn promote_if_starved(&self) {
        // Cheapest test first: while every thread is busy, the deque's
        // ends are never read.
        if self.registry().sleep.wants_work() && self.deque.is_empty() && self.hidden.has_entries()
        {
            self.promote();
        }
    }

    /// True if an idle thread could use more of this thread's work and
    /// nothing of it is up for taking yet: some thread searches or sleeps,
    /// and this slot's deque and hidden join halves are empty. The signal
    /// the data-parallel loops (`par`) split on: a split made while a
    /// thief has something of ours to take already would only add a job.
    #[inline]
    pub(crate) fn wants_to_share(&self) -> bool {
        self.registry().sleep.wants_work() && self.deque.is_empty() && !self.hidden.has_entries()
    }

    /// Before this thread parks without running its own queues (a lock
    /// wait, a wait too deep to help, a participant finishing its fibers):
    /// makes what it holds reachable by others. Its hidden join halves go
    /// to its deque, and if its deques hold work, a sleeper is woken for
    /// it: the sleep protocol's lazy notification counts on an owner that
    /// runs its own deque before it sleeps, which this one will not.
    #[cold]
    pub(crate) fn expose_before_parking(&self) {
        self.promote_all();
        let queued: usize = [Priority::High, Priority::Normal, Priority::Low]
            .into_iter()
            .map(|c| self.class_deque(c).len())
            .sum();
        if queued > 0 {
            self.registry().sleep.notify_work(queued);
        }
    }

    /// Job cache misses so far (for the counters).
    pub(crate) fn record_heap_fallback(&self) {
        self.counters().heap_fallbacks.bump();
    }

    /// Moves whatever is left in this slot's deque to the injector; the
    /// participant slot does this when its borrowing thread leaves.
    pub(crate) fn flush_to_injector(&self) {
        debug_assert!(self.hidden.is_empty());
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
