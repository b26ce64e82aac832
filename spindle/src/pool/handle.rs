//! The pool: its handle, the calls that enter it, shutdown, and the global
//! pool behind the free functions.

use std::sync::OnceLock;

use crate::error::Error;
use crate::facade::{thread, Arc};
use crate::job::StackJob;
use crate::options::Options;
use crate::pool::builder::Builder;
use crate::pool::registry::Registry;
use crate::pool::stats::Stats;
use crate::sync::block::{block, Help};
use crate::worker::{self, SlotBox, WorkerLocal};

/// A work-stealing pool of worker threads.
///
/// Work enters through [`join`](Pool::join), [`scope`](Pool::scope),
/// [`dispatch`](Pool::dispatch), [`spawn`](Pool::spawn) and
/// [`install`](Pool::install). A thread from outside the pool that waits on
/// it — in `join`, `scope`, `install` or `wait` — takes the pool's
/// *participant slot* and runs jobs while it waits, so a pool of `N` workers
/// keeps `N + 1` cores busy. One outside thread at a time holds that slot;
/// others hand their call to a worker and block.
///
/// A `Pool` is a handle: [`clone`](Clone::clone) gives another one to the
/// same pool, and [`Pool::current`] gives one from inside the pool's jobs.
/// Dropping the last handle runs every job already queued, then joins the
/// threads. If the last handle is dropped inside one of the pool's own
/// jobs, the drop detaches the threads instead of joining them (a worker
/// may be waiting for that very job), and the last worker to leave
/// finishes the shutdown.
///
/// ```
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// let (a, b) = pool.join(|| 1 + 1, || 2 + 2);
/// assert_eq!((a, b), (2, 4));
/// # Ok::<(), spindle::Error>(())
/// ```
#[derive(Clone)]
pub struct Pool {
    registry: Arc<Registry>,
    /// Shared by every handle; dropping the last one shuts the pool down.
    /// Held for that drop only.
    _owner: Arc<Owner>,
}

/// What the last handle of a pool shuts down: its worker threads.
pub(crate) struct Owner {
    registry: Arc<Registry>,
    threads: Vec<thread::JoinHandle<()>>,
    /// False if a spawn handler started the workers: `threads` is empty
    /// and shutdown waits for the workers' exits instead of joining.
    own_threads: bool,
    /// `Builder::drop_waits`: false, the drop detaches (as from a job).
    drop_waits: bool,
}

