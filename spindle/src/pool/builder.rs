//! Configuring and starting a pool.

use std::any::Any;

use crate::error::Error;
use crate::facade::Arc;
use crate::fiber::SlotFibers;
use crate::pool::registry::{Registry, SlotShared};
use crate::pool::spawn_handler::{start_workers, SpawnHandler, Start, WorkerThread};
use crate::pool::Pool;
use crate::queue::deque;
use crate::worker::{SlotBox, WorkerLocal};

/// The most worker threads a pool may have.
pub const MAX_WORKERS: usize = 1024;
/// The largest per-slot job cache, in jobs (128 bytes each).
pub const MAX_JOB_CAPACITY: usize = 1 << 20;
/// The smallest worker stack spindle accepts.
pub const MIN_STACK_SIZE: usize = 64 * 1024;
/// The default worker stack: 8 MiB, like a Linux main thread. Deeply
/// nested `join`s keep a frame per level alive (about 200 bytes in an
/// optimised build, about 1.4 KB at `opt-level = 0`), and a worker that
/// waits runs other jobs on top of its own frames, so workers get more
/// than Rust's 2 MiB default. Only the pages touched are committed.
pub const DEFAULT_STACK_SIZE: usize = 8 * 1024 * 1024;
/// The most fibers per slot [`Builder::fibers`] accepts.
pub const MAX_FIBERS: usize = 1 << 16;
/// The default cap on fibers per slot (each worker, and the thread that
/// waits on the pool from outside): made on demand, kept until the pool
/// is dropped.
pub const DEFAULT_FIBERS: usize = 1024;
/// Default [`Builder::max_blocking_threads`].
pub const DEFAULT_MAX_BLOCKING_THREADS: usize = 512;
/// Default [`Builder::blocking_keep_alive`].
pub const DEFAULT_BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(10);
/// The default fiber stack: 1 MiB. A fiber that took over a worker runs
/// every job the worker picks up until it is handed back, so it needs room
/// for ordinary recursion; only the pages touched are committed.
pub const DEFAULT_FIBER_STACK_SIZE: usize = 1024 * 1024;

/// Settings for a [`Pool`]; start with [`Pool::builder`].
///
/// ```
/// let pool = spindle::Pool::builder()
///     .workers(2)
///     .thread_name("render-")
///     .deque_capacity(512)
///     .job_capacity(256)
///     .build()?;
/// assert_eq!(pool.num_workers(), 2);
/// # Ok::<(), spindle::Error>(())
/// ```
///
/// Bad values are reported by [`build`](Builder::build), never by a panic:
///
/// ```
/// let err = spindle::Pool::builder().deque_capacity(1000).build().unwrap_err();
/// assert!(err.to_string().contains("power of two"));
/// ```
#[must_use]
pub struct Builder {
    workers: Option<usize>,
    thread_name: String,
    stack_size: Option<usize>,
    deque_capacity: usize,
    job_capacity: usize,
    fibers: usize,
    fiber_stack_size: usize,
    fiber_float_env: bool,
    panic_handler: Option<crate::pool::registry::PanicHandler>,
    /// `None`: no pinning; `Some(None)`: the process's cores in order;
    /// `Some(Some(list))`: the user's cores.
    pin: Option<Option<Vec<usize>>>,
    max_blocking_threads: usize,
    blocking_keep_alive: std::time::Duration,
    spawn_handler: Option<SpawnHandler>,
    drop_waits: bool,
    /// Thread start/stop hooks and the name function (`hooks.rs`).
    pub(super) hooks: crate::pool::hooks::ThreadHooks,
    /// Events each slot's trace ring keeps (feature `trace`).
    #[cfg(feature = "trace")]
    pub(super) trace_capacity: usize,
}

