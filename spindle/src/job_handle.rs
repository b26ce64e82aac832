//! `JobHandle`: a plain job whose result the spawner waits for.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::error::Error;
use crate::options::Options;
use crate::pool::Pool;
use crate::task::{JobError, JoinHandle};

/// An owned permission to wait for a job's return value: from
/// [`Pool::spawn_handle`] (or the free [`spawn_handle`]).
///
/// [`join`](Self::join) returns the value and re-raises the job's panic,
/// like [`join`](crate::join) does; [`try_join`](Self::try_join) returns
/// the panic as a [`JobError`] instead; `.await` gives the same `Result`.
/// A wait on a pool thread runs other jobs meanwhile (or, with fibers,
/// suspends). Dropping the handle detaches the job: it still runs, and a
/// panic nobody joins goes to the pool's panic handler.
///
/// The job runs as a task of one poll (the same memory and queues as
/// [`spawn_async`](crate::spawn_async)), so it costs one allocation, from
/// the pool's task cache, and it shares a task's shutdown rule: a job that
/// has not started when its pool is dropped is cancelled, not run (unlike
/// [`Pool::spawn`]'s jobs): `try_join` then returns a cancelled
/// [`JobError`], and `join` panics saying so.
///
/// ```
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// let h = pool.spawn_handle(|| (1..=10u64).product::<u64>());
/// assert_eq!(h.join(), 3_628_800);
///
/// let h = pool.spawn_handle(|| -> u32 { panic!("no value") });
/// let err = h.try_join().unwrap_err();
/// assert!(err.is_panic());
/// # Ok::<(), spindle::Error>(())
/// ```
#[must_use = "dropping a JobHandle detaches the job; call `join` to get its value"]
pub struct JobHandle<T> {
    task: JoinHandle<T>,
}

impl<T> JobHandle<T> {
    /// Waits for the job and returns its value.
    ///
    /// # Panics
    ///
    /// Re-raises the job's panic (with its payload). Panics too if the job
    /// never ran because its pool was dropped first;
    /// [`try_join`](Self::try_join) reports that as a cancelled
    /// [`JobError`].
    pub fn join(self) -> T {
        match self.try_join() {
            Ok(value) => value,
            Err(e) => match e.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                Err(_) => panic!("spindle: the job never ran: its pool was dropped first"),
            },
        }
    }

    /// Waits for the job and returns its value, or why there is none: it
    /// panicked ([`JobError::is_panic`], the payload inside) or never ran
    /// ([`JobError::is_cancelled`]).
    pub fn try_join(self) -> Result<T, JobError> {
        self.task.join()
    }

    /// True once the job has finished (its value is ready to take).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl<T> Future for JobHandle<T> {
    type Output = Result<T, JobError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.task).poll(cx)
    }
}

impl<T> core::fmt::Debug for JobHandle<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JobHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// The job as a future that completes in its first poll.
async fn run<F, T>(f: F) -> T
where
    F: FnOnce() -> T,
{
    f()
}

impl Pool {
    /// Runs `f` on the pool and returns a [`JobHandle`] to wait for its
    /// value. Like [`Pool::spawn`], but the result (or the panic) comes
    /// back to whoever joins the handle.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let handles: Vec<_> = (0..4u64).map(|i| pool.spawn_handle(move || i * i)).collect();
    /// let squares: Vec<u64> = handles.into_iter().map(|h| h.join()).collect();
    /// assert_eq!(squares, [0, 1, 4, 9]);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn spawn_handle<F, T>(&self, f: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        JobHandle {
            task: self.spawn_async(run(f)),
        }
    }

    /// [`Pool::spawn_handle`] with [`Options`]: a priority class and the
    /// workers the job may run on.
    ///
    /// # Errors
    ///
    /// An affinity this pool cannot honour; the job is then not queued.
    pub fn spawn_handle_with<F, T>(&self, options: Options, f: F) -> Result<JobHandle<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Ok(JobHandle {
            task: self.spawn_async_with(options, run(f))?,
        })
    }
}

/// [`Pool::spawn_handle`] on the current thread's pool, or the global pool.
///
/// ```
/// let h = spindle::spawn_handle(|| "done");
/// assert_eq!(h.join(), "done");
/// ```
pub fn spawn_handle<F, T>(f: F) -> JobHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    JobHandle {
        task: crate::task::spawn_async(run(f)),
    }
}
