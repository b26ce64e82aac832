//! `Counter`: wait for a group of jobs dispatched in batches; the waiting
//! thread runs other jobs meanwhile. (The batches themselves are queued by
//! `Pool::dispatch`, in `dispatch.rs`.)

use std::any::Any;

use super::wait_cell::WaitCell;
use super::wait_list::{new_token, WaitList};
use crate::facade::{Arc, AtomicUsize, Mutex, Ordering};

/// Counts jobs that have been dispatched and not yet finished.
///
/// Cloning a `Counter` gives another handle to the same count. Jobs given
/// to [`Pool::dispatch`](crate::Pool::dispatch) with a counter decrement it when they finish;
/// [`Pool::wait`](crate::Pool::wait) returns when it reaches zero.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// let done = spindle::Counter::new();
/// let sum = Arc::new(AtomicUsize::new(0));
/// pool.dispatch(&done, (1..=100).map(|i| {
///     let sum = sum.clone();
///     move || { sum.fetch_add(i, Ordering::Relaxed); }
/// }));
/// pool.wait(&done);
/// assert_eq!(sum.load(Ordering::Relaxed), 5050);
/// # Ok::<(), spindle::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Counter {
    pub(crate) inner: Arc<CounterInner>,
}

#[derive(Default)]
pub(crate) struct CounterInner {
    pending: AtomicUsize,
    /// Threads, fibers, futures and continuations to wake when `pending`
    /// reaches zero.
    pub(crate) waiters: WaitList,
    /// The first panic of a dispatched job, for `wait` to re-raise.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Counter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Jobs dispatched with this counter and not finished yet.
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::Acquire)
    }

    /// True when no job is pending.
    pub fn is_done(&self) -> bool {
        self.pending() == 0
    }

    /// Waits for the count to reach zero in async code.
    ///
    /// # Panics
    ///
    /// The future re-raises the first panic of a job dispatched with this
    /// counter, once, like [`Pool::wait`](crate::Pool::wait) (in a task,
    /// the task's `JoinHandle` then returns it as a
    /// [`JobError`](crate::JobError)).
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let done = spindle::Counter::new();
    /// pool.dispatch(&done, (0..8).map(|_| || {}));
    /// pool.block_on(done.wait_async());
    /// assert!(done.is_done());
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn wait_async(&self) -> CounterFuture<'_> {
        CounterFuture {
            counter: self,
            token: 0,
        }
    }
}

/// The future of [`Counter::wait_async`].
#[must_use = "futures do nothing unless awaited"]
pub struct CounterFuture<'a> {
    counter: &'a Counter,
    /// This future's entry in the counter's list (0: none yet), removed if
    /// the future is dropped before the count reaches zero. Each future
    /// has its own, so two futures of one task (a `select`'s branches)
    /// never remove each other's.
    token: usize,
}

impl core::fmt::Debug for CounterFuture<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CounterFuture")
            .field("counter", self.counter)
            .finish_non_exhaustive()
    }
}

impl Drop for CounterFuture<'_> {
    fn drop(&mut self) {
        if self.token != 0 {
            self.counter.inner.waiters.lock().remove_task(self.token);
        }
    }
}

impl core::future::Future for CounterFuture<'_> {
    type Output = ();

    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        let this = &mut *self;
        let inner = &*this.counter.inner;
        let pending = {
            let mut q = inner.waiters.lock();
            if inner.is_zero() {
                // The completion took the whole list (our entry with it)
                // under this lock, after the count reached zero.
                false
            } else if this.token == 0 {
                this.token = new_token();
                q.push_task(this.token, cx.waker());
                true
            } else {
                q.refresh_task(this.token, cx.waker())
            }
        };
        if pending {
            core::task::Poll::Pending
        } else {
            this.token = 0;
            inner.rethrow();
            core::task::Poll::Ready(())
        }
    }
}

impl core::fmt::Debug for Counter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Counter")
            .field("pending", &self.pending())
            .finish()
    }
}

impl Drop for CounterInner {
    fn drop(&mut self) {
        // A first panic nobody waited for: its payload's own drop must not
        // unwind into whichever job dropped the last handle.
        let panic = self
            .panic
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(p) = panic {
            crate::unwind::drop_payload(p);
        }
    }
}

impl CounterInner {
    /// True once the count is zero; `Acquire`: the jobs' effects are
    /// visible.
    pub(crate) fn is_zero(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
    }

    /// Raises the count by `n`, before `n` jobs that will each call
    /// `complete_one` are queued.
    pub(crate) fn add(&self, n: usize) {
        self.pending.fetch_add(n, Ordering::Relaxed);
    }

    /// One job finished: at zero, wakes every waiter.
    pub(crate) fn complete_one(&self) {
        // Release: the job's effects happen before a waiter's acquire of
        // zero. Acquire: the last decrement sees every earlier one's.
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The caller holds a handle to the counter (a job's clone).
            self.waiters.wake_all_after(|| {});
        }
    }

    /// `complete_one` for a count kept by hand (`Counter::complete`): a
    /// completion at zero panics instead of wrapping.
    pub(crate) fn complete_checked(&self) {
        let mut n = self.pending.load(Ordering::Relaxed);
        loop {
            assert!(
                n != 0,
                "spindle: Counter::complete called more often than the count was raised"
            );
            match self
                .pending
                .compare_exchange_weak(n, n - 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => n = now,
            }
        }
        if n == 1 {
            self.waiters.wake_all_after(|| {});
        }
    }

    /// Lists a blocking waiter's cell unless the count is zero already
    /// (then returns false and the caller need not wait). The check is
    /// under the list's lock, which the completion takes after reaching
    /// zero: either it finds the cell, or we see zero.
    pub(crate) fn register(&self, cell: &WaitCell) -> bool {
        let mut q = self.waiters.lock();
        if self.is_zero() {
            return false;
        }
        q.push_cell(cell);
        true
    }

    /// Re-raises the first panic of a dispatched job, once.
    pub(crate) fn rethrow(&self) {
        let panic = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
    }

    /// Keeps the first panic for the waiter; returns a later one, for the
    /// caller to give to the pool's panic handler.
    pub(crate) fn record_panic(&self, p: Box<dyn Any + Send>) -> Option<Box<dyn Any + Send>> {
        let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(p);
            None
        } else {
            Some(p)
        }
    }
}
