//! What all slots of a pool share: their stealers, job-cache homes and
//! counters, the injector, the sleep state, and the participant slot.

use std::any::Any;

use crate::affinity::AffinitySets;
use crate::facade::{Arc, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Mutex, Ordering};
use crate::fiber::SlotFibers;
use crate::job::{JobCacheHome, JobHeader};
use crate::options::Priority;
use crate::pool::main_jobs::MainJobs;
use crate::pool::stats::{SlotCounters, Stats};
use crate::pool::tasks::TaskList;
use crate::queue::deque::{self, Stealer, Worker};
use crate::queue::hidden;
use crate::queue::injector::Injector;
use crate::queue::mailbox::Mailbox;
use crate::queue::pending::Pending;
use crate::sleep::Sleep;
use crate::unwind::{drop_payload, payload_message};
use crate::util::CachePadded;
use crate::worker::SlotBox;

/// Numbers for pools, in the order they are built.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The pools alive now, by number (`Registry::with_live`).
static LIVE: std::sync::Mutex<Vec<(u64, std::sync::Weak<Registry>)>> =
    std::sync::Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<(u64, std::sync::Weak<Registry>)>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for Registry {
    fn drop(&mut self) {
        let id = self.id;
        live().retain(|(i, _)| *i != id);
    }
}

/// Called with the payload of a detached job's panic.
pub(crate) type PanicHandler = Box<dyn Fn(Box<dyn Any + Send>) + Send + Sync>;

pub(crate) use super::placement::Placement;

/// The shared half of one slot.
pub(crate) struct SlotShared {
    pub(crate) stealer: Stealer<JobHeader>,
    /// The thief's end of the slot's hidden join halves.
    pub(crate) hidden: hidden::Thief,
    /// The slot's `High` and `Low` deques (`Normal` is `stealer`'s).
    pub(crate) class_stealers: [Stealer<JobHeader>; 2],
    /// Affine jobs this slot is home to.
    pub(crate) mailbox: Mailbox,
    pub(crate) cache_home: JobCacheHome,
    pub(crate) counters: CachePadded<SlotCounters>,
    /// The slot's event ring (feature `trace`); boxed, so the writer's
    /// stores stay off the lines thieves read.
    #[cfg(feature = "trace")]
    pub(crate) trace: Box<crate::observe::ring::Ring>,
}

/// A slot's owner ends of its deques: `Normal`, then `High` and `Low`.
pub(crate) type SlotDeques = (Worker<JobHeader>, [Worker<JobHeader>; 2]);

impl SlotShared {
    /// A new slot: the owner's ends of its deques, and what other threads
    /// share of it.
    pub(crate) fn new(
        deque_capacity: usize,
        job_capacity: usize,
        #[cfg(feature = "trace")] trace_capacity: usize,
    ) -> (SlotDeques, SlotShared) {
        let (normal, stealer) = deque::new(deque_capacity);
        let (high, high_s) = deque::new(deque_capacity);
        let (low, low_s) = deque::new(deque_capacity);
        let shared = SlotShared {
            stealer,
            hidden: hidden::Thief::new(),
            class_stealers: [high_s, low_s],
            mailbox: Mailbox::new(),
            cache_home: JobCacheHome::new(job_capacity),
            counters: CachePadded::new(SlotCounters::default()),
            #[cfg(feature = "trace")]
            trace: Box::new(crate::observe::ring::Ring::new(trace_capacity)),
        };
        ((normal, [high, low]), shared)
    }
}

