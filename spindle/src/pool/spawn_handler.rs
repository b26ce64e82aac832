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
pub(crate) struct WorkerBody {
    pub(crate) local: SlotBox,
    pub(crate) registry: Arc<Registry>,
    /// Runs first on the new thread (pinning, reporting to `build`).
    pub(crate) prologue: Box<dyn FnOnce() + Send>,
}

impl WorkerThread {
    pub(crate) fn new(index: usize, name: String, stack_size: usize, body: WorkerBody) -> Self {
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
    pub(crate) fn spawn_std(self) -> io::Result<thread::JoinHandle<()>> {
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
