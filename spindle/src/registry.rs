//! What all slots of a pool share: their stealers, job-cache homes and
//! counters, the injector, the sleep state, and the participant slot.

use std::any::Any;

use crate::deque::Stealer;
use crate::fiber::SlotFibers;
use crate::injector::Injector;
use crate::job::{JobCacheHome, JobHeader};
use crate::main_jobs::MainJobs;
use crate::sleep::Sleep;
use crate::stats::{SlotCounters, Stats};
use crate::sync::{Arc, AtomicBool, AtomicPtr, Mutex, Ordering};
use crate::task::TaskList;
use crate::unwind::payload_message;
use crate::util::CachePadded;
use crate::worker::WorkerLocal;

/// Called with the payload of a detached job's panic.
pub(crate) type PanicHandler = Box<dyn Fn(Box<dyn Any + Send>) + Send + Sync>;

/// The shared half of one slot.
pub(crate) struct SlotShared {
    pub(crate) stealer: Stealer<JobHeader>,
    pub(crate) cache_home: JobCacheHome,
    pub(crate) counters: CachePadded<SlotCounters>,
}

pub(crate) struct Registry {
    slots: Box<[SlotShared]>,
    pub(crate) injector: Injector,
    pub(crate) sleep: Sleep,
    /// Unfinished async tasks, for shutdown.
    pub(crate) tasks: TaskList,
    /// Jobs for the thread that built the pool.
    pub(crate) main_jobs: MainJobs,
    /// This registry's address as its `Arc` gave it (`Arc::as_ptr`): the
    /// pointer whose provenance covers the reference counts, for tasks to
    /// take strong references from a `&Registry`. Set once at build.
    arc_self: AtomicPtr<Registry>,
    terminating: AtomicBool,
    /// The participant slot's owner half, while no thread borrows it.
    participant: Mutex<Option<Box<WorkerLocal>>>,
    panic_handler: Option<PanicHandler>,
    num_workers: usize,
    /// Fibers of each worker slot; empty if the pool has none. Boxed:
    /// every control block points at its `SlotFibers`, which must not move.
    #[allow(clippy::vec_box)]
    fibers: Vec<Box<SlotFibers>>,
}

impl Registry {
    /// `slots` holds the workers' slots then the participant's.
    pub(crate) fn new(slots: Box<[SlotShared]>, panic_handler: Option<PanicHandler>) -> Self {
        let n = slots.len();
        Self {
            slots,
            injector: Injector::new(),
            sleep: Sleep::new(n),
            tasks: TaskList::new(n),
            main_jobs: MainJobs::new(),
            arc_self: AtomicPtr::new(core::ptr::null_mut()),
            terminating: AtomicBool::new(false),
            participant: Mutex::new(None),
            panic_handler,
            num_workers: n - 1,
            fibers: Vec::new(),
        }
    }

    /// Gives worker slot `i` the fibers `fibers[i]`.
    #[allow(clippy::vec_box)] // see the field
    pub(crate) fn with_fibers(mut self, fibers: Vec<Box<SlotFibers>>) -> Self {
        debug_assert!(fibers.is_empty() || fibers.len() == self.num_workers);
        self.fibers = fibers;
        self
    }

    /// Slot `index`'s fibers, if it has any.
    pub(crate) fn fibers(&self, index: usize) -> Option<&SlotFibers> {
        self.fibers.get(index).map(|f| &**f)
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.num_workers
    }

    /// Workers plus the participant slot.
    #[inline]
    pub(crate) fn num_slots(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    pub(crate) fn stealer(&self, index: usize) -> &Stealer<JobHeader> {
        &self.slots[index].stealer
    }

    pub(crate) fn slot(&self, index: usize) -> &SlotShared {
        &self.slots[index]
    }

    pub(crate) fn counters(&self, index: usize) -> &SlotCounters {
        &self.slots[index].counters
    }

    /// True if any queue looked non-empty (the sleep re-check, S3).
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.slots.iter().any(|s| !s.stealer.is_empty())
    }

    pub(crate) fn is_terminating(&self) -> bool {
        self.terminating.load(Ordering::Acquire)
    }

    /// Starts shutdown: workers finish every queued job, then exit.
    pub(crate) fn terminate(&self) {
        self.terminating.store(true, Ordering::Release);
        self.sleep.wake_all();
    }

    /// Records the `Arc` this registry lives in (at build, before any
    /// thread can see it).
    pub(crate) fn set_arc(this: &Arc<Registry>) {
        this.arc_self
            .store(Arc::as_ptr(this).cast_mut(), Ordering::Relaxed);
    }

    /// A new strong reference to this registry, as `Arc::into_raw` would
    /// give it.
    pub(crate) fn new_ref(&self) -> *const Registry {
        let p = self.arc_self.load(Ordering::Relaxed).cast_const();
        assert!(!p.is_null(), "spindle: registry used before set_arc");
        // SAFETY: `p` is `Arc::as_ptr` of the `Arc` this registry lives in,
        // alive while we borrow it; the new count is released with
        // `Arc::from_raw` by the caller.
        unsafe { Arc::increment_strong_count(p) };
        p
    }

    /// After the workers have exited: cancels every unfinished task and
    /// runs what is left in the global queue (see `task/list.rs`).
    pub(crate) fn close_tasks(this: &Arc<Registry>) {
        this.tasks.close();
        this.drain_after_close();
        this.tasks.retire(this.clone());
    }

    /// Runs every job left in the global queue on this thread. Called once
    /// the task list is closed, when no worker takes jobs any more: queued
    /// tasks see the pool terminating and cancel themselves.
    pub(crate) fn drain_after_close(&self) {
        // Pairs with the fence in an outside `schedule`'s `notify_work`
        // (push, fence, read `closed`): either it sees the list closed and
        // drains itself, or we see its job.
        crate::sync::fence(Ordering::SeqCst);
        while let Some(job) = self.injector.pop() {
            // SAFETY: popped, so ours to execute once.
            unsafe { job.execute() };
        }
    }

    /// Puts the participant slot's owner half in place (at build).
    pub(crate) fn set_participant(&self, local: Box<WorkerLocal>) {
        *self.participant.lock().unwrap_or_else(|e| e.into_inner()) = Some(local);
    }

    /// Takes the participant slot if no other thread has it.
    pub(crate) fn claim_participant(&self) -> Option<Box<WorkerLocal>> {
        match self.participant.try_lock() {
            Ok(mut guard) => guard.take(),
            Err(_) => None,
        }
    }

    /// Gives the participant slot back.
    pub(crate) fn return_participant(&self, local: Box<WorkerLocal>) {
        self.set_participant(local);
    }

    /// Hands a detached job's panic to the handler (default: print it).
    #[cold]
    pub(crate) fn handle_panic(&self, payload: Box<dyn Any + Send>) {
        match &self.panic_handler {
            Some(handler) => {
                let call = std::panic::AssertUnwindSafe(|| handler(payload));
                if std::panic::catch_unwind(call).is_err() {
                    eprintln!("spindle: the panic handler itself panicked; ignoring");
                }
            }
            None => eprintln!(
                "spindle: a job panicked with no one to join it: {}; the pool continues",
                payload_message(&*payload)
            ),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut workers: Vec<_> = self.slots.iter().map(|s| s.counters.snapshot()).collect();
        let participant = workers.pop().unwrap_or_default();
        Stats {
            workers,
            participant,
        }
    }
}
