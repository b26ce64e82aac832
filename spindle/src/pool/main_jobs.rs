//! Main-thread jobs: work that must run on the thread that owns the pool
//! (windowing, graphics APIs, anything with thread affinity).
//!
//! The owner is the thread that built the pool. A main job runs when that
//! thread calls [`Pool::run_main_jobs`], or while it waits on the pool
//! through the participant slot (`install`, `join`, `scope`, `wait`,
//! `block_on` from outside): every round of its wait loop runs what is
//! queued, and queuing a main job wakes it if it sleeps there.

use std::collections::VecDeque;
use std::thread::ThreadId;

use crate::error::Error;
use crate::facade::{AtomicUsize, Mutex, Ordering};
use crate::job::JobRef;
use crate::pool::registry::Registry;
use crate::pool::Pool;

/// A queued main job: a boxed closure (`spawn_on_main`), or a job whose
/// memory lives elsewhere (a graph's main-thread node, queued each run
/// without allocating).
enum MainJob {
    Boxed(Box<dyn FnOnce() + Send>),
    Job(JobRef),
}

/// The queue of main jobs of one pool.
pub(crate) struct MainJobs {
    owner: ThreadId,
    queue: Mutex<VecDeque<MainJob>>,
    /// `queue.len()`, for the wait loop's check without the lock.
    len: AtomicUsize,
}

impl MainJobs {
    /// A queue owned by the calling thread.
    pub(crate) fn new() -> Self {
        Self {
            owner: std::thread::current().id(),
            queue: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
        }
    }

    /// True if called on the owner thread and something is queued.
    #[inline]
    pub(crate) fn pending_here(&self) -> bool {
        self.len.load(Ordering::Acquire) != 0 && std::thread::current().id() == self.owner
    }

    fn push(&self, job: MainJob) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.push_back(job);
        self.len.store(q.len(), Ordering::Release);
    }

    fn pop(&self) -> Option<MainJob> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let job = q.pop_front();
        self.len.store(q.len(), Ordering::Release);
        job
    }
}

impl Registry {
    /// Queues `job` for the thread that built the pool.
    ///
    /// # Safety
    ///
    /// As for any queued job (rules of `job`): `job` stays alive until it
    /// has executed, and is queued once per execution.
    pub(crate) unsafe fn queue_main_job(&self, job: JobRef) {
        self.main_jobs.push(MainJob::Job(job));
        self.wake_main();
    }

    /// The owner may be asleep in a wait on the participant slot.
    fn wake_main(&self) {
        self.sleep.parker(self.num_slots() - 1).unpark();
    }

    /// Runs the queued main jobs if this is the owner thread; returns how
    /// many ran. Panics go to the pool's panic handler.
    pub(crate) fn run_main_jobs_here(&self) -> usize {
        if std::thread::current().id() != self.main_jobs.owner {
            return 0;
        }
        let mut n = 0;
        while let Some(job) = self.main_jobs.pop() {
            match job {
                MainJob::Boxed(job) => {
                    if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
                        self.handle_panic(p);
                    }
                }
                // SAFETY: popped from the queue, so ours alone to run
                // (`queue_main_job`'s contract keeps it alive until then);
                // a job never unwinds (rule 3 of `job`).
                MainJob::Job(job) => unsafe { job.execute() },
            }
            n += 1;
        }
        n
    }
}

impl Pool {
    /// Queues `f` to run on the thread that built this pool, the next time
    /// it calls [`run_main_jobs`](Pool::run_main_jobs) or waits on the
    /// pool from outside (see `run_main_jobs`). Callable
    /// from any thread, workers included. A panic goes to the pool's panic
    /// handler.
    ///
    /// Main jobs still queued when the pool is dropped run then if the
    /// pool is dropped on its owner thread; dropped anywhere else, they are
    /// dropped unrun (no thread may run them any more).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let main = std::thread::current().id();
    /// let ran_on_main = Arc::new(AtomicBool::new(false));
    /// let flag = ran_on_main.clone();
    /// let p = &pool;
    /// pool.install(|| {
    ///     // On a worker: ask the owner thread to do something.
    ///     p.spawn_on_main(move || {
    ///         flag.store(std::thread::current().id() == main, Ordering::SeqCst)
    ///     });
    /// });
    /// pool.run_main_jobs()?;
    /// assert!(ran_on_main.load(Ordering::SeqCst));
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn spawn_on_main<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let registry = self.registry();
        registry.main_jobs.push(MainJob::Boxed(Box::new(f)));
        registry.wake_main();
    }

    /// Runs the main jobs queued so far (and any they queue); returns how
    /// many ran.
    ///
    /// Main jobs are work that must run on the thread that owns the pool
    /// (windowing, graphics APIs, anything with thread affinity), queued
    /// with [`spawn_on_main`](Pool::spawn_on_main) from any thread. The
    /// owner is the thread that built the pool. A main job runs when that
    /// thread calls `run_main_jobs`, or while it waits on the pool through
    /// the participant slot (`install`, `join`, `scope`, `wait`, `block_on`
    /// from outside): every round of its wait loop runs what is queued, and
    /// queuing a main job wakes it if it sleeps there. A frame loop calls
    /// this once per frame.
    ///
    /// # Errors
    ///
    /// [`Error::NotMainThread`] if called on a thread other than the one
    /// that built the pool.
    pub fn run_main_jobs(&self) -> Result<usize, Error> {
        if std::thread::current().id() != self.registry().main_jobs.owner {
            return Err(Error::NotMainThread);
        }
        Ok(self.registry().run_main_jobs_here())
    }

    /// Runs this pool's queued work on the calling thread for up to
    /// `budget`, then returns how many jobs ran: main jobs first (on the
    /// thread that built the pool), then any job of the pool (the global
    /// queue, the participant slot's own, stolen from workers). It returns
    /// early once it finds nothing to run. The budget is checked between
    /// jobs, so one long job can overrun it; called from outside the pool,
    /// a job that suspended on this thread is finished before this returns
    /// (the participant slot is handed back only with its fibers free).
    ///
    /// For a frame loop's main thread: after submitting the frame's work
    /// and rendering, lend the rest of the frame to the pool. From a
    /// thread that runs a slot of another pool, or while another outside
    /// thread holds this pool's participant slot, it runs main jobs only.
    /// Called from inside one of the pool's jobs, it runs other jobs on top
    /// of that job's frame (while the stack has room): do not call it while
    /// holding a lock another job may take.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = spindle::Pool::builder().workers(1).build()?;
    /// let counter = spindle::Counter::new();
    /// pool.dispatch(&counter, (0..64).map(|_| || std::hint::black_box(())));
    /// let mut ran = 0;
    /// while !counter.is_done() {
    ///     ran += pool.run_pending(Duration::from_millis(2));
    /// }
    /// assert!(ran <= 64);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn run_pending(&self, budget: std::time::Duration) -> usize {
        let start = std::time::Instant::now();
        let registry = self.registry();
        let mut ran = registry.run_main_jobs_here();
        self.with_local(|slot| {
            let Some(w) = slot else {
                return;
            };
            while start.elapsed() < budget {
                if registry.main_jobs.pending_here() {
                    ran += registry.run_main_jobs_here();
                    continue;
                }
                // From inside a job (a worker of this pool), only while
                // its stack has room, as a helping wait would.
                if !w.stack_has_room() {
                    break;
                }
                match w.find_local(false).or_else(|| w.find_remote(false)) {
                    Some(job) => {
                        w.run_nested(job);
                        ran += 1;
                    }
                    None => break,
                }
            }
        });
        ran
    }
}
