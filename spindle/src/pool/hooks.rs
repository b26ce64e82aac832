//! Thread hooks: code the pool runs on each worker thread as it starts
//! and as it stops, and the function that names the threads. For
//! per-thread setup that a [`spawn_handler`](crate::Builder::spawn_handler)
//! would be too much for: registering the thread with a profiler,
//! thread-local state, a log line.

use std::any::Any;
use std::sync::Arc;

use crate::error::Error;
use crate::pool::builder::Builder;

/// A start or stop hook, called with the worker's index.
pub(crate) type Hook = Arc<dyn Fn(usize) + Send + Sync>;
/// Names worker `i`'s thread.
pub(crate) type NameFn = Box<dyn FnMut(usize) -> String>;

/// The hooks a builder collects. Start and stop move to the registry;
/// the name function is used up by `build`.
#[derive(Default)]
pub(crate) struct ThreadHooks {
    pub(crate) start: Option<Hook>,
    pub(crate) stop: Option<Hook>,
    pub(crate) name: Option<NameFn>,
}

/// The start and stop hooks, as the registry keeps them.
#[derive(Default)]
pub(crate) struct RunHooks {
    start: Option<Hook>,
    stop: Option<Hook>,
}

impl ThreadHooks {
    /// The hooks a running pool keeps.
    pub(crate) fn run_hooks(&self) -> RunHooks {
        RunHooks {
            start: self.start.clone(),
            stop: self.stop.clone(),
        }
    }

    /// The thread name of each of `workers` workers: the name function's,
    /// or `{prefix}{i}`; [`Error::ThreadName`] for one with a NUL byte.
    pub(crate) fn names(&mut self, prefix: &str, workers: usize) -> Result<Vec<String>, Error> {
        let names: Vec<String> = match self.name.as_mut() {
            Some(f) => (0..workers).map(f).collect(),
            None => (0..workers).map(|i| format!("{prefix}{i}")).collect(),
        };
        match names.iter().find(|n| n.contains('\0')) {
            Some(bad) => Err(Error::ThreadName {
                prefix: bad.clone(),
            }),
            None => Ok(names),
        }
    }
}

impl RunHooks {
    /// Runs the start hook of worker `index`. A panic in it goes to
    /// `on_panic` (the pool's panic handler), and the worker starts anyway.
    pub(crate) fn started(&self, index: usize, on_panic: impl FnOnce(Box<dyn Any + Send>)) {
        Self::call(self.start.as_ref(), index, on_panic);
    }

    /// Runs the stop hook of worker `index`, as [`started`](Self::started).
    pub(crate) fn stopping(&self, index: usize, on_panic: impl FnOnce(Box<dyn Any + Send>)) {
        Self::call(self.stop.as_ref(), index, on_panic);
    }

    fn call(hook: Option<&Hook>, index: usize, on_panic: impl FnOnce(Box<dyn Any + Send>)) {
        if let Some(hook) = hook {
            let run = std::panic::AssertUnwindSafe(|| hook(index));
            if let Err(payload) = std::panic::catch_unwind(run) {
                on_panic(payload);
            }
        }
    }
}

impl Builder {
    /// Runs `hook` on each worker thread as it starts, before it takes any
    /// job, with the worker's index (`0..workers`). For registering the
    /// thread with a profiler, thread-local setup, or a log line.
    ///
    /// A panic in the hook goes to the [panic
    /// handler](Builder::panic_handler); the worker starts anyway. The
    /// hooks run on workers only: the threads of
    /// [`spawn_blocking`](crate::spawn_blocking) and a thread that waits
    /// on the pool from outside do not run them.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let (s, t) = (started.clone(), stopped.clone());
    /// let pool = spindle::Pool::builder()
    ///     .workers(2)
    ///     .thread_name_fn(|i| format!("physics-{i}"))
    ///     .on_thread_start(move |i| {
    ///         assert_eq!(spindle::worker_index(), Some(i));
    ///         let name = std::thread::current().name().map(str::to_owned);
    ///         assert_eq!(name, Some(format!("physics-{i}")));
    ///         s.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .on_thread_stop(move |_| {
    ///         t.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// pool.install(|| spindle::join(|| (), || ()));
    /// drop(pool); // waits for the workers: both stop hooks have run
    /// assert_eq!(stopped.load(Ordering::SeqCst), 2);
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn on_thread_start<F>(mut self, hook: F) -> Self
    where
        F: Fn(usize) + Send + Sync + 'static,
    {
        self.hooks.start = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` on each worker thread as it stops, after its last job,
    /// with the worker's index. Dropping the pool waits for these hooks
    /// (unless [`drop_waits(false)`](Builder::drop_waits)). A panic in the
    /// hook goes to the panic handler; the worker still stops cleanly.
    /// The pool is shutting down when it runs: work the hook submits to
    /// this pool is not run (the workers have left their loops), so keep
    /// it to per-thread teardown. See
    /// [`on_thread_start`](Builder::on_thread_start).
    pub fn on_thread_stop<F>(mut self, hook: F) -> Self
    where
        F: Fn(usize) + Send + Sync + 'static,
    {
        self.hooks.stop = Some(Arc::new(hook));
        self
    }

    /// How many events each thread's trace ring keeps (feature `trace`;
    /// default 32,768, about 1.3 MB per thread): older ones are
    /// overwritten, and [`ThreadTrace::lost`](crate::ThreadTrace::lost)
    /// counts them. Rounded up to a power of two (at least 2). `build`
    /// fails with [`Error::InvalidCapacity`](crate::Error::InvalidCapacity)
    /// above 2^24.
    #[cfg(feature = "trace")]
    pub fn trace_capacity(mut self, events: usize) -> Self {
        self.trace_capacity = events;
        self
    }

    /// Names worker `i`'s thread `name(i)`, instead of
    /// [`thread_name`](Builder::thread_name)'s prefix and the index. Called
    /// once per worker by [`build`](Builder::build), in index order; a
    /// [`spawn_handler`](Builder::spawn_handler) sees the result as
    /// [`WorkerThread::name`](crate::WorkerThread::name). A name holding a
    /// NUL byte makes `build` fail with
    /// [`Error::ThreadName`](crate::Error::ThreadName).
    pub fn thread_name_fn<F>(mut self, name: F) -> Self
    where
        F: FnMut(usize) -> String + 'static,
    {
        self.hooks.name = Some(Box::new(name));
        self
    }
}
