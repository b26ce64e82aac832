//! Pool setup for every implementation, one set of pools per thread count.
//!
//! `threads` (T) counts every thread that runs jobs, a participating caller
//! included (as chili counts):
//! - spindle: for T >= 2, `T - 1` workers plus the calling thread, which
//!   takes part through `Pool::install`; for T == 1, a single worker that is
//!   handed the whole workload with `Pool::spawn`, the bench thread blocking
//!   on a channel (so exactly one thread runs jobs).
//! - rayon: `num_threads(T)`, workload run inside `install` (the caller
//!   blocks).
//! - chili: `thread_count: Some(T)` (chili counts the caller, so it spawns
//!   `T - 1` workers); the caller takes part through a `Scope` made per run.
//! - forte: one static pool resized to `T - 1` managed workers, the caller
//!   taking part through `with_worker`. forte 1.0.0-alpha.4 deadlocks when
//!   its pool is shrunk (resizing joins its heartbeat thread while holding a
//!   lock that thread takes), so thread counts run in ascending order and its
//!   pool only ever grows.
//! - tokio: `worker_threads(T)`, the workload spawned as a task from
//!   `block_on` (the blocking caller runs no tasks).
//!
//! The async workloads run a root future on each runtime from the bench
//! thread:
//! - spindle ([`Spindle::block_on`]): for T >= 2, `Pool::block_on` on the
//!   `T - 1` workers, the calling thread running jobs while the root is
//!   pending (as in `install`); for T == 1, the root is handed to the single
//!   worker with `Pool::spawn_async`, the bench thread blocking on a channel.
//! - tokio: `Runtime::block_on` on the `T` workers; the calling thread polls
//!   the root future only (it runs no spawned task).
//!
//! Pools are built once per thread count, outside timing, and reused.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

/// One implementation of a workload: `run` performs the work once, checks
/// the result (panicking on a wrong one) and returns the time it took.
pub struct Bench<'a> {
    pub name: &'static str,
    /// Operations in one run; the report shows the time of one (the run's
    /// time divided by `ops`, without rounding). 1 unless made by `per_op`.
    pub ops: u32,
    /// Made by `latency`: the report shows the distribution of the samples
    /// the runs pushed, not the runs' times.
    pub latency: bool,
    /// One run; a latency bench pushes its samples into the vector.
    pub run: RunFn<'a>,
}

/// A bench's run: times one run, pushing samples if it is a latency bench.
pub type RunFn<'a> = Box<dyn FnMut(&mut Vec<Duration>) -> Duration + 'a>;

impl<'a> Bench<'a> {
    pub fn new(name: &'static str, run: impl FnMut() -> Duration + 'a) -> Self {
        Self::per_op(name, 1, run)
    }

    /// A bench whose run performs `ops` operations, reported per operation.
    pub fn per_op(name: &'static str, ops: u32, mut run: impl FnMut() -> Duration + 'a) -> Self {
        assert!(ops >= 1);
        Bench {
            name,
            ops,
            latency: false,
            run: Box::new(move |_| run()),
        }
    }

    /// A bench that measures delays: each run pushes one sample per event
    /// it timed, and the report gives their p50 (as the median), minimum
    /// and p99 over all timed runs.
    pub fn latency(
        name: &'static str,
        run: impl FnMut(&mut Vec<Duration>) -> Duration + 'a,
    ) -> Self {
        Bench {
            name,
            ops: 1,
            latency: true,
            run: Box::new(run),
        }
    }
}

/// Runs `f`, returning its result and how long it took.
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let result = f();
    (result, start.elapsed())
}

/// Panics loudly when an implementation computed the wrong answer, so that
/// no implementation can win by skipping work.
#[track_caller]
pub fn check<T: PartialEq + std::fmt::Debug>(workload: &str, imp: &str, got: T, want: T) {
    if got != want {
        panic!("WRONG RESULT: {workload}/{imp} returned {got:?}, expected {want:?}");
    }
}

/// The forte pool: forte pools must be `'static`.
static FORTE: forte::ThreadPool = forte::ThreadPool::new();

/// spindle with the thread-count convention above.
pub struct Spindle {
    pool: Arc<spindle::Pool>,
    threads: usize,
}

impl Spindle {
    /// The pool itself, to build what runs on it (a task graph).
    pub fn pool(&self) -> &spindle::Pool {
        &self.pool
    }