impl core::fmt::Debug for Builder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .field("stack_size", &self.stack_size)
            .field("deque_capacity", &self.deque_capacity)
            .field("job_capacity", &self.job_capacity)
            .field("fibers", &self.fibers)
            .field("fiber_stack_size", &self.fiber_stack_size)
            .field("fiber_float_env", &self.fiber_float_env)
            .field(
                "panic_handler",
                &self.panic_handler.as_ref().map(|_| "custom"),
            )
            .field("pin", &self.pin)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field(
                "spawn_handler",
                &self.spawn_handler.as_ref().map(|_| "custom"),
            )
            .field("drop_waits", &self.drop_waits)
            .field(
                "on_thread_start",
                &self.hooks.start.as_ref().map(|_| "custom"),
            )
            .field(
                "on_thread_stop",
                &self.hooks.stop.as_ref().map(|_| "custom"),
            )
            .field(
                "thread_name_fn",
                &self.hooks.name.as_ref().map(|_| "custom"),
            )
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            workers: None,
            thread_name: "spindle-".to_owned(),
            stack_size: None,
            deque_capacity: 1024,
            job_capacity: 1024,
            fibers: DEFAULT_FIBERS,
            fiber_stack_size: DEFAULT_FIBER_STACK_SIZE,
            fiber_float_env: false,
            panic_handler: None,
            pin: None,
            max_blocking_threads: DEFAULT_MAX_BLOCKING_THREADS,
            blocking_keep_alive: DEFAULT_BLOCKING_KEEP_ALIVE,
            spawn_handler: None,
            drop_waits: true,
            hooks: Default::default(),
            #[cfg(feature = "trace")]
            trace_capacity: crate::observe::ring::DEFAULT_CAPACITY,
        }
    }
}

