//! `Counter`: wait for a group of jobs dispatched in batches; the waiting
//! thread runs other jobs meanwhile.

use std::any::Any;

use crate::error::Error;
use crate::fiber::{FiberRef, Waiter};
use crate::job::HeapJob;
use crate::latch::Latch;
use crate::options::Options;
use crate::pool::Pool;
use crate::registry::Placement;
use crate::sleep::Parker;
use crate::sync::{Arc, AtomicUsize, Mutex, Ordering};
use crate::worker::{self, WorkerLocal};

/// Counts jobs that have been dispatched and not yet finished.
///
/// Cloning a `Counter` gives another handle to the same count. Jobs given
/// to [`Pool::dispatch`] with a counter decrement it when they finish;
/// [`Pool::wait`] returns when it reaches zero.
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
    inner: Arc<CounterInner>,
}

#[derive(Default)]
pub(crate) struct CounterInner {
    pending: AtomicUsize,
    /// Threads, fibers and futures to wake when `pending` reaches zero.
    waiters: Mutex<Vec<Entry>>,
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
    /// counter, once, like [`Pool::wait`] (in a task, the task's
    /// `JoinHandle` then returns it as a [`JobError`](crate::JobError)).
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

/// One waiter in a counter's list: a thread or fiber (`token` 0, listed
/// once however often it sleeps), or a future (its own token).
struct Entry {
    token: usize,
    waiter: Waiter,
}

/// Tokens of `CounterFuture`s; 0 means "none".
static NEXT_TOKEN: AtomicUsize = AtomicUsize::new(1);

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
            let mut waiters = self
                .counter
                .inner
                .waiters
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            waiters.retain(|e| e.token != self.token);
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
            let mut waiters = inner.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if inner.probe() {
                false
            } else if this.token == 0 {
                this.token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
                waiters.push(Entry {
                    token: this.token,
                    waiter: Waiter::Task(cx.waker().clone()),
                });
                true
            } else {
                // Still listed (the completion takes the whole list under
                // this lock, after the count reached zero): refresh the
                // waker if the task's changed.
                match waiters.iter_mut().find(|e| e.token == this.token) {
                    Some(e) => {
                        if !matches!(&e.waiter, Waiter::Task(w) if w.will_wake(cx.waker())) {
                            e.waiter = Waiter::Task(cx.waker().clone());
                        }
                        true
                    }
                    None => false,
                }
            }
        };
        if pending {
            core::task::Poll::Pending
        } else {
            // Done: the completion took the list (our entry with it).
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
    fn complete_one(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            let waiters =
                core::mem::take(&mut *self.waiters.lock().unwrap_or_else(|e| e.into_inner()));
            for e in waiters {
                e.waiter.wake();
            }
        }
    }

    /// Re-raises the first panic of a dispatched job, once.
    fn rethrow(&self) {
        let panic = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
    }

    /// Keeps the first panic for `wait`; later ones go to the pool's handler.
    fn record_panic(&self, p: Box<dyn Any + Send>, w: Option<&WorkerLocal>) {
        let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(p);
        } else {
            drop(slot);
            match w {
                Some(w) => w.registry().handle_panic(p),
                // Jobs run only on pool slots, so this does not happen; if
                // it did, the panic must still not vanish silently.
                None => eprintln!("spindle: a dispatched job panicked after another one did"),
            }
        }
    }
}

impl Latch for CounterInner {
    fn probe(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
    }

    fn prepare_sleep(&self, parker: &Arc<Parker>) -> bool {
        self.register(Waiter::Thread(parker.clone()))
    }

    fn prepare_fiber_wait(&self, fiber: FiberRef) -> bool {
        self.register(Waiter::Fiber(fiber))
    }
}

impl CounterInner {
    /// Adds `waiter` unless the count is zero already. The check is under
    /// the list's lock: a completion that reaches zero takes the list
    /// under it, so either it sees our entry or we see zero, and a fiber
    /// is never left registered on a counter it does not wait for (it
    /// would be woken while running something else). A thread already
    /// listed is not added twice (it sleeps and wakes in a loop).
    fn register(&self, waiter: Waiter) -> bool {
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if self.probe() {
            return false;
        }
        if !waiters
            .iter()
            .any(|e| e.token == 0 && e.waiter.same(&waiter))
        {
            waiters.push(Entry { token: 0, waiter });
        }
        true
    }
}

impl Pool {
    /// Queues a batch of jobs tied to `counter`, with one decision about
    /// waking workers for the whole batch. Returns at once.
    ///
    /// The counter is raised by the batch size before any job can run, and
    /// each job lowers it when it finishes (also when it panics: the first
    /// panic is re-raised by [`wait`](Pool::wait)).
    pub fn dispatch<I, F>(&self, counter: &Counter, jobs: I)
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() + Send + 'static,
    {
        self.dispatch_placed(counter, jobs, Placement::PLAIN);
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
        self.dispatch_placed(counter, jobs, placement);
        Ok(())
    }

    fn dispatch_placed<I, F>(&self, counter: &Counter, jobs: I, placement: Placement)
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() + Send + 'static,
    {
        let cur = worker::current();
        // SAFETY: `CURRENT` points to a live slot run by this thread.
        let local = unsafe { cur.as_ref() };
        let local = local.filter(|w| core::ptr::eq(w.registry(), &**self.registry()));
        let refs: Vec<_> = jobs
            .into_iter()
            .map(|f| {
                let inner = counter.inner.clone();
                let job = move || {
                    if let crate::job::JobResult::Panic(p) = crate::job::JobResult::call(f) {
                        // SAFETY: as above; the job runs on a slot.
                        inner.record_panic(p, unsafe { worker::current().as_ref() });
                    }
                    inner.complete_one();
                };
                let (job, heap) = HeapJob::alloc(
                    job,
                    local.map(|w| &w.cache),
                    placement.priority,
                    placement.affinity,
                );
                if heap {
                    if let Some(w) = local {
                        w.record_heap_fallback();
                    }
                }
                job
            })
            .collect();
        if refs.is_empty() {
            return;
        }
        let n = refs.len();
        counter.inner.pending.fetch_add(n, Ordering::Relaxed);
        let registry = self.registry();
        if !placement.is_plain() {
            // One by one: each goes where its class or set says, and
            // wakes whoever may take it.
            for job in refs {
                registry.push_special(job, local);
            }
            return;
        }
        match local {
            Some(w) => refs.into_iter().for_each(|j| w.push_batch_quiet(j)),
            None => registry.injector.push_batch(refs),
        }
        registry.sleep.notify_work(n);
    }

    /// Returns when `counter` reaches zero, running other jobs meanwhile
    /// (an outside thread takes the participant slot to do so).
    ///
    /// # Panics
    ///
    /// Re-raises the first panic of a job dispatched with `counter`, once.
    pub fn wait(&self, counter: &Counter) {
        self.in_worker(|w| w.wait_until(&*counter.inner));
        counter.inner.rethrow();
    }
}