    /// Runs `f` with exactly `threads` threads running jobs.
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        if self.threads == 1 {
            let (tx, rx) = mpsc::channel();
            self.pool.spawn(move || {
                // The receiver outlives the job: the bench thread is blocked in recv.
                let _ = tx.send(f());
            });
            rx.recv()
                .expect("spindle dropped the job without running it")
        } else {
            self.pool.install(f)
        }
    }

    /// Runs `f` through `Pool::install` from the calling thread whatever
    /// the thread count: the caller takes part (as a program's main thread
    /// would) and no hand-off to a worker is timed. At T == 1 the pool's
    /// one worker may steal too, so up to two threads run jobs.
    pub fn install_here<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Runs the future that `root` makes, with exactly `threads` threads
    /// running jobs, and returns its output. `root` gets the pool, to spawn
    /// onto it: the root future may run on the calling thread, which is no
    /// worker of the pool.
    pub fn block_on<Fut>(&self, root: impl FnOnce(Arc<spindle::Pool>) -> Fut) -> Fut::Output
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        let future = root(self.pool.clone());
        if self.threads == 1 {
            let (tx, rx) = mpsc::channel();
            // Detached: the result comes back through the channel.
            drop(self.pool.spawn_async(async move {
                // The receiver outlives the task: the bench thread is blocked in recv.
                let _ = tx.send(future.await);
            }));
            rx.recv()
                .expect("spindle dropped the root task without finishing it")
        } else {
            self.pool.block_on(future)
        }
    }
}

/// The pools of every implementation for one thread count, each built the
/// first time a bench uses it (outside timing: the warm-up runs first), so
/// a process that runs one implementation's benches (`--family`, see
/// `main.rs`) starts no other runtime's threads.
pub struct Pools {
    spindle: OnceLock<Spindle>,
    rayon: OnceLock<rayon::ThreadPool>,
    chili: OnceLock<chili::ThreadPool>,
    tokio: OnceLock<tokio::runtime::Runtime>,
    smol: OnceLock<Arc<async_executor::Executor<'static>>>,
    forte: OnceLock<()>,
    /// The thread count these pools are built for.
    pub threads: usize,
}

impl Pools {
    pub fn new(threads: usize) -> Self {
        assert!(threads >= 1);
        Pools {
            spindle: OnceLock::new(),
            rayon: OnceLock::new(),
            chili: OnceLock::new(),
            tokio: OnceLock::new(),
            smol: OnceLock::new(),
            forte: OnceLock::new(),
            threads,
        }
    }

    pub fn spindle(&self) -> &Spindle {
        self.spindle.get_or_init(|| {
            let threads = self.threads;
            let workers = if threads == 1 { 1 } else { threads - 1 };
            let pool = spindle::Pool::builder()
                .workers(workers)
                .build()
                .expect("building the spindle pool");
            Spindle {
                pool: Arc::new(pool),
                threads,
            }
        })
    }

    pub fn rayon(&self) -> &rayon::ThreadPool {
        self.rayon.get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .build()
                .expect("building the rayon pool")
        })
    }

    pub fn tokio(&self) -> &tokio::runtime::Runtime {
        self.tokio.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(self.threads)
                // The I/O and timer drivers (for the io-* and timer rows).
                .enable_all()
                .build()
                .expect("building the tokio runtime")
        })
    }

    /// Runs `future` on smol's executor (`async-executor`, with
    /// `async-io`'s reactor thread for I/O and timers): `threads` threads
    /// run the executor, and the calling thread waits.
    pub fn smol<Fut>(
        &self,
        root: impl FnOnce(Arc<async_executor::Executor<'static>>) -> Fut,
    ) -> Fut::Output
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        let ex = self.smol.get_or_init(|| {
            let ex = Arc::new(async_executor::Executor::new());
            for i in 0..self.threads {
                let ex = ex.clone();
                std::thread::Builder::new()
                    .name(format!("smol-{i}"))
                    .spawn(move || {
                        async_io::block_on(ex.run(std::future::pending::<()>()));
                    })
                    .expect("starting a smol thread");
            }
            ex
        });
        async_io::block_on(ex.spawn(root(ex.clone())))
    }

    /// Runs `f` on the forte pool with the calling thread as a participant.
    pub fn forte<R>(&self, f: impl FnOnce(&forte::Worker) -> R) -> R {
        self.forte.get_or_init(|| {
            // Only grows: thread counts run in ascending order (see the
            // file doc).
            let size = FORTE.resize_to(self.threads - 1);
            assert_eq!(size, self.threads - 1, "forte pool size");
        });
        FORTE.with_worker(f)
    }

    /// Runs `f` on chili with the calling thread as a participant.
    pub fn chili<R>(&self, f: impl FnOnce(&mut chili::Scope<'_>) -> R) -> R {
        let pool = self.chili.get_or_init(|| {
            chili::ThreadPool::with_config(chili::Config {
                thread_count: NonZeroUsize::new(self.threads),
                ..chili::Config::default()
            })
        });
        let mut scope = pool.scope();
        f(&mut scope)
    }
}