pub(crate) struct Registry {
    pub(super) slots: Box<[SlotShared]>,
    pub(crate) injector: Injector,
    pub(crate) sleep: Sleep,
    /// How many `High`, `Low` and affine jobs are queued.
    pub(crate) pending: Pending,
    /// The affinity sets in use, by id.
    pub(super) affinity: AffinitySets,
    /// Which core each worker is pinned to, if the pool pins them.
    pub(super) pinned: Option<Vec<usize>>,
    /// Round-robin over a set's members, for affine jobs submitted from
    /// outside their set.
    pub(super) affine_next: AtomicUsize,
    /// Workers that have not voted to exit (see `vote_exit`); 0 once
    /// shutdown is decided.
    pub(super) live: AtomicUsize,
    /// Workers whose thread has left its loop (`worker_exited`).
    pub(super) exited: AtomicUsize,
    /// Tells a shutdown that did not start the threads itself when they
    /// are all gone, and keeps the slots of workers never run.
    pub(super) exits: super::shutdown::WorkerExits,
    /// Unfinished async tasks, for shutdown.
    pub(crate) tasks: TaskList,
    /// Jobs for the thread that built the pool.
    pub(crate) main_jobs: MainJobs,
    /// This registry's address as its `Arc` gave it (`Arc::as_ptr`): the
    /// pointer whose provenance covers the reference counts, for tasks to
    /// take strong references from a `&Registry`. Set once at build.
    arc_self: AtomicPtr<Registry>,
    pub(super) terminating: AtomicBool,
    /// This pool's number, unique in the process (see `LIVE`).
    id: u64,
    /// The participant slot's owner half, while no thread borrows it.
    participant: Mutex<Option<SlotBox>>,
    /// What the pool's handles share (`Pool::current` makes one from it);
    /// weak, as the handles own the registry.
    owner: std::sync::OnceLock<std::sync::Weak<super::handle::Owner>>,
    panic_handler: Option<PanicHandler>,
    /// The workers' start and stop hooks.
    hooks: crate::pool::hooks::RunHooks,
    pub(super) num_workers: usize,
    /// Fibers of each slot; empty if the pool has none. Boxed:
    /// every control block points at its `SlotFibers`, which must not move.
    #[allow(clippy::vec_box)]
    fibers: Vec<Box<SlotFibers>>,
    /// The event driver (timers), made on first use.
    #[cfg(all(not(loom), any(unix, windows)))]
    driver: std::sync::OnceLock<Arc<crate::driver::Driver>>,
    /// The threads of `spawn_blocking`, started on first use.
    pub(crate) blocking: crate::pool::blocking::Blocking,
}

impl Registry {
    /// `slots` holds the workers' slots then the participant's.
    pub(crate) fn new(slots: Box<[SlotShared]>, panic_handler: Option<PanicHandler>) -> Self {
        let n = slots.len();
        Self {
            slots,
            injector: Injector::new(),
            sleep: Sleep::new(n),
            pending: Pending::new(),
            affinity: AffinitySets::new(),
            pinned: None,
            affine_next: AtomicUsize::new(0),
            live: AtomicUsize::new(n - 1),
            exited: AtomicUsize::new(0),
            exits: super::shutdown::WorkerExits::default(),
            tasks: TaskList::new(n),
            main_jobs: MainJobs::new(),
            arc_self: AtomicPtr::new(core::ptr::null_mut()),
            terminating: AtomicBool::new(false),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            participant: Mutex::new(None),
            owner: std::sync::OnceLock::new(),
            panic_handler,
            hooks: Default::default(),
            num_workers: n - 1,
            fibers: Vec::new(),
            #[cfg(all(not(loom), any(unix, windows)))]
            driver: std::sync::OnceLock::new(),
            blocking: crate::pool::blocking::Blocking::new(crate::pool::blocking::Config {
                max_threads: 1,
                keep_alive: std::time::Duration::from_secs(10),
                name: "spindle-blocking".to_owned(),
            }),
        }
    }

    /// Gives slot `i` the fibers `fibers[i]` (every slot, the
    /// participant's included, or none).
    #[allow(clippy::vec_box)] // see the field
    pub(crate) fn with_fibers(mut self, fibers: Vec<Box<SlotFibers>>) -> Self {
        debug_assert!(fibers.is_empty() || fibers.len() == self.slots.len());
        self.fibers = fibers;
        self
    }

    /// The settings of `spawn_blocking`'s threads (at build).
    pub(crate) fn with_blocking(mut self, config: crate::pool::blocking::Config) -> Self {
        self.blocking = crate::pool::blocking::Blocking::new(config);
        self
    }