impl Pool {
    /// Settings for a new pool.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A pool with default settings.
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] if a thread cannot be started.
    pub fn new() -> Result<Pool, Error> {
        Builder::default().build()
    }

    pub(crate) fn from_parts(
        registry: Arc<Registry>,
        threads: Vec<thread::JoinHandle<()>>,
        own_threads: bool,
        drop_waits: bool,
    ) -> Self {
        let owner = Arc::new(Owner {
            registry: registry.clone(),
            threads,
            own_threads,
            drop_waits,
        });
        registry.set_owner(Arc::downgrade(&owner));
        Self {
            registry,
            _owner: owner,
        }
    }

    /// A handle to the pool the calling thread works for: inside one of
    /// its jobs or tasks, or on a thread holding its participant slot
    /// (inside `install`, `scope`, `wait` from outside). `None` elsewhere,
    /// and once the pool's last handle has been dropped.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// assert!(spindle::Pool::current().is_none());
    /// let inside = pool.install(|| spindle::Pool::current());
    /// let inside = inside.expect("called from the pool");
    /// assert!(inside.same_pool(&pool));
    /// // A handle like any other: work can be submitted through it.
    /// assert_eq!(inside.join(|| 1, || 2), (1, 2));
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn current() -> Option<Pool> {
        worker::with_current(|w| w.and_then(|w| w.registry().owner())).map(|owner| Pool {
            registry: owner.registry.clone(),
            _owner: owner,
        })
    }

    /// True if `self` and `other` are handles to the same pool.
    pub fn same_pool(&self, other: &Pool) -> bool {
        Arc::ptr_eq(&self.registry, &other.registry)
    }

    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Checks `options` against this pool once, for the `_placed` submit
    /// methods ([`Pool::spawn_placed`], [`Scope::spawn_placed`](crate::Scope::spawn_placed),
    /// [`Pool::dispatch_placed`], [`Pool::spawn_async_placed`]), which then
    /// have nothing left to fail. See [`Placement`](crate::Placement).
    ///
    /// # Errors
    ///
    /// An affinity this pool cannot honour (see [`Affinity`](crate::Affinity)).
    ///
    /// ```
    /// use spindle::{Affinity, Error, Options};
    ///
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// assert!(pool.placement(&Options::new().affinity(Affinity::worker(1))).is_ok());
    /// let err = pool.placement(&Options::new().affinity(Affinity::worker(5)));
    /// assert!(matches!(err, Err(Error::NoSuchWorker { worker: 5, workers: 2 })));
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn placement(&self, options: &Options) -> Result<crate::Placement, Error> {
        self.registry.place(options)
    }

    /// Number of worker threads (not counting a participating caller).
    pub fn num_workers(&self) -> usize {
        self.registry.num_workers()
    }

    /// Counters per worker; see [`Stats`].
    pub fn stats(&self) -> Stats {
        self.registry.stats()
    }

    /// The data-parallel loops and sorts of [`par`](crate::par), run in
    /// this pool (from any thread; one of another pool waits as in
    /// [`install`](Pool::install)).
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let mut v: Vec<u32> = (0..10_000).rev().collect();
    /// pool.par().sort_unstable(&mut v);
    /// assert_eq!(v[0], 0);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn par(&self) -> crate::par::Par<'_> {
        crate::par::Par::new().pool(self)
    }

    /// Runs `op` inside the pool and returns its result. Called from
    /// outside, the calling thread runs `op` itself as the pool's
    /// participant (no hand-off), so `join` and `scope` inside it are as
    /// cheap as on a worker.
    ///
    /// Called from a worker of *another* pool, `op` is handed to this pool
    /// and the caller keeps running its own pool's jobs while it waits, so
    /// pools whose jobs call into each other do not deadlock. That
    /// guarantee needs fibers (the default where the target has them): the
    /// waiting job suspends and its thread goes on. Without them
    /// (`fibers(0)`, targets without fibers, or every fiber in use), the
    /// waiting thread runs those jobs on top of its waiting frame, and a
    /// cycle of such waits through two pools can bury each other and hang,
    /// as in other helping schedulers.
    ///
    /// ```
    /// let a = spindle::Pool::builder().workers(1).build()?;
    /// let b = spindle::Pool::builder().workers(1).build()?;
    /// // A job of `a` enters `b`, whose job enters `a` again.
    /// let n = a.install(|| b.install(|| a.install(|| 1) + 1) + 1);
    /// assert_eq!(n, 3);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn install<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        self.in_worker(|_| op())
    }

    /// Runs `a` and `b`, potentially in parallel, and returns both results.
    ///
    /// `a` runs on the calling thread; `b` waits in a private slot and runs
    /// right after `a` unless an idle thread takes it first. Nothing is
    /// allocated. Both always run. If either panics, the panic is re-raised
    /// here after both have finished; if both do, `a`'s is re-raised and
    /// `b`'s goes to the pool's panic handler.
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        self.in_worker(|w| w.join(a, b))
    }

    /// [`Pool::join`] with [`Options`] for `b`, the half that may run
    /// elsewhere: its priority class and the workers it may run on. `a`
    /// runs on the calling thread as always; `b` is queued by its options
    /// (not kept private), and the caller runs other work until it is
    /// done. Default options take the plain `join` path.
    ///
    /// # Errors
    ///
    /// An affinity this pool cannot honour; then neither closure runs.
    ///
    /// ```
    /// use spindle::{Affinity, Options};
    ///
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let only_1 = Options::new().affinity(Affinity::worker(1));
    /// let (a, b) = pool.join_with(only_1, || 1, spindle::worker_index)?;
    /// assert_eq!((a, b), (1, Some(1)));
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn join_with<A, B, RA, RB>(&self, options: Options, a: A, b: B) -> Result<(RA, RB), Error>
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let placement = self.registry.place(&options)?;
        if placement.is_plain() {
            return Ok(self.join(a, b));
        }
        Ok(self.in_worker(|w| w.join_placed(a, b, placement)))
    }

    /// [`in_worker`] on this pool.
    #[inline]
    pub(crate) fn in_worker<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&WorkerLocal) -> R + Send,
        R: Send,
    {
        in_worker(&self.registry, op)
    }

    /// [`with_local`] on this pool.
    pub(crate) fn with_local<R>(&self, f: impl FnOnce(Option<&WorkerLocal>) -> R) -> R {
        with_local(&self.registry, f)
    }
}

