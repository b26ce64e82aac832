//! The thread layer: how a pool starts its worker threads. By default
//! with `std::thread`; a [`Builder::spawn_handler`](crate::Builder::spawn_handler)
//! replaces that with the user's own (a game engine's thread wrapper,
//! per-thread setup, Web Workers on wasm), which gets one
//! [`WorkerThread`] per worker and calls [`WorkerThread::run`] on the
//! thread it starts.
//!
//! The pool never joins threads it did not start: at shutdown it waits
//! until every worker has left its loop (`Registry::wait_workers_exited`),
//! which is what a join gave it.

use std::io;

use super::registry::Registry;
use crate::error::Error;
use crate::facade::{thread, Arc};
use crate::worker::SlotBox;

/// A spawn handler, as the builder keeps it.
pub(crate) type SpawnHandler = Box<dyn FnMut(WorkerThread) -> io::Result<()>>;

/// One worker of a pool being built, handed to a
/// [`spawn_handler`](crate::Builder::spawn_handler): start a thread and
/// call [`run`](WorkerThread::run) on it.
///
/// `run` returns when the pool shuts down. Until every worker has
/// returned from `run`, dropping the last handle of the pool from outside
/// it waits. A `WorkerThread` dropped without `run` leaves the pool a
/// worker short for good (jobs pinned to it never run); do that only when
/// the handler also returns an error, which fails the build.
pub struct WorkerThread {
    index: usize,
    name: String,
    stack_size: usize,
    body: Option<WorkerBody>,
}

/// What `run` runs: the worker's loop on its slot, after pinning.
struct WorkerBody {
    local: SlotBox,
    registry: Arc<Registry>,
    /// Runs first on the new thread (pinning, reporting to `build`).
    prologue: Box<dyn FnOnce() + Send>,
}

impl WorkerThread {
    fn new(index: usize, name: String, stack_size: usize, body: WorkerBody) -> Self {
        Self {
            index,
            name,
            stack_size,
            body: Some(body),
        }
    }

    /// The worker's index in its pool, from 0: the one
    /// [`Affinity::worker`](crate::Affinity::worker) names.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The thread name the pool would give it
    /// ([`Builder::thread_name`](crate::Builder::thread_name) and the
    /// index).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stack size the pool would give it
    /// ([`Builder::stack_size`](crate::Builder::stack_size) or the default):
    /// deep fork-join recursion needs it.
    pub fn stack_size(&self) -> usize {
        self.stack_size
    }

    /// Runs the worker on the calling thread until its pool shuts down.
    ///
    /// # Panics
    ///
    /// If the calling thread already runs a worker of any pool.
    pub fn run(mut self) {
        // Checked before the body is taken: on this panic the drop below
        // counts the worker as never run, keeping its slot.
        assert!(
            crate::worker::with_current(|w| w.is_none()),
            "spindle: WorkerThread::run on a thread that already runs a pool's worker"
        );
        let body = self.body.take().expect("a worker runs once");
        (body.prologue)();
        crate::worker::run_worker(body.local, body.registry);
    }

    /// Starts it with `std::thread`, as a pool without a spawn handler
    /// does.
    fn spawn_std(self) -> io::Result<thread::JoinHandle<()>> {
        thread::Builder::new()
            .name(self.name.clone())
            .stack_size(self.stack_size)
            .spawn(move || self.run())
    }
}

impl Drop for WorkerThread {
    fn drop(&mut self) {
        if let Some(body) = self.body.take() {
            // Never run: its slot stays with the registry (thieves may
            // still look at its hidden ring), and it counts as exited so
            // that shutdown does not wait for it.
            Registry::worker_never_ran(&body.registry, body.local);
        }
    }
}

impl core::fmt::Debug for WorkerThread {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WorkerThread")
            .field("index", &self.index)
            .field("name", &self.name)
            .field("stack_size", &self.stack_size)
            .field("ran", &self.body.is_none())
            .finish()
    }
}

/// How `Builder::build` wants its workers started.
pub(crate) struct Start<'a> {
    /// Each worker's thread name.
    pub(crate) names: Vec<String>,
    pub(crate) stack_size: usize,
    /// The core of each worker, if the pool pins them.
    pub(crate) pin_plan: Option<&'a [usize]>,
    /// `None`: `std::thread`.
    pub(crate) handler: Option<SpawnHandler>,
}

/// Starts a worker on each of `locals` (worker `i` on `locals[i]`) and,
/// if the pool pins, waits until each has pinned itself. Returns the
/// threads it started itself (none with a handler). On a failure the
/// workers not handed out yet are dropped unrun (counted as exited), the
/// started ones stop, and the error comes back.
pub(crate) fn start_workers(
    registry: &Arc<Registry>,
    locals: Vec<SlotBox>,
    start: Start<'_>,
) -> Result<Vec<thread::JoinHandle<()>>, Error> {
    // Each pinned worker pins itself first and reports here.
    let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
    let workers: Vec<WorkerThread> = locals
        .into_iter()
        .zip(start.names)
        .enumerate()
        .map(|(i, (local, name))| {
            let core = start.pin_plan.map(|p| p[i]);
            let pinned_tx = pinned_tx.clone();
            let prologue = move || {
                if let Some(core) = core {
                    // The worker still runs its loop if pinning failed:
                    // `build` stops the pool and reports the error.
                    let _ = pinned_tx.send(crate::pool::pin::pin_current(core));
                }
            };
            let body = WorkerBody {
                local,
                registry: registry.clone(),
                prologue: Box::new(prologue),
            };
            WorkerThread::new(i, name, start.stack_size, body)
        })
        .collect();
    drop(pinned_tx);
    let count = workers.len();
    let own_threads = start.handler.is_none();
    let mut threads = Vec::with_capacity(count);
    let stop = |threads: Vec<thread::JoinHandle<()>>| {
        registry.terminate();
        for t in threads {
            let _ = t.join();
        }
        if !own_threads {
            registry.wait_workers_exited();
        }
    };
    let mut handler = start.handler;
    let mut workers = workers.into_iter();
    for worker in workers.by_ref() {
        let started = match handler.as_mut() {
            Some(h) => h(worker),
            None => worker.spawn_std().map(|t| threads.push(t)),
        };
        if let Err(e) = started {
            drop(workers);
            stop(threads);
            return Err(Error::Spawn(e));
        }
    }
    if start.pin_plan.is_some() {
        for _ in 0..count {
            let failure = match pinned_rx.recv() {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e,
                Err(_) => Error::Spawn(io::Error::other(
                    "a worker thread was dropped before it ran",
                )),
            };
            stop(threads);
            return Err(failure);
        }
    }
    Ok(threads)
}
