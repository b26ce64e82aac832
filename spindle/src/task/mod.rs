//! Async tasks: Rust futures run on the pool's workers, through the same
//! deques and injector as every other job.
//!
//! - `state.rs`: the packed state word and its transitions (loom models).
//! - `raw.rs`: the task's memory (one allocation), its run function (one
//!   poll), its waker, completion; `schedule.rs`: where a task is queued; `poll_record.rs`: what a poll in
//!   progress records for its poller, kept per context across switches.
//! - `alloc.rs`: the per-thread caches and shared depot that recycle task
//!   memory.
//! - the pool keeps every idle, unfinished task in its task list
//!   (`pool/tasks.rs`), through the hooks in `raw.rs`, for shutdown.
//! - `handle.rs`: `JoinHandle`; `abort.rs`: `AbortHandle`; `join_set.rs`:
//!   `JoinSet`; `error.rs`: `JobError`.
//! - `block.rs`: `Pool::block_on` and `JoinHandle::join`.
//!
//! A wake queues the task where the waker runs: on that worker's own deque
//! (stealable like any job) if it is a worker of the task's pool, else on
//! the pool's global queue, waking a sleeper. A task woken while it runs
//! is queued again by its poller after the poll; if it keeps waking
//! itself, every [`schedule::BUDGET`]th requeue on a worker goes behind the
//! work already queued there, so it cannot starve that work. A task that
//! calls [`yield_async`] always goes behind.

#[cfg(not(loom))]
mod abort;
#[cfg(not(loom))]
mod alloc;
#[cfg(not(loom))]
pub(crate) mod block;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod handle;
#[cfg(not(loom))]
mod poll_record;
#[cfg(not(loom))]
mod raw;
#[cfg(not(loom))]
pub(crate) use poll_record::{restore_poll, save_poll};
#[cfg(not(loom))]
mod schedule;
pub(crate) mod state;
#[cfg(all(test, loom))]
mod state_loom;

#[cfg(not(loom))]
pub use abort::AbortHandle;
#[cfg(not(loom))]
pub use error::JobError;
#[cfg(not(loom))]
pub use handle::JoinHandle;
#[cfg(not(loom))]
mod join_set;
#[cfg(not(loom))]
pub use join_set::{JoinNext, JoinSet};

