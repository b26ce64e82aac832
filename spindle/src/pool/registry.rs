//! What all slots of a pool share: their stealers, job-cache homes and
//! counters, the injector, the sleep state, and the participant slot.

use std::any::Any;

use crate::affinity::AffinitySets;
use crate::error::Error;
use crate::facade::{Arc, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Mutex, Ordering};
use crate::fiber::SlotFibers;
use crate::job::{JobCacheHome, JobHeader, JobRef};
use crate::options::{Options, Priority};
use crate::pool::main_jobs::MainJobs;
use crate::pool::stats::{SlotCounters, Stats};
use crate::queue::deque::Stealer;
use crate::queue::hidden;
use crate::queue::injector::Injector;
use crate::queue::mailbox::Mailbox;
use crate::queue::pending::Pending;
use crate::sleep::Sleep;
use crate::task::TaskList;
use crate::unwind::{drop_payload, payload_message};
use crate::util::CachePadded;
use crate::worker::WorkerLocal;

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

/// A submission's options, checked against the pool: what goes in the
/// job's header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Placement {
    pub(crate) priority: Priority,
    /// Affinity set id; 0: any worker.
    pub(crate) affinity: u32,
}

impl Placement {
    /// `Normal`, any worker.
    pub(crate) const PLAIN: Placement = Placement {
        priority: Priority::Normal,
        affinity: 0,
    };

    pub(crate) fn is_plain(self) -> bool {
        self.priority == Priority::Normal && self.affinity == 0
    }
}

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
}

pub(crate) struct Registry {
    slots: Box<[SlotShared]>,
    pub(crate) injector: Injector,
    pub(crate) sleep: Sleep,
    /// How many `High`, `Low` and affine jobs are queued.
    pub(crate) pending: Pending,
    /// The affinity sets in use, by id.
    affinity: AffinitySets,
    /// Which core each worker is pinned to, if the pool pins them.
    pinned: Option<Vec<usize>>,
    /// Round-robin over a set's members, for affine jobs submitted from
    /// outside their set.
    affine_next: AtomicUsize,
    /// Workers that have not voted to exit (see `vote_exit`); 0 once
    /// shutdown is decided.
    live: AtomicUsize,
    /// Workers whose thread has left its loop (`worker_exited`).
    exited: AtomicUsize,
    /// Unfinished async tasks, for shutdown.
    pub(crate) tasks: TaskList,
    /// Jobs for the thread that built the pool.
    pub(crate) main_jobs: MainJobs,
    /// This registry's address as its `Arc` gave it (`Arc::as_ptr`): the
    /// pointer whose provenance covers the reference counts, for tasks to
    /// take strong references from a `&Registry`. Set once at build.
    arc_self: AtomicPtr<Registry>,
    terminating: AtomicBool,
    /// This pool's number, unique in the process (see `LIVE`).
    id: u64,
    /// The participant slot's owner half, while no thread borrows it.
    participant: Mutex<Option<Box<WorkerLocal>>>,
    panic_handler: Option<PanicHandler>,
    num_workers: usize,
    /// Fibers of each slot; empty if the pool has none. Boxed:
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
            pending: Pending::new(),
            affinity: AffinitySets::new(),
            pinned: None,
            affine_next: AtomicUsize::new(0),
            live: AtomicUsize::new(n - 1),
            exited: AtomicUsize::new(0),
            tasks: TaskList::new(n),
            main_jobs: MainJobs::new(),
            arc_self: AtomicPtr::new(core::ptr::null_mut()),
            terminating: AtomicBool::new(false),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            participant: Mutex::new(None),
            panic_handler,
            num_workers: n - 1,
            fibers: Vec::new(),
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

    /// Checks `options` against this pool: the priority and affinity set
    /// id to put in a job's header.
    pub(crate) fn place(&self, options: &Options) -> Result<Placement, Error> {
        let affinity = match &options.affinity {
            None => 0,
            Some(a) => {
                self.affinity
                    .intern(a, self.num_workers, self.pinned.as_deref())?
                    .0
            }
        };
        Ok(Placement {
            priority: options.priority,
            affinity,
        })
    }

    /// Queues a job that is not plain (`High`, `Low`, or affine); `local`
    /// is the calling thread's slot if it is one of this pool's.
    ///
    /// An affine job goes to the mailbox of a worker of its set: the
    /// caller's own slot if it is in the set, else the next member in
    /// round-robin order; that worker is woken. Other jobs go to the
    /// caller's deque for their class, or from outside, to the injector.
    #[cold]
    pub(crate) fn push_special(&self, job: JobRef, local: Option<&WorkerLocal>) {
        debug_assert!(!job.is_plain());
        if job.is_affine() {
            // SAFETY: the job is live until executed, and not yet queued.
            let id = unsafe { job.header_ptr().as_ref() }.affinity();
            let set = self.affinity.get(id);
            let home = match local {
                Some(w) if set.contains(w.index()) => w.index(),
                _ if set.len() == 1 => set.nth(0),
                _ => set.nth(self.affine_next.fetch_add(1, Ordering::Relaxed) % set.len()),
            };
            self.pending.queued_affine();
            self.slots[home].mailbox.push(job.priority(), job, set);
            self.sleep.notify_slot(home);
            return;
        }
        self.pending.queued(job.priority());
        match local {
            Some(w) => w.push_class(job),
            None => self.injector.push(job),
        }
        self.sleep.notify_work(1);
    }

