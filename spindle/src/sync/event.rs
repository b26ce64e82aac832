//! `Event`: a flag that jobs, fibers and threads wait on.

use super::block::{block, Help};
use super::wait_cell::WaitCell;
use super::wait_list::{new_token, WaitList};
use crate::facade::{AtomicBool, Ordering};

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
    waiters: WaitList,
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
            waiters: WaitList::default(),
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
        if self.manual {
            // Set and take the list in one critical section: a waiter
            // listing itself after sees the flag.
            self.waiters
                .wake_all_after(|| self.set.store(true, Ordering::Release));
            return;
        }
        let granted = {
            let mut q = self.waiters.lock();
            let one = q.grant_one();
            if one.is_none() {
                self.set.store(true, Ordering::Release);
            }
            one
        };
        if let Some(w) = granted {
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
        let cell = WaitCell::new();
        {
            let mut q = self.waiters.lock();
            // Under the lock: a `set` either happened before (we take its
            // signal here) or comes after and finds us listed.
            if self.try_wait() {
                return;
            }
            q.push_cell(&cell);
        }
        // Listed: we return only once a `set` granted us (the cell is set).
        block(&cell, Help::Allowed);
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
            token: 0,
            finished: false,
        }
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
    /// Its entry in the event's list (0: not listed yet): still listed
    /// means waiting, gone means a `set` granted it.
    token: usize,
    /// The future returned `Ready`.
    finished: bool,
}

impl core::future::Future for EventFuture<'_> {
    type Output = ();

    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        let this = &mut *self;
        if this.finished {
            // Polled again after `Ready`: it took its signal already.
            return core::task::Poll::Ready(());
        }
        let ready = {
            let mut q = this.event.waiters.lock();
            if this.token != 0 {
                // Still listed (with this waker now), or granted meanwhile.
                !q.refresh_task(this.token, cx.waker())
            } else if this.event.try_wait() {
                true
            } else {
                this.token = new_token();
                q.push_task(this.token, cx.waker());
                false
            }
        };
        if ready {
            this.finished = true;
            core::task::Poll::Ready(())
        } else {
            core::task::Poll::Pending
        }
    }
}

impl Drop for EventFuture<'_> {
    fn drop(&mut self) {
        if self.token == 0 || self.finished {
            return;
        }
        let removed = self.event.waiters.lock().remove_task(self.token);
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