/// Enters the pool: on a slot of this pool, `op` runs right here. From
/// a slot of another pool, `op` is handed to this pool and the caller
/// waits for it while it keeps serving its own pool (it suspends its
/// fiber, or runs its own pool's jobs): a thread of one pool never
/// becomes another's, so pools that call into each other cannot
/// deadlock. From outside every pool, the caller takes this pool's
/// participant slot and runs `op` there, or, if another thread holds
/// that slot, hands `op` to a worker and sleeps.
#[inline]
pub(crate) fn in_worker<OP, R>(registry: &Registry, op: OP) -> R
where
    OP: FnOnce(&WorkerLocal) -> R + Send,
    R: Send,
{
    // Not through a closure: `op` would be copied into it.
    let here = worker::Here::new();
    match here.slot() {
        Some(w) if core::ptr::eq(w.registry(), registry) => op(w),
        Some(w) => in_worker_cross(registry, w, op),
        None => in_worker_cold(registry, op),
    }
}

#[cold]
fn in_worker_cold<OP, R>(registry: &Registry, op: OP) -> R
where
    OP: FnOnce(&WorkerLocal) -> R + Send,
    R: Send,
{
    match registry.claim_participant() {
        Some(local) => {
            let guard = Participant::enter(registry, local);
            op(guard.local())
        }
        None => run_on_worker(registry, op, None),
    }
}

/// `in_worker` from `current`, a slot of another pool.
#[cold]
fn in_worker_cross<OP, R>(registry: &Registry, current: &WorkerLocal, op: OP) -> R
where
    OP: FnOnce(&WorkerLocal) -> R + Send,
    R: Send,
{
    run_on_worker(registry, op, Some(current))
}

/// Runs `f` on this thread with a slot of this pool: the caller's own if
/// it runs one here; else, from outside every pool, the participant
/// slot if it is free. `None` if another thread holds that slot, or if
/// the caller runs a slot of another pool (it keeps that one).
pub(crate) fn with_local<R>(registry: &Registry, f: impl FnOnce(Option<&WorkerLocal>) -> R) -> R {
    let here = worker::Here::new();
    match here.slot() {
        Some(w) if core::ptr::eq(w.registry(), registry) => return f(Some(w)),
        Some(_) => return f(None),
        None => {}
    }
    match registry.claim_participant() {
        Some(local) => {
            let guard = Participant::enter(registry, local);
            f(Some(guard.local()))
        }
        None => f(None),
    }
}

/// Hands `op` to this pool through the injector and waits until it
/// returns: on `waiter`, a slot of another pool, which goes on serving
/// that pool meanwhile; or, with no slot (an outside thread while the
/// participant slot is taken), by sleeping.
fn run_on_worker<OP, R>(registry: &Registry, op: OP, waiter: Option<&WorkerLocal>) -> R
where
    OP: FnOnce(&WorkerLocal) -> R + Send,
    R: Send,
{
    let op = || {
        worker::with_current_in(registry, |w| {
            // Injected jobs run only on this pool's slots.
            op(w.expect("spindle: an injected job ran outside its pool"))
        })
    };
    let job = StackJob::new(op);
    // SAFETY: we wait below until the cell is set, so `job` outlives
    // its execution.
    let job_ref = unsafe { job.as_job_ref() };
    registry.inject(job_ref);
    match waiter {
        Some(w) => w.wait_until(job.cell()),
        None => block(job.cell(), Help::Allowed),
    }
    job.into_result()
}

/// An outside thread's hold on the participant slot. While it lives, the
/// thread's `CURRENT` is the slot; on drop (also when unwinding) the jobs
/// this thread left suspended on the slot's fibers are finished here, the
/// slot's leftover public jobs move to the injector, and the slot is given
/// back.
///
struct Participant<'a> {
    registry: &'a Registry,
    /// `Some` until `drop` gives it back.
    local: Option<SlotBox>,
    prev: *const WorkerLocal,
}

