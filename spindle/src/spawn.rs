//! Detached jobs: `'static` closures nobody joins.

use crate::error::Error;
use crate::job::JobResult;
use crate::observe::Name;
use crate::options::Options;
use crate::pool::registry::{Placement, Registry};
use crate::pool::submit::Push;
use crate::pool::{global, Pool};
use crate::worker::{with_current, Here};

impl Pool {
    /// Runs `f` on the pool at some point; nobody waits for it.
    ///
    /// From a worker of this pool the job goes to its deque (block from the
    /// job cache); from elsewhere, to the global queue. If `f` panics, the
    /// pool's panic handler gets the payload (see
    /// [`Builder::panic_handler`](crate::Builder::panic_handler)) and the
    /// pool goes on. Jobs queued when the pool is dropped still run.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// pool.spawn(move || tx.send(6 * 7).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        spawn_in(self.registry(), f, Placement::PLAIN, Name::of::<F>());
    }

    /// [`Pool::spawn`] with [`Options`]: a priority class and the workers
    /// the job may run on.
    ///
    /// # Errors
    ///
    /// An affinity this pool cannot honour (see [`Affinity`](crate::Affinity));
    /// the job is then not queued.
    ///
    /// ```
    /// use spindle::{Options, Priority};
    ///
    /// let pool = spindle::Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// pool.spawn_with(Options::new().priority(Priority::High), move || tx.send(1).unwrap())?;
    /// assert_eq!(rx.recv().unwrap(), 1);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn spawn_with<F>(&self, options: Options, f: F) -> Result<(), Error>
    where
        F: FnOnce() + Send + 'static,
    {
        let placement = self.registry().place(&options)?;
        spawn_in(self.registry(), f, placement, options.name_or::<F>());
        Ok(())
    }

    /// [`Pool::spawn`] with a [`Placement`](crate::Placement) checked
    /// beforehand (or a [`Priority`](crate::Priority)): nothing left to
    /// fail.
    ///
    /// # Panics
    ///
    /// If `placement` has an affinity and was made by another pool.
    ///
    /// ```
    /// use spindle::Priority;
    ///
    /// let pool = spindle::Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// pool.spawn_placed(Priority::Low, move || tx.send(1).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 1);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn spawn_placed<F>(&self, placement: impl Into<Placement>, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let placement = self.registry().own(placement);
        spawn_in(self.registry(), f, placement, Name::of::<F>());
    }
}

/// [`Pool::spawn`] on the current thread's pool, or the global pool.
pub fn spawn<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    // Not through a closure: `f` would be copied into it.
    let here = Here::new();
    match here.slot() {
        Some(w) => spawn_in(w.registry(), f, Placement::PLAIN, Name::of::<F>()),
        None => global().spawn(f),
    }
}

/// [`Pool::spawn_with`] on the current thread's pool, or the global pool.
///
/// # Errors
///
/// As for [`Pool::spawn_with`].
pub fn spawn_with<F>(options: Options, f: F) -> Result<(), Error>
where
    F: FnOnce() + Send + 'static,
{
    let here = Here::new();
    match here.slot() {
        Some(w) => {
            let placement = w.registry().place(&options)?;
            spawn_in(w.registry(), f, placement, options.name_or::<F>());
            Ok(())
        }
        None => global().spawn_with(options, f),
    }
}

/// `name`: the job's name in traces (`observe`).
fn spawn_in<F>(registry: &Registry, f: F, placement: Placement, name: Name)
where
    F: FnOnce() + Send + 'static,
{
    let job = move || {
        let span = crate::observe::span(crate::observe::Kind::Job, name);
        let result = JobResult::call(f);
        drop(span);
        if let JobResult::Panic(p) = result {
            // Queued jobs run on a slot of their pool.
            with_current(|w| match w {
                Some(w) => w.registry().handle_panic(p),
                None => crate::unwind::drop_payload(p),
            });
        }
    };
    registry.submit(job, placement, Push::Public);
}