#[cfg(not(loom))]
mod spawn {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};

    use super::handle::JoinHandle;
    use super::raw;
    use super::schedule::{self, schedule};
    use crate::error::Error;
    use crate::options::Options;
    use crate::pool::registry::{Placement, Registry};
    use crate::pool::{global, Pool};
    use crate::worker;

    impl Pool {
        /// Spawns `future` as a task on this pool and returns its
        /// [`JoinHandle`]. The task starts at once on some worker; from a
        /// worker of this pool it is queued on that worker's deque.
        ///
        /// `spawn` is taken by detached closures ([`Pool::spawn`]), hence
        /// the name.
        ///
        /// Dropping the pool cancels unfinished tasks: their futures are
        /// dropped (once), and their handles return a cancelled
        /// [`JobError`](crate::JobError). A future whose destructor blocks
        /// on another task of the same pool (say, `JoinHandle::join` in a
        /// `Drop`) hangs that drop: the workers are gone by then.
        ///
        /// ```
        /// let pool = spindle::Pool::builder().workers(2).build()?;
        /// let h = pool.spawn_async(async {
        ///     let inner = spindle::spawn_async(async { 2 });
        ///     inner.await.unwrap() + 1
        /// });
        /// assert_eq!(h.join().unwrap(), 3);
        /// # Ok::<(), spindle::Error>(())
        /// ```
        pub fn spawn_async<F>(&self, future: F) -> JoinHandle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            spawn_in(self.registry(), future, Placement::PLAIN)
        }

        /// [`Pool::spawn_async`] with [`Options`]: the task's priority
        /// class and the workers it may be polled on, for every poll.
        ///
        /// # Errors
        ///
        /// An affinity this pool cannot honour; the future is then
        /// dropped unpolled.
        ///
        /// ```
        /// use spindle::{Affinity, Options, Priority};
        ///
        /// let pool = spindle::Pool::builder().workers(2).build()?;
        /// let opts = Options::new().priority(Priority::Low).affinity(Affinity::worker(0));
        /// let h = pool.spawn_async_with(opts, async {
        ///     spindle::yield_async().await;
        ///     spindle::worker_index()
        /// })?;
        /// assert_eq!(h.join().unwrap(), Some(0));
        /// # Ok::<(), spindle::Error>(())
        /// ```
        pub fn spawn_async_with<F>(
            &self,
            options: Options,
            future: F,
        ) -> Result<JoinHandle<F::Output>, Error>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            let placement = self.registry().place(&options)?;
            Ok(spawn_in(self.registry(), future, placement))
        }

        /// [`Pool::spawn_async`] with a [`Placement`](crate::Placement)
        /// checked beforehand (or a [`Priority`](crate::Priority)), for
        /// every poll.
        ///
        /// # Panics
        ///
        /// If `placement` has an affinity and was made by another pool.
        ///
        /// ```
        /// use spindle::Priority;
        ///
        /// let pool = spindle::Pool::builder().workers(2).build()?;
        /// let h = pool.spawn_async_placed(Priority::High, async { 7 });
        /// assert_eq!(h.join().unwrap(), 7);
        /// # Ok::<(), spindle::Error>(())
        /// ```
        pub fn spawn_async_placed<F>(
            &self,
            placement: impl Into<Placement>,
            future: F,
        ) -> JoinHandle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            let placement = self.registry().own(placement);
            spawn_in(self.registry(), future, placement)
        }
    }

    /// [`Pool::spawn_async`] on the pool of the calling thread: the pool
    /// whose worker it is (a [`Pool::block_on`] caller holding the pool's
    /// participant slot counts), else the global pool.
    pub fn spawn_async<F>(future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Not through a closure: the future would be copied into it.
        let here = worker::Here::new();
        match here.slot() {
            Some(w) => spawn_in(w.registry(), future, Placement::PLAIN),
            None => global().spawn_async(future),
        }
    }

    fn spawn_in<F>(registry: &Registry, future: F, placement: Placement) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let header = raw::new_task(future, registry, placement);
        if registry.tasks.is_closed() {
            // The pool is being dropped: the task is cancelled unrun.
            // SAFETY: new, so ours alone; it holds the queue reference we
            // turn into RUNNING, and the owned one.
            let h = unsafe { header.as_ref() };
            let _ = h.state.to_running();
            // SAFETY: RUNNING; releases the queue and owned references.
            unsafe { (h.vtable.cancel)(header, 2) };
        } else {
            // SAFETY: spawned NOTIFIED with a queue reference.
            unsafe { schedule(header, schedule::Queue::Spawned) };
        }
        // SAFETY: the task's output is `F::Output`; the handle takes the
        // join reference it was created with.
        unsafe { JoinHandle::new(header) }
    }

    /// Lets other work run before the task continues: the task is queued
    /// behind the work already waiting on its worker (where other workers
    /// can still steal it), then resumes.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(1).build()?;
    /// let h = pool.spawn_async(async {
    ///     for _ in 0..3 {
    ///         spindle::yield_async().await;
    ///     }
    ///     7
    /// });
    /// assert_eq!(h.join().unwrap(), 7);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn yield_async() -> YieldAsync {
        YieldAsync { yielded: false }
    }

    /// The future of [`yield_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct YieldAsync {
        yielded: bool,
    }

    impl Future for YieldAsync {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.yielded {
                return Poll::Ready(());
            }
            self.yielded = true;
            raw::yield_wake(cx.waker());
            Poll::Pending
        }
    }
}

#[cfg(not(loom))]
pub use spawn::{spawn_async, yield_async, YieldAsync};
