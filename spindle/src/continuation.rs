//! Continuations on counters: jobs queued when a [`Counter`] reaches zero,
//! with nobody waiting for it (`Pool::dispatch_after`), and the counter's
//! hand-kept count (`Counter::add`, `Counter::complete`).
//!
//! A continuation is one more waiter in the counter's list: a waker whose
//! `wake`, run by whoever brings the count to zero, queues the jobs there.

use std::sync::Mutex as StdMutex;
use std::task::{Wake, Waker};

use crate::facade::Arc;
use crate::pool::placement::Placement;
use crate::pool::registry::Registry;
use crate::pool::Pool;
use crate::sync::wait_list::new_token;
use crate::sync::Counter;

type Job = Box<dyn FnOnce() + Send>;

/// The jobs of one `dispatch_after`, until their counter reaches zero.
struct After {
    registry: Arc<Registry>,
    jobs: StdMutex<Option<Vec<Job>>>,
}

impl After {
    /// Queues the jobs (once: a second wake finds none).
    fn release(&self) {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(jobs) = jobs else {
            return;
        };
        if self.registry.is_terminating() {
            // The pool is going: queued now, they might find no worker.
            // Run them here instead (each catches its panic and lowers its
            // counter), so nothing waits forever for a lost job.
            jobs.into_iter().for_each(|job| job());
            return;
        }
        // Counted on their own counter when `dispatch_after` ran.
        self.registry.submit_batch(jobs, Placement::PLAIN, |_| {});
    }
}

impl Wake for After {
    fn wake(self: std::sync::Arc<Self>) {
        self.release();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.release();
    }
}

impl Pool {
    /// Queues `jobs` once `after` reaches zero, counted on `counter` from
    /// now on, and returns at once: nobody has to wait for `after` for the
    /// jobs to start. `counter` is raised by the number of jobs right away
    /// (so [`wait`](Pool::wait)ing on it covers jobs not queued yet), and
    /// each job lowers it when it finishes, as with
    /// [`dispatch`](Pool::dispatch). If `after` is at zero already, the
    /// jobs are queued here. A panic of a job of `after` stays with
    /// `after` (its waiter re-raises it) and does not stop the jobs.
    ///
    /// The counter reaching zero queues the jobs on the thread that brought
    /// it there: a job finishing on a worker puts them on that worker's
    /// queue, where its data is warm. If the pool has been dropped by then,
    /// that thread runs them itself rather than lose them.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let (physics, animation) = (spindle::Counter::new(), spindle::Counter::new());
    /// let stage = Arc::new(AtomicUsize::new(0));
    /// let s = stage.clone();
    /// pool.dispatch(&physics, (0..8).map(move |_| {
    ///     let s = s.clone();
    ///     move || { s.fetch_add(1, Ordering::SeqCst); }
    /// }));
    /// let s = stage.clone();
    /// pool.dispatch_after(&physics, &animation, (0..4).map(move |_| {
    ///     let s = s.clone();
    ///     // Every physics job has finished before any of these starts.
    ///     move || assert!(s.load(Ordering::SeqCst) >= 8)
    /// }));
    /// pool.wait(&animation);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn dispatch_after<I, F>(&self, after: &Counter, counter: &Counter, jobs: I)
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() + Send + 'static,
    {
        let jobs: Vec<Job> = jobs
            .into_iter()
            .map(|f| {
                Box::new(crate::dispatch::counted(
                    counter,
                    f,
                    crate::observe::Name::of::<F>(),
                )) as Job
            })
            .collect();
        if jobs.is_empty() {
            return;
        }
        counter.inner.add(jobs.len());
        let cont = std::sync::Arc::new(After {
            registry: self.registry().clone(),
            jobs: StdMutex::new(Some(jobs)),
        });
        let waker = Waker::from(cont.clone());
        let listed = {
            let mut q = after.inner.waiters.lock();
            // Listed for `after`'s current round unless it is at zero.
            after.inner.list_task(&mut q, new_token(), &waker)
        };
        if !listed {
            cont.release();
        }
    }
}

impl Counter {
    /// Raises the count by `n`, for work tracked by hand: each unit lowers
    /// it with [`complete`](Counter::complete). Waiters and
    /// [`Pool::dispatch_after`] continuations wait for the count to be back
    /// at zero.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(1).build()?;
    /// let loads = spindle::Counter::new();
    /// loads.add(2);
    /// for _ in 0..2 {
    ///     let loads = loads.clone();
    ///     std::thread::spawn(move || loads.complete()); // say, an I/O callback
    /// }
    /// pool.wait(&loads);
    /// assert!(loads.is_done());
    /// # Ok::<(), spindle::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If the count would pass 2^40 − 1 pending units.
    pub fn add(&self, n: usize) {
        self.inner.add(n);
    }

    /// Lowers the count by one (one unit added by [`add`](Counter::add) is
    /// done); at zero, wakes every waiter and starts the continuations.
    ///
    /// # Panics
    ///
    /// If the count is zero already: more completions than additions is a
    /// bug in the caller's bookkeeping, and going on would wrap the count.
    pub fn complete(&self) {
        self.inner.complete_checked();
    }
}
