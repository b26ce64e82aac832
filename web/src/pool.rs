//! [`WebPool`]: a spindle pool for a page, with only the calls that never
//! block the browser's main thread.

use core::future::Future;

use spindle::{Error, JobHandle, JoinHandle, Pool};

/// A spindle [`Pool`] whose workers are Web Workers.
///
/// Made and used on the page's main thread (or any thread that must not
/// block): its calls return at once, and results are awaited. Inside its
/// jobs, [`spindle`]'s whole API is available and may block.
///
/// Dropping it starts the pool's shutdown and returns at once: queued jobs
/// still run, then the workers end and close themselves.
pub struct WebPool {
    pool: Pool,
}

impl WebPool {
    /// A pool of `workers` Web Workers (at least 1).
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] if the browser refuses a worker (no
    /// `SharedArrayBuffer`: the page is not cross-origin isolated), or a
    /// builder error such as [`Error::ZeroWorkers`].
    pub fn new(workers: usize) -> Result<Self, Error> {
        Self::with_builder(Pool::builder().workers(workers))
    }

    /// A pool from `builder`'s settings (names, priorities' options, deque
    /// sizes), its workers started as Web Workers.
    ///
    /// # Errors
    ///
    /// As [`WebPool::new`]; pinning is not supported on the web.
    pub fn with_builder(builder: spindle::Builder) -> Result<Self, Error> {
        let pool = builder
            .spawn_handler(crate::worker::start)
            .drop_waits(false)
            .build()?;
        Ok(Self { pool })
    }

    /// How many workers a page should start: the browser's
    /// `navigator.hardwareConcurrency` less one for the main thread, at
    /// least 1.
    pub fn default_workers() -> usize {
        let n = web_sys::window()
            .map(|w| w.navigator().hardware_concurrency())
            .unwrap_or(2.0);
        ((n as usize).saturating_sub(1)).max(1)
    }

    /// Number of worker threads.
    pub fn num_workers(&self) -> usize {
        self.pool.num_workers()
    }

    /// Runs `f` on a worker; await the handle for its value, or its panic
    /// as a [`JobError`](spindle::JobError).
    pub fn run<F, T>(&self, f: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.pool.spawn_handle(f)
    }

    /// Spawns a future on the pool's workers.
    pub fn spawn_async<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.pool.spawn_async(future)
    }

    /// Runs `f` on a worker, detached (a panic goes to the pool's panic
    /// handler).
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.pool.spawn(f)
    }
}

impl core::fmt::Debug for WebPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebPool")
            .field("workers", &self.pool.num_workers())
            .finish()
    }
}
