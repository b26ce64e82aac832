//! `Event`: a flag that jobs, fibers and threads wait on.

use core::cell::Cell;

use crate::fiber::{FiberRef, Waiter};
use crate::latch::Latch;
use crate::sleep::Parker;
use crate::sync::{Arc, AtomicBool, Ordering};
use crate::wait_queue::{wait_on, WaitQueue};

/// A signal that waiters block on until it is set.
///
/// - A *manual-reset* event ([`Event::manual`]) stays set until
///   [`reset`](Event::reset): a `set` releases every waiter, and later
///   waits return at once.
/// - An *auto-reset* event ([`Event::auto`]) releases one waiter per `set`
///   (the oldest); with nobody waiting, the signal is kept for the next
///   `wait`. Signals do not accumulate: two `set`s with nobody waiting
///   release one later wait.
///
/// How a wait blocks depends on who waits: a job on a pool built with
/// [`fibers`](crate::Builder::fibers) suspends its fiber and its worker
/// goes on with other jobs; a job on a pool without fibers runs other jobs
/// while it waits; a thread outside every pool parks.
///
/// ```
/// use std::sync::Arc;
///
/// let pool = spindle::Pool::builder().workers(2).fibers(8).build()?;
/// let ready = Arc::new(spindle::Event::manual());
/// let done = spindle::Counter::new();
/// pool.dispatch(&done, (0..4).map(|_| {
///     let ready = ready.clone();
///     move || ready.wait()
/// }));
/// ready.set();
/// pool.wait(&done);
/// # Ok::<(), spindle::Error>(())
/// ```
pub struct Event {
    /// Set (and no one waiting, for an auto-reset event). Changed under
    /// the queue's lock; read without it on the fast path.
    set: AtomicBool,
    manual: bool,
    waiters: WaitQueue,
}

impl Event {
    /// A manual-reset event, not set.
    pub fn manual() -> Self {
        Self::new(true)
    }

    /// An auto-reset event, not set.
    pub fn auto() -> Self {
        Self::new(false)
    }

    fn new(manual: bool) -> Self {
        Self {
            set: AtomicBool::new(false),
            manual,
            waiters: WaitQueue::default(),
        }
    }

    /// True for a manual-reset event.
    pub fn is_manual(&self) -> bool {
        self.manual
    }

    /// True if set (an auto-reset event: set and not yet taken).
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Sets the event: releases every waiter (manual) or the oldest one
    /// (auto; if none waits, the next `wait` returns at once).
    pub fn set(&self) {
        let mut granted = Vec::new();
        {
            let mut q = self.waiters.lock();
            if self.manual {
                self.set.store(true, Ordering::Release);
                while let Some(w) = q.grant_one() {
                    granted.push(w);
                }
            } else if let Some(w) = q.grant_one() {
                granted.push(w);
            } else {
                self.set.store(true, Ordering::Release);
            }
        }
        for w in granted {
            w.wake();
        }
    }

    /// Clears the event.
    pub fn reset(&self) {
        let _q = self.waiters.lock();
        self.set.store(false, Ordering::Release);
    }

    /// Takes the signal without blocking: true if the event was set (an
    /// auto-reset event is cleared by it).
    pub fn try_wait(&self) -> bool {
        if self.manual {
            self.set.load(Ordering::Acquire)
        } else {
            self.set
                .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        }
    }

    /// Blocks until the event is set (and, for an auto-reset event, takes
    /// the signal). See the type's docs for how the caller blocks.
    pub fn wait(&self) {
        if self.try_wait() {
            return;
        }
        let wait = EventWait {
            event: self,
            done: AtomicBool::new(false),
            queued: Cell::new(false),
        };
        wait_on(&wait, true);
    }