impl Builder {
    /// Number of worker threads. Default: available cores − 1, at least 1 —
    /// the thread that waits on the pool takes part, and makes up the last
    /// core.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n);
        self
    }

    /// The most threads [`Pool::spawn_blocking`] runs calls on at once
    /// (default [`DEFAULT_MAX_BLOCKING_THREADS`], 512). They are started
    /// as calls come and are never counted as workers; past the limit,
    /// calls queue. `0` makes [`build`](Builder::build) fail with
    /// [`Error::ZeroBlockingThreads`].
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.max_blocking_threads = n;
        self
    }

    /// How long a [`Pool::spawn_blocking`] thread with nothing to do waits
    /// for the next call before it exits (default
    /// [`DEFAULT_BLOCKING_KEEP_ALIVE`], 10 s).
    pub fn blocking_keep_alive(mut self, keep_alive: std::time::Duration) -> Self {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Prefix of worker thread names; worker `i` is named `{prefix}{i}`.
    /// A prefix with a NUL byte makes [`build`](Builder::build) fail with
    /// [`Error::ThreadName`].
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// Stack size of each worker thread, in bytes (default
    /// [`DEFAULT_STACK_SIZE`], 8 MiB). At least [`MIN_STACK_SIZE`].
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the worker threads with `handler` instead of `std::thread`:
    /// the pool calls it once per worker, in index order, from
    /// [`build`](Builder::build), and the handler starts a thread that
    /// calls [`WorkerThread::run`]. Use it for an engine's own thread type,
    /// per-thread setup (thread-locals, a profiler's registration, a
    /// priority), or a platform without `std::thread` (Web Workers).
    ///
    /// The handler may start the thread later (`build` does not wait for
    /// `run`, unless workers are pinned). The pool does not join the
    /// threads: dropping it from outside waits until every worker has
    /// returned from `run`. The blocking threads of
    /// [`spawn_blocking`](crate::spawn_blocking) still use `std::thread`.
    ///
    /// # Errors
    ///
    /// An error from the handler fails the build with [`Error::Spawn`];
    /// the workers started so far are stopped first.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// let names = Arc::new(Mutex::new(Vec::new()));
    /// let seen = names.clone();
    /// let pool = spindle::Pool::builder()
    ///     .workers(2)
    ///     .thread_name("engine-")
    ///     .spawn_handler(move |worker| {
    ///         seen.lock().unwrap().push(worker.name().to_owned());
    ///         std::thread::Builder::new()
    ///             .name(worker.name().to_owned())
    ///             .stack_size(worker.stack_size())
    ///             .spawn(move || {
    ///                 // Per-thread setup goes here.
    ///                 worker.run();
    ///             })?;
    ///         Ok(())
    ///     })
    ///     .build()?;
    /// assert_eq!(pool.install(|| spindle::join(|| 1, || 2)), (1, 2));
    /// assert_eq!(*names.lock().unwrap(), ["engine-0", "engine-1"]);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn spawn_handler<H>(mut self, handler: H) -> Self
    where
        H: FnMut(WorkerThread) -> std::io::Result<()> + 'static,
    {
        self.spawn_handler = Some(Box::new(handler));
        self
    }

    /// Whether dropping the last handle of the pool from outside it waits
    /// for the workers to finish (default: true). With `false` the drop
    /// starts shutdown and returns at once: queued jobs still run, and the
    /// workers exit on their own. For a thread that must never block, such
    /// as a browser's main thread (`spindle-web` sets it).
    pub fn drop_waits(mut self, wait: bool) -> Self {
        self.drop_waits = wait;
        self
    }

    /// Slots in each worker's deque: a power of two up to
    /// [`deque::MAX_CAPACITY`]. Default 1024. When a deque is full, half
    /// of it moves to the pool's global queue.
    pub fn deque_capacity(mut self, n: usize) -> Self {
        self.deque_capacity = n;
        self
    }

    /// Pre-allocated job blocks per worker (128 bytes each), so spawns do
    /// not call the allocator; past this many jobs in flight from one
    /// worker, spawns fall back to the heap. Default 1024; 0 disables the
    /// cache.
    pub fn job_capacity(mut self, n: usize) -> Self {
        self.job_capacity = n;
        self
    }

    /// The most fibers each slot makes: each worker, and the thread that
    /// waits on the pool from outside (default [`DEFAULT_FIBERS`], 1024;
    /// at most [`MAX_FIBERS`]; 0 turns fibers off).
    ///
    /// With fibers, a job that waits on unfinished work (a `join` whose
    /// other half was stolen, a [`Counter`](crate::Counter), the end of a
    /// scope, an [`Event`](crate::Event), a contended
    /// [`Mutex`](crate::Mutex), a task's `JoinHandle::join`) suspends: its
    /// thread switches to another fiber and goes on running jobs, and the
    /// waiting job resumes, on the same thread, when the thing it waits
    /// for is done. So a wait never buries other work under its frame
    /// (the deadlocks of helping waits: a lock held across nested work,
    /// pools that wait on each other) and never grows a stack.
    ///
    /// Fibers are made when a wait first needs one, not at build. Each
    /// one maps [`fiber_stack_size`](Builder::fiber_stack_size) bytes
    /// (default 1 MiB) plus a guard page; pages are committed only when
    /// touched, so a fiber costs the pages its deepest job touched
    /// (typically 8 to 64 KiB), and address space: at the default cap, up
    /// to 1 GiB per slot. Fibers are kept for reuse until the pool is
    /// dropped. A stack the system refuses stops the slot from making
    /// more.
    ///
    /// When every fiber of a slot is in use, or with `fibers(0)`, or on a
    /// target without a context switch (anything but x86_64 and aarch64
    /// Unix), a wait runs other jobs on its own stack instead, while the
    /// stack has room (a quarter of it, 64 KiB at least, stays free), and
    /// past that parks the thread until the wait is over: it never
    /// overflows a stack, but work only that thread may run then waits for
    /// it. [`Stats`] counts those fallbacks.
    ///
    /// Overflowing a fiber stack aborts the process with a message that
    /// names the fiber stack and its size.
    ///
    /// [`Stats`]: crate::Stats
    ///
    /// ```
    /// let pool = spindle::Pool::builder()
    ///     .workers(2)
    ///     .fibers(16)
    ///     .fiber_stack_size(256 * 1024)
    ///     .build()?;
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn fibers(mut self, per_slot: usize) -> Self {
        self.fibers = per_slot;
        self
    }

    /// Stack size of each fiber, in bytes (default
    /// [`DEFAULT_FIBER_STACK_SIZE`], 1 MiB); rounded up to whole pages.
    /// A size out of range (16 KiB to 1 GiB) makes `build` fail with
    /// [`Error::FiberStackSize`], also when the pool would have no fibers.
    pub fn fiber_stack_size(mut self, bytes: usize) -> Self {
        self.fiber_stack_size = bytes;
        self
    }

    /// Whether a fiber switch also saves and restores the floating-point
    /// control state: MXCSR and the x87 control word on x86_64, FPCR on
    /// aarch64 (rounding mode, exception masks, flush-to-zero). Default:
    /// off.
    ///
    /// Rust code runs in the default floating-point environment (the
    /// compiler assumes it), so every context has the same control state
    /// and a switch need not carry it; saving it would make a switch
    /// about 2.5 times as expensive on x86_64. Turn it on if jobs call
    /// foreign code that changes the rounding mode or exception masks and
    /// may suspend before putting them back: each context then keeps its
    /// own.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().fiber_float_env(true).build()?;
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn fiber_float_env(mut self, on: bool) -> Self {
        self.fiber_float_env = on;
        self
    }

    /// Called with the payload when a detached job
    /// ([`Pool::spawn`]) panics, or a thread hook
    /// ([`on_thread_start`](Builder::on_thread_start)) does. Default: none;
    /// the process's panic hook has printed the panic when it happened,
    /// and the pool drops the payload and goes on (with feature `tracing`
    /// it also emits a `WARN` event, target `spindle`). spindle itself
    /// never prints: the only text it writes to stderr is the reason
    /// before an abort (a broken invariant, a fiber stack overflow).
    pub fn panic_handler<H>(mut self, handler: H) -> Self
    where
        H: Fn(Box<dyn Any + Send>) + Send + Sync + 'static,
    {
        self.panic_handler = Some(Box::new(handler));
        self
    }

    /// Pins worker `i` to its own core: the `i`-th core the process may
    /// run on (its CPU mask, as `taskset` sets it). Default: off. The
    /// thread that waits on the pool from outside is never pinned.
    ///
    /// `build` fails with [`Error::NotEnoughCores`] if there are fewer
    /// cores than workers, and with [`Error::PinningUnsupported`] on
    /// targets other than Linux (pinning is never silently skipped).
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let pool = spindle::Pool::builder().workers(1).pin_workers(true).build()?;
    /// # }
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn pin_workers(mut self, pin: bool) -> Self {
        self.pin = pin.then_some(None);
        self
    }

    /// Pins worker `i` to `cores[i]` (and turns pinning on). Each core must
    /// be in the process's CPU mask and listed once, else `build` fails
    /// with [`Error::InvalidCore`]; a list shorter than the worker count
    /// fails with [`Error::NotEnoughCores`].
    pub fn pin_cores(mut self, cores: impl IntoIterator<Item = usize>) -> Self {
        self.pin = Some(Some(cores.into_iter().collect()));
        self
    }

    fn validate(&self) -> Result<usize, Error> {
        let workers = match self.workers {
            Some(n) => n,
            None => std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1))
                .unwrap_or(1)
                .clamp(1, MAX_WORKERS),
        };
        if workers == 0 {
            return Err(Error::ZeroWorkers);
        }
        if self.thread_name.contains('\0') {
            return Err(Error::ThreadName {
                prefix: self.thread_name.clone(),
            });
        }
        if workers > MAX_WORKERS {
            return Err(Error::TooManyWorkers {
                requested: workers,
                max: MAX_WORKERS,
            });
        }
        let cap = self.deque_capacity;
        if !cap.is_power_of_two() || cap > deque::MAX_CAPACITY {
            return Err(Error::InvalidCapacity {
                what: "deque_capacity",
                value: cap,
                max: deque::MAX_CAPACITY,
                power_of_two: true,
            });
        }
        #[cfg(feature = "trace")]
        if self.trace_capacity > crate::observe::ring::MAX_CAPACITY {
            return Err(Error::InvalidCapacity {
                what: "trace_capacity",
                value: self.trace_capacity,
                max: crate::observe::ring::MAX_CAPACITY,
                power_of_two: false,
            });
        }
        if self.job_capacity > MAX_JOB_CAPACITY {
            return Err(Error::InvalidCapacity {
                what: "job_capacity",
                value: self.job_capacity,
                max: MAX_JOB_CAPACITY,
                power_of_two: false,
            });
        }
        if self.fibers > MAX_FIBERS {
            return Err(Error::InvalidCapacity {
                what: "fibers",
                value: self.fibers,
                max: MAX_FIBERS,
                power_of_two: false,
            });
        }
        // Checked even where it will not be used (no fibers asked for, or
        // none on this target): a size that is wrong here is wrong on the
        // machine where it will be.
        let s = self.fiber_stack_size;
        if !(crate::fiber::MIN_FIBER_STACK..=crate::fiber::MAX_FIBER_STACK).contains(&s) {
            return Err(Error::FiberStackSize {
                value: s,
                min: crate::fiber::MIN_FIBER_STACK,
                max: crate::fiber::MAX_FIBER_STACK,
            });
        }
        if self.max_blocking_threads == 0 {
            return Err(Error::ZeroBlockingThreads);
        }
        if let Some(s) = self.stack_size {
            if s < MIN_STACK_SIZE {
                return Err(Error::StackTooSmall {
                    value: s,
                    min: MIN_STACK_SIZE,
                });
            }
        }
        Ok(workers)
    }

    /// Builds the global pool: the one behind [`join`](crate::join),
    /// [`scope`](crate::scope), [`spawn`](crate::spawn),
    /// [`spawn_async`](crate::spawn_async) and the other free functions
    /// when they are called outside every pool. Without this, the global
    /// pool starts on first use with default settings (its threads named
    /// `spindle-global-N`). Its threads live until the process exits.
    ///
    /// # Errors
    ///
    /// [`Error::GlobalPoolExists`] if the global pool was already built or
    /// used (call this early in `main`); then nothing is started. Any error
    /// of [`build`](Builder::build).
    ///
    /// ```
    /// spindle::Pool::builder().workers(2).thread_name("app-").build_global()?;
    /// assert_eq!(spindle::current_num_threads(), 3);
    /// let err = spindle::Pool::builder().build_global().unwrap_err();
    /// assert!(matches!(err, spindle::Error::GlobalPoolExists));
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn build_global(self) -> Result<(), Error> {
        crate::pool::handle::set_global(self)
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    ///
    /// Any invalid setting, or [`Error::Spawn`] if the operating system
    /// refuses a thread (the threads already started are stopped first).
    pub fn build(mut self) -> Result<Pool, Error> {
        let workers = self.validate()?;
        let names = self.hooks.names(&self.thread_name, workers)?;
        crate::observe::pool_built();
        let pin_plan = match &self.pin {
            Some(chosen) => Some(crate::pool::pin::plan(workers, chosen.as_deref())?),
            None => None,
        };
        // The last slot is the participant's.
        let slots = workers + 1;
        // Whether hidden steals are possible in this process is decided
        // once, before any thief runs (see `util/asym.rs`).
        crate::util::asym::slow_side_allowed();
        let (owners, shared): (Vec<_>, Vec<_>) = (0..slots)
            .map(|_| {
                SlotShared::new(
                    self.deque_capacity,
                    self.job_capacity,
                    #[cfg(feature = "trace")]
                    self.trace_capacity,
                )
            })
            .unzip();
        let blocking = crate::pool::blocking::Config {
            max_threads: self.max_blocking_threads,
            keep_alive: self.blocking_keep_alive,
            name: format!("{}blocking", self.thread_name),
        };
        let registry = Registry::new(shared.into(), self.panic_handler)
            .with_hooks(self.hooks.run_hooks())
            .with_pinned(pin_plan.clone())
            .with_blocking(blocking);
        // Fibers for every slot, the participant's included: made on
        // demand, up to the cap.
        let fibers = if crate::fiber::context::SUPPORTED {
            self.fibers
        } else {
            0
        };
        let slot_fibers = if fibers > 0 {
            (0..slots)
                .map(|i| {
                    SlotFibers::new(
                        fibers,
                        self.fiber_stack_size,
                        self.fiber_float_env,
                        registry.sleep.parker(i).clone(),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let registry = Arc::new(registry.with_fibers(slot_fibers));
        Registry::set_arc(&registry);
        let mut locals = owners.into_iter().enumerate().map(|(i, (deque, classes))| {
            // SAFETY: each home gets exactly one local cache, and the
            // registry (holding homes, parkers and counters) outlives
            // every `WorkerLocal`: workers hold an `Arc`, the
            // participant's lives inside the registry itself. A worker
            // slot runs on its one thread; the participant slot moves
            // between threads only with every fiber free (its guard
            // drains them first).
            unsafe {
                let cache = registry.slot(i).cache_home.make_local();
                let fibers = registry.fibers(i);
                let local = SlotBox::new(WorkerLocal::new(
                    &registry, i, deque, classes, cache, fibers,
                ));
                // Thieves reach the slot's hidden join halves in place:
                // the slot never moves (a `SlotBox`, so moving its owner
                // asserts no unique access), and outlives every search (a
                // worker's lives until its thread ends, after every
                // worker stopped searching; the participant's, with
                // the registry).
                registry.slot(i).hidden.attach(local.hidden());
                local
            }
        });
        let own_threads = self.spawn_handler.is_none();
        let threads = start_workers(
            &registry,
            locals.by_ref().take(workers).collect(),
            Start {
                names,
                stack_size: self.stack_size.unwrap_or(DEFAULT_STACK_SIZE),
                pin_plan: pin_plan.as_deref(),
                handler: self.spawn_handler,
            },
        )?;
        registry.set_participant(locals.next().expect("participant slot"));
        Ok(Pool::from_parts(
            registry,
            threads,
            own_threads,
            self.drop_waits,
        ))
    }
}