impl<'a> Participant<'a> {
    fn enter(registry: &'a Registry, local: SlotBox) -> Self {
        local.set_root_stack();
        #[cfg(spindle_fibers)]
        if local.has_fibers() {
            // A fiber stack overflow is reported from the signal handler,
            // which needs a stack of its own on this thread too.
            crate::fiber::guard::ensure_altstack();
        }
        // SAFETY: the slot lives until `drop`, which makes the previous
        // slot current again first; only this thread runs it.
        let prev = unsafe { worker::set_current(local.as_ptr()) };
        Self {
            registry,
            local: Some(local),
            prev,
        }
    }

    fn local(&self) -> &WorkerLocal {
        self.local.as_ref().expect("held until drop")
    }
}

impl Drop for Participant<'_> {
    fn drop(&mut self) {
        // The slot's fibers suspended by this thread must finish here
        // before the slot may pass to another thread.
        self.local().drain_fibers();
        self.local().flush_to_injector();
        // SAFETY: `prev` was current before `enter` and is alive again
        // (we only ever nest inside it).
        unsafe { worker::set_current(self.prev) };
        if let Some(local) = self.local.take() {
            self.registry.return_participant(local);
        }
    }
}

impl Drop for Owner {
    /// The last handle is gone. Starts shutdown: every queued job still runs, then the workers
    /// exit, and the last one out cancels unfinished tasks (see
    /// `Registry::worker_exited`). Dropped from outside the pool, this
    /// waits for all of that. Dropped inside one of the pool's own jobs
    /// (the job held the last handle), it cannot wait (other workers may
    /// be waiting for that very job): it detaches the worker threads and
    /// returns, and they finish shutdown on their own.
    fn drop(&mut self) {
        self.registry.terminate();
        let num_workers = self.registry.num_workers();
        let on_own_worker = worker::with_current_in(&self.registry, |w| {
            w.is_some_and(|w| w.index() < num_workers)
        });
        if on_own_worker || !self.drop_waits {
            // Detach: dropping a `JoinHandle` does not join.
            self.threads.clear();
            return;
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if !self.own_threads {
            self.registry.wait_workers_exited();
        }
        // The workers are gone, and the last one closed the task list.
        // Main jobs left: run them if this is their thread (no-op else;
        // they are dropped with the registry).
        self.registry.run_main_jobs_here();
    }
}

// A panic never leaves the pool in a broken state: panics are caught at
// every job boundary and the shared structures are updated atomically.
impl std::panic::UnwindSafe for Pool {}
impl std::panic::RefUnwindSafe for Pool {}

impl core::fmt::Debug for Pool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.num_workers())
            .finish_non_exhaustive()
    }
}

/// The global pool: set by `Builder::build_global`, or built on first
/// use with default settings.
static GLOBAL: OnceLock<Pool> = OnceLock::new();

/// The pool behind the free functions, built on first use with default
/// settings unless `Builder::build_global` built it first.
///
/// # Panics
///
/// If the operating system refuses to start its threads.
pub(crate) fn global() -> &'static Pool {
    GLOBAL.get_or_init(|| {
        Pool::builder()
            .thread_name("spindle-global-")
            .build()
            .unwrap_or_else(|e| match std::error::Error::source(&e) {
                Some(cause) => panic!("spindle: cannot start the global pool: {e}: {cause}"),
                None => panic!("spindle: cannot start the global pool: {e}"),
            })
    })
}

/// `Builder::build_global`: builds the global pool from `builder`, unless
/// it exists already (a pool built by a thread that lost a race to another
/// `build_global` is dropped again).
pub(crate) fn set_global(builder: Builder) -> Result<(), Error> {
    if GLOBAL.get().is_some() {
        return Err(Error::GlobalPoolExists);
    }
    let pool = builder.build()?;
    // Another thread may have won the race since the check: its pool stays,
    // ours is dropped (from outside it, so its threads are joined).
    GLOBAL.set(pool).map_err(|_| Error::GlobalPoolExists)
}

/// The slot this thread runs (of any pool), else the global pool's entry.
#[inline]
pub(crate) fn with_worker<OP, R>(op: OP) -> R
where
    OP: FnOnce(&WorkerLocal) -> R + Send,
    R: Send,
{
    let here = worker::Here::new();
    match here.slot() {
        Some(w) => op(w),
        None => global().in_worker(op),
    }
}