    /// Waits for the event in async code: the future is ready once the
    /// event is set (and, for an auto-reset event, it took the signal).
    /// Dropping the future before then leaves the queue; a signal it was
    /// granted but never returned goes on to the next waiter.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let pool = spindle::Pool::builder().workers(1).build()?;
    /// let ev = Arc::new(spindle::Event::auto());
    /// let e2 = ev.clone();
    /// let h = pool.spawn_async(async move {
    ///     e2.wait_async().await;
    ///     "released"
    /// });
    /// ev.set();
    /// assert_eq!(h.join().unwrap(), "released");
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn wait_async(&self) -> EventFuture<'_> {
        EventFuture {
            event: self,
            done: AtomicBool::new(false),
            queued: Cell::new(false),
            finished: Cell::new(false),
            _pinned: core::marker::PhantomPinned,
        }
    }

    /// Registers `waiter` unless the event can be taken now (then takes it
    /// and returns false).
    fn register(&self, w: &EventWait<'_>, waiter: impl FnOnce() -> Waiter) -> bool {
        let mut q = self.waiters.lock();
        if w.queued.get() {
            // Queued before (a thread that slept and woke spuriously, or
            // that now suspends its fiber instead): still queued, or
            // granted meanwhile.
            return q.requeue(&w.done, waiter());
        }
        if self.try_wait() {
            w.done.store(true, Ordering::Relaxed);
            return false;
        }
        q.push(waiter(), &w.done);
        w.queued.set(true);
        true
    }
}

impl Default for Event {
    /// A manual-reset event, not set.
    fn default() -> Self {
        Self::manual()
    }
}

impl core::fmt::Debug for Event {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Event")
            .field("manual", &self.manual)
            .field("set", &self.is_set())
            .finish()
    }
}

/// The future of [`Event::wait_async`].
#[must_use = "futures do nothing unless awaited"]
pub struct EventFuture<'a> {
    event: &'a Event,
    /// Stored true by the `set` that granted us. The queue points at it,
    /// so the future must not move once queued (it is `!Unpin`, and its
    /// drop leaves the queue first).
    done: AtomicBool,
    queued: Cell<bool>,
    /// The future returned `Ready`.
    finished: Cell<bool>,
    _pinned: core::marker::PhantomPinned,
}

impl core::future::Future for EventFuture<'_> {
    type Output = ();

    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        let this = &*self;
        if this.finished.get() {
            // Polled again after `Ready`: it took its signal already.
            return core::task::Poll::Ready(());
        }
        let ready = if this.done.load(Ordering::Acquire) {
            true
        } else {
            let mut q = this.event.waiters.lock();
            if this.queued.get() {
                // Still queued (with a fresh waker), or granted meanwhile.
                !q.requeue(&this.done, Waiter::Task(cx.waker().clone()))
            } else if this.event.try_wait() {
                true
            } else {
                q.push(Waiter::Task(cx.waker().clone()), &this.done);
                this.queued.set(true);
                false
            }
        };
        if ready {
            this.finished.set(true);
            core::task::Poll::Ready(())
        } else {
            core::task::Poll::Pending
        }
    }
}

impl Drop for EventFuture<'_> {
    fn drop(&mut self) {
        if !self.queued.get() || self.finished.get() {
            return;
        }
        let removed = self.event.waiters.lock().remove(&self.done);
        if !removed && !self.event.manual {
            // Granted the signal of an auto-reset event, never taken:
            // pass it on.
            self.event.set();
        }
    }
}

impl core::fmt::Debug for EventFuture<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventFuture").finish_non_exhaustive()
    }
}

/// One `wait` in progress, as a latch.
struct EventWait<'a> {
    event: &'a Event,
    /// Stored true by the `set` that granted us (see `wait_queue`).
    done: AtomicBool,
    /// True once in the event's queue (owner only).
    queued: Cell<bool>,
}

impl Latch for EventWait<'_> {
    fn probe(&self) -> bool {
        if self.done.load(Ordering::Acquire) {
            return true;
        }
        // Not queued yet: the event may have been set meanwhile.
        if !self.queued.get() && self.event.try_wait() {
            self.done.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    fn prepare_sleep(&self, parker: &Arc<Parker>) -> bool {
        self.event.register(self, || Waiter::Thread(parker.clone()))
    }

    fn prepare_fiber_wait(&self, fiber: FiberRef) -> bool {
        self.event.register(self, || Waiter::Fiber(fiber))
    }
}