    /// Queues a job from a thread that is not one of this pool's slots.
    pub(crate) fn inject(&self, job: JobRef) {
        if job.is_plain() {
            self.injector.push(job);
            self.sleep.notify_work(1);
        } else {
            self.push_special(job, None);
        }
    }

    /// A worker found nothing anywhere while the pool terminates, and can
    /// exit (it runs on its own stack, no fiber suspended). Returns true
    /// once every worker has voted: the pool is quiescent and the worker
    /// may exit. Until then a voter runs nothing; if work for it shows up,
    /// it takes back its vote ([`unvote`](Self::unvote)) before taking it.
    ///
    /// Why not exit at once, as a worker without affine jobs could: a job
    /// still running elsewhere may queue work that only this worker may run
    /// (its mailbox). Exit is decided when the last worker votes; each
    /// vote comes after a check that no queue, mailboxes included, holds
    /// work, and a voter that takes work un-votes first, so when the count
    /// reaches zero no job runs and none is queued.
    pub(crate) fn vote_exit(&self, voted: &core::cell::Cell<bool>) -> bool {
        if voted.get() {
            return self.exit_decided();
        }
        // Order the check after whatever this thread queued and ran.
        crate::facade::fence(Ordering::SeqCst);
        if self.has_work() {
            return false;
        }
        voted.set(true);
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.sleep.wake_all();
            return true;
        }
        false
    }

    /// Called by each worker as its thread ends, after it left its loop:
    /// the last one out closes the task list and drains what is left
    /// (`close_tasks`). So shutdown completes whether the pool was dropped
    /// by an outside thread (which joins the workers, and so returns after
    /// this) or by one of its own jobs (which detaches them).
    pub(crate) fn worker_exited(this: &Arc<Registry>) {
        if this.exited.fetch_add(1, Ordering::AcqRel) + 1 == this.num_workers {
            Registry::close_tasks(this);
        }
    }

    /// True once every worker voted to exit.
    pub(crate) fn exit_decided(&self) -> bool {
        self.live.load(Ordering::SeqCst) == 0
    }

    /// Takes back a vote (see `vote_exit`); false if exit is decided
    /// already.
    pub(crate) fn unvote(&self, voted: &core::cell::Cell<bool>) -> bool {
        debug_assert!(voted.get());
        let ok = self
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > 0).then_some(n + 1)
            })
            .is_ok();
        if ok {
            voted.set(false);
        }
        ok
    }

    /// Forgets `n` workers that never started (a failed build).
    pub(crate) fn forget_workers(&self, n: usize) {
        self.live.fetch_sub(n, Ordering::SeqCst);
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
    /// thread can see it), and lists the pool as alive.
    pub(crate) fn set_arc(this: &Arc<Registry>) {
        this.arc_self
            .store(Arc::as_ptr(this).cast_mut(), Ordering::Relaxed);
        live().push((this.id, Arc::downgrade(this)));
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

    /// After the workers have exited: cancels every unfinished task and
    /// runs what is left in the global queue (see `task/list.rs`).
    pub(crate) fn close_tasks(this: &Arc<Registry>) {
        this.tasks.close();
        this.drain_after_close();
        this.tasks.retire(this.clone());
    }

    /// Runs every job left in the global queue and the mailboxes on this
    /// thread. Called once
    /// the task list is closed, when no worker takes jobs any more: queued
    /// tasks see the pool terminating and cancel themselves.
    pub(crate) fn drain_after_close(&self) {
        // Pairs with the fence in an outside `schedule`'s `notify_work`
        // (push, fence, read `closed`): either it sees the list closed and
        // drains itself, or we see its job.
        crate::facade::fence(Ordering::SeqCst);
        loop {
            let mut jobs: Vec<JobRef> = self.injector.pop().into_iter().collect();
            if jobs.is_empty() {
                jobs = self
                    .slots
                    .iter()
                    .flat_map(|s| s.mailbox.take_all())
                    .collect();
            }
            if jobs.is_empty() {
                break;
            }
            for job in jobs {
                // SAFETY: taken from a queue, so ours to execute once.
                unsafe { job.execute() };
            }
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
                if let Err(p) = std::panic::catch_unwind(call) {
                    eprintln!("spindle: the panic handler itself panicked; ignoring");
                    drop_payload(p);
                }
            }
            None => {
                eprintln!(
                    "spindle: a job panicked with no one to join it: {}; the pool continues",
                    payload_message(&*payload)
                );
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
