//! `dispatch` and `wait`: batches of `'static` jobs tied to a
//! [`Counter`], queued with one wake-up decision, and the wait that runs
//! other jobs until the counter reaches zero.

use crate::error::Error;
use crate::job::JobResult;
use crate::observe::Name;
use crate::options::Options;
use crate::pool::registry::{Placement, Registry};
use crate::pool::Pool;
use crate::sync::wait_cell::WaitCell;
use crate::sync::Counter;
use crate::worker::with_current;

impl Pool {
    /// Queues a batch of jobs tied to `counter`, with one decision about
    /// waking workers for the whole batch. Returns at once.
    ///
    /// The counter is raised by the batch size before any job can run, and
    /// each job lowers it when it finishes (also when it panics: the first
    /// panic is re-raised by [`wait`](Pool::wait), later ones go to the
    /// pool's panic handler).
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let done = spindle::Counter::new();
    /// let total = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    /// pool.dispatch(&done, (1..=10u64).map(|i| {
    ///     let total = total.clone();
    ///     move || { total.fetch_add(i, std::sync::atomic::Ordering::Relaxed); }
    /// }));
    /// pool.wait(&done);
    /// assert_eq!(total.load(std::sync::atomic::Ordering::Relaxed), 55);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn dispatch<I, F>(&self, counter: &Counter, jobs: I)
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() + Send + 'static,
    {
        dispatch_in(
            self.registry(),
            counter,
            jobs,
            Placement::PLAIN,
            Name::of::<F>(),
        );
    }

    /// [`Pool::dispatch`] with [`Options`] for every job of the batch.
    ///
    /// # Errors
    ///
    /// An affinity this pool cannot honour; then no job is queued and the
    /// counter is unchanged.
    ///
    /// ```
    /// use spindle::{Options, Priority};
    ///
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let counter = spindle::Counter::new();
    /// let urgent = Options::new().priority(Priority::High);
    /// pool.dispatch_with(urgent, &counter, (0..8).map(|_| || {}))?;
    /// pool.wait(&counter);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn dispatch_with<I, F>(
        &self,
        options: Options,
        counter: &Counter,
        jobs: I,
    ) -> Result<(), Error>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() + Send + 'static,
    {
        let placement = self.registry().place(&options)?;
        dispatch_in(
            self.registry(),
            counter,
            jobs,
            placement,
            options.name_or::<F>(),
        );
        Ok(())
    }

    /// [`Pool::dispatch`] with a [`Placement`](crate::Placement) checked
    /// beforehand (or a [`Priority`](crate::Priority)) for every job of the
    /// batch.
    ///
    /// # Panics
    ///
    /// If `placement` has an affinity and was made by another pool.
    ///
    /// ```
    /// use spindle::Priority;
    ///
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let counter = spindle::Counter::new();
    /// pool.dispatch_placed(Priority::High, &counter, (0..8).map(|_| || {}));
    /// pool.wait(&counter);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn dispatch_placed<I, F>(&self, placement: impl Into<Placement>, counter: &Counter, jobs: I)
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() + Send + 'static,
    {
        let placement = self.registry().own(placement);
        dispatch_in(self.registry(), counter, jobs, placement, Name::of::<F>());
    }

    /// Returns when `counter` reaches zero, running other jobs meanwhile
    /// (an outside thread takes the participant slot to do so; a job of
    /// another pool keeps serving its own pool).
    ///
    /// # Panics
    ///
    /// Re-raises the first panic of a job dispatched with `counter`, once.
    pub fn wait(&self, counter: &Counter) {
        wait_counter(self.registry(), counter);
    }
}

/// [`Pool::wait`] on `registry`'s pool.
pub(crate) fn wait_counter(registry: &Registry, counter: &Counter) {
    crate::pool::handle::in_worker(registry, |w| {
        let cell = WaitCell::new();
        if counter.inner.register(&cell) {
            // Listed: the count reaching zero sets the cell.
            w.wait_until(&cell);
        }
    });
    counter.inner.rethrow();
}

/// `name`: each job's name in traces (`observe`).
fn dispatch_in<I, F>(
    registry: &Registry,
    counter: &Counter,
    jobs: I,
    placement: Placement,
    name: Name,
) where
    I: IntoIterator<Item = F>,
    F: FnOnce() + Send + 'static,
{
    let jobs = jobs.into_iter().map(|f| counted(counter, f, name));
    // Raised before any job can run (and lower it).
    registry.submit_batch(jobs, placement, |n| counter.inner.add(n));
}

/// `f` as a job of `counter`'s: it records a panic there, then lowers the
/// count (which the caller raised for it).
pub(crate) fn counted<F>(counter: &Counter, f: F, name: Name) -> impl FnOnce() + Send + 'static
where
    F: FnOnce() + Send + 'static,
{
    let inner = counter.inner.clone();
    move || {
        let span = crate::observe::span(crate::observe::Kind::Job, name);
        let result = JobResult::call(f);
        drop(span);
        if let JobResult::Panic(p) = result {
            if let Some(later) = inner.record_panic(p) {
                // Not the first: the pool's handler gets it. Queued jobs
                // run on a slot of their pool.
                with_current(|w| match w {
                    Some(w) => w.registry().handle_panic(later),
                    None => crate::unwind::drop_payload(later),
                });
            }
        }
        inner.complete_one();
    }
}
