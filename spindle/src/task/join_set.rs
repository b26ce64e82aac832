//! `JoinSet`: many tasks, awaited in the order they finish.
//!
//! Each task is spawned wrapped so that, when its future is done (output,
//! panic or cancellation), it leaves its index in the set's `Ready` list
//! and wakes whoever awaits `join_next`. `join_next` then polls only those
//! tasks' handles, not all of them: a set of `n` tasks costs `O(n)` in all
//! to drain, not `O(n)` per task.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::{AbortHandle, JobError, JoinHandle};
use crate::pool::Pool;

/// Indices of finished tasks, and the waker of `join_next`.
#[derive(Default)]
struct Ready {
    inner: Mutex<ReadyInner>,
}

#[derive(Default)]
struct ReadyInner {
    done: VecDeque<usize>,
    waker: Option<Waker>,
}

/// Inside each task: reports it done when the task's future goes,
/// whether it returned, panicked or was cancelled.
struct Report {
    ready: Arc<Ready>,
    index: usize,
}

impl Drop for Report {
    fn drop(&mut self) {
        let mut r = self.ready.inner.lock().unwrap_or_else(|e| e.into_inner());
        r.done.push_back(self.index);
        let w = r.waker.take();
        drop(r);
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// A set of tasks whose outputs are taken as they finish.
///
/// [`spawn`](JoinSet::spawn) adds a task (to the current pool, or the
/// global one), [`spawn_on`](JoinSet::spawn_on) to a given pool;
/// [`join_next`](JoinSet::join_next) waits for the next to finish,
/// whichever it is, and gives its output (or its [`JobError`]), `None`
/// once the set is empty. Dropping the set aborts every task still in
/// it (see [`JoinHandle::abort`]).
///
/// ```
/// use std::time::Duration;
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// let sum = pool.block_on(async {
///     let mut set = spindle::JoinSet::new();
///     for i in 1..=10u64 {
///         set.spawn(async move {
///             spindle::time::sleep(Duration::from_millis(10 - i)).await;
///             i
///         });
///     }
///     let mut sum = 0;
///     while let Some(r) = set.join_next().await {
///         sum += r.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 55);
/// # Ok::<(), spindle::Error>(())
/// ```
pub struct JoinSet<T> {
    /// Handles by index; `None` where taken (free for reuse).
    handles: Vec<Option<JoinHandle<T>>>,
    free: Vec<usize>,
    len: usize,
    ready: Arc<Ready>,
    /// Indices reported done whose handle was not ready yet when polled
    /// (the output is stored just after the report); polled again first.
    settling: Vec<usize>,
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> core::fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            handles: Vec::new(),
            free: Vec::new(),
            len: 0,
            ready: Arc::default(),
            settling: Vec::new(),
        }
    }

    /// Tasks in the set (not yet taken by `join_next`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no task is in the set.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Aborts every task in the set; `join_next` still gives each one's
    /// result (cancelled, or its output if it finished first).
    pub fn abort_all(&self) {
        for h in self.handles.iter().flatten() {
            h.abort();
        }
    }

    /// Waits for the next task to finish and returns its result, or
    /// `None` if the set is empty.
    pub fn join_next(&mut self) -> JoinNext<'_, T> {
        JoinNext { set: self }
    }

    /// `join_next`'s poll.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JobError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        {
            // The waker first: a report after this drains below or wakes.
            let mut r = self.ready.inner.lock().unwrap_or_else(|e| e.into_inner());
            r.waker = Some(cx.waker().clone());
            self.settling.extend(r.done.drain(..));
        }
        let mut k = 0;
        while k < self.settling.len() {
            let i = self.settling[k];
            let h = self.handles[i]
                .as_mut()
                .expect("a reported task is in the set");
            if let Poll::Ready(r) = Pin::new(h).poll(cx) {
                self.settling.swap_remove(k);
                self.handles[i] = None;
                self.free.push(i);
                self.len -= 1;
                return Poll::Ready(Some(r));
            }
            k += 1;
        }
        Poll::Pending
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` as a task of the current pool (the one whose worker
    /// or participant runs this), else of the global pool, and adds it to
    /// the set.
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        match Pool::current() {
            Some(pool) => self.spawn_on(future, &pool),
            None => self.spawn_on(future, crate::pool::global()),
        }
    }

    /// Spawns `future` as a task of `pool` and adds it to the set.
    pub fn spawn_on<F>(&mut self, future: F, pool: &Pool) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        let index = self.free.pop().unwrap_or(self.handles.len());
        let report = Report {
            ready: self.ready.clone(),
            index,
        };
        let handle = pool.spawn_async(async move {
            let _report = report;
            future.await
        });
        let abort = handle.abort_handle();
        if index == self.handles.len() {
            self.handles.push(Some(handle));
        } else {
            self.handles[index] = Some(handle);
        }
        self.len += 1;
        abort
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

/// The future of [`JoinSet::join_next`].
#[must_use = "a JoinNext does nothing unless awaited"]
pub struct JoinNext<'a, T> {
    set: &'a mut JoinSet<T>,
}

impl<T> core::fmt::Debug for JoinNext<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JoinNext").finish_non_exhaustive()
    }
}

impl<T> Future for JoinNext<'_, T> {
    type Output = Option<Result<T, JobError>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.set.poll_join_next(cx)
    }
}