    /// Sets the workers' start and stop hooks (at build).
    pub(crate) fn with_hooks(mut self, hooks: crate::pool::hooks::RunHooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Runs worker `index`'s start hook on its thread; a panic goes to the
    /// panic handler.
    pub(crate) fn worker_started(&self, index: usize) {
        self.hooks.started(index, |p| self.handle_panic(p));
    }

    /// Runs worker `index`'s stop hook on its thread; a panic goes to the
    /// panic handler.
    pub(crate) fn worker_stopping(&self, index: usize) {
        self.hooks.stopping(index, |p| self.handle_panic(p));
    }

    /// Records the core each worker is pinned to (at build).
    pub(crate) fn with_pinned(mut self, cores: Option<Vec<usize>>) -> Self {
        self.pinned = cores;
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

    /// Slot `index`'s deque for `class`.
    #[inline]
    pub(crate) fn class_stealer(&self, index: usize, class: Priority) -> &Stealer<JobHeader> {
        let slot = &self.slots[index];
        match class {
            Priority::High => &slot.class_stealers[0],
            Priority::Normal => &slot.stealer,
            Priority::Low => &slot.class_stealers[1],
        }
    }

    pub(crate) fn slot(&self, index: usize) -> &SlotShared {
        &self.slots[index]
    }

    pub(crate) fn counters(&self, index: usize) -> &SlotCounters {
        &self.slots[index].counters
    }

    /// True if any queue, mailboxes included, looked non-empty.
    pub(crate) fn has_work(&self) -> bool {
        self.has_shared_work() || self.slots.iter().any(|s| !s.mailbox.is_empty())
    }

    /// True if slot `index` could find work: the sleep re-check (S3).
    /// Other slots' mailboxes are not looked at: their home worker is
    /// woken for them (`notify_slot`).
    pub(crate) fn has_work_for(&self, index: usize) -> bool {
        self.has_shared_work() || !self.slots[index].mailbox.is_empty()
    }

    fn has_shared_work(&self) -> bool {
        !self.injector.is_empty()
            || self
                .slots
                .iter()
                .any(|s| !s.stealer.is_empty() || s.class_stealers.iter().any(|c| !c.is_empty()))
    }

    /// Records the `Arc` this registry lives in (at build, before any
    /// thread can see it), and lists the pool as alive.
    pub(crate) fn set_arc(this: &Arc<Registry>) {
        this.arc_self
            .store(Arc::as_ptr(this).cast_mut(), Ordering::Relaxed);
        live().push((this.id, Arc::downgrade(this)));
    }

    /// The event driver, made now if it was not yet.
    ///
    /// # Panics
    ///
    /// If the system refuses the event queue (out of file descriptors).
    #[cfg(all(not(loom), any(unix, windows)))]
    pub(crate) fn driver(&self) -> &Arc<crate::driver::Driver> {
        self.driver.get_or_init(|| {
            let driver = crate::driver::Driver::new()
                .unwrap_or_else(|e| panic!("spindle: cannot create the event driver: {e}"));
            // A worker asleep now on its parker would not drive it: wake
            // one, so that a worker is in the driver when a timer is due.
            self.sleep.notify_work(1);
            Arc::new(driver)
        })
    }

    /// The event driver, if it was made.
    #[cfg(all(not(loom), any(unix, windows)))]
    #[inline]
    pub(crate) fn driver_if_any(&self) -> Option<&Arc<crate::driver::Driver>> {
        self.driver.get()
    }

    /// This pool's number, unique in the process.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Runs `f` on the pool numbered `id` if it is still alive. For the
    /// rare paths that hold only a pool's number: the drop of a task's
    /// output by its handle, which may outlive the pool.
    pub(crate) fn with_live<R>(id: u64, f: impl FnOnce(&Registry) -> R) -> Option<R> {
        let pool = live().iter().find(|(i, _)| *i == id)?.1.upgrade()?;
        Some(f(&pool))
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

    /// Records what the pool's handles share (at build).
    pub(crate) fn set_owner(&self, owner: std::sync::Weak<super::handle::Owner>) {
        let _ = self.owner.set(owner);
    }

    /// A strong reference to what the pool's handles share, unless the
    /// last handle is gone.
    pub(crate) fn owner(&self) -> Option<Arc<super::handle::Owner>> {
        self.owner.get().and_then(std::sync::Weak::upgrade)
    }

    /// Puts the participant slot's owner half in place (at build).
    pub(crate) fn set_participant(&self, local: SlotBox) {
        *self.participant.lock().unwrap_or_else(|e| e.into_inner()) = Some(local);
    }

    /// Takes the participant slot if no other thread has it.
    pub(crate) fn claim_participant(&self) -> Option<SlotBox> {
        match self.participant.try_lock() {
            Ok(mut guard) => guard.take(),
            Err(_) => None,
        }
    }

    /// Gives the participant slot back.
    pub(crate) fn return_participant(&self, local: SlotBox) {
        self.set_participant(local);
    }

    /// Hands a detached job's panic to the handler. Without one, the panic
    /// was already printed by the process's panic hook when it happened:
    /// it is reported to `tracing` (feature) and dropped.
    #[cold]
    pub(crate) fn handle_panic(&self, payload: Box<dyn Any + Send>) {
        match &self.panic_handler {
            Some(handler) => {
                let call = std::panic::AssertUnwindSafe(|| handler(payload));
                if let Err(p) = std::panic::catch_unwind(call) {
                    crate::observe::warn(format_args!(
                        "the panic handler itself panicked ({}); ignored",
                        payload_message(&*p)
                    ));
                    drop_payload(p);
                }
            }
            None => {
                crate::observe::warn(format_args!(
                    "a job panicked with no one to join it ({}); the pool continues",
                    payload_message(&*payload)
                ));
                drop_payload(payload);
            }
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
