//! The wait list of [`Event`](crate::Event) and [`Mutex`](crate::Mutex),
//! and the one function both block through.
//!
//! A waiter enqueues a [`Waiter`] (its thread or fiber) with a pointer to
//! a `done` flag in its own frame. Whoever grants it (a `set`, an unlock)
//! dequeues it under the list's lock, stores `done`, and then wakes it.
//! `done` is the last thing the granter touches in the waiter's memory:
//! once it reads true the waiter may return and its frame is gone. The
//! `Waiter` itself was moved out of the list, so waking stays valid.

use std::collections::VecDeque;
use std::sync::Mutex as StdMutex;

use crate::fiber::Waiter;
use crate::latch::Latch;
use crate::sleep::Parker;
use crate::sync::{Arc, AtomicBool, Ordering};
use crate::worker;

/// One queued waiter.
struct Entry {
    waiter: Waiter,
    done: *const AtomicBool,
}

// SAFETY: `done` points into a waiter's frame that stays alive until the
// flag is stored (the waiter returns only after reading it true); only
// the granter that dequeued the entry stores it.
unsafe impl Send for Entry {}

/// Waiters in FIFO order.
#[derive(Default)]
pub(crate) struct WaitQueue {
    list: StdMutex<VecDeque<Entry>>,
}

/// The list, locked.
pub(crate) struct Locked<'a>(std::sync::MutexGuard<'a, VecDeque<Entry>>);

impl WaitQueue {
    pub(crate) fn lock(&self) -> Locked<'_> {
        Locked(self.list.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Locked<'_> {
    /// Enqueues a waiter whose `done` flag lives in its frame until it
    /// reads it true.
    pub(crate) fn push(&mut self, waiter: Waiter, done: &AtomicBool) {
        self.0.push_back(Entry { waiter, done });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Dequeues the oldest waiter and marks it granted; the caller wakes it
    /// (after dropping the lock, preferably).
    pub(crate) fn grant_one(&mut self) -> Option<Waiter> {
        let e = self.0.pop_front()?;
        // SAFETY: the entry's rule (see `Entry`): the frame is alive until
        // this store, which is our last access.
        unsafe { (*e.done).store(true, Ordering::Release) };
        Some(e.waiter)
    }

    /// Takes the waiter queued with `done` out of the queue (a future
    /// dropped while it waited). False if it is no longer queued: it was
    /// granted.
    pub(crate) fn remove(&mut self, done: &AtomicBool) -> bool {
        match self.0.iter().position(|e| core::ptr::eq(e.done, done)) {
            Some(i) => {
                self.0.remove(i);
                true
            }
            None => false,
        }
    }

    /// For a waiter already queued with `done`: makes `waiter` the one to
    /// wake (a worker that slept on its parker may suspend its fiber next
    /// time round). False if it is no longer queued: it was granted.
    pub(crate) fn requeue(&mut self, done: &AtomicBool, waiter: Waiter) -> bool {
        match self.0.iter_mut().find(|e| core::ptr::eq(e.done, done)) {
            Some(e) => {
                e.waiter = waiter;
                true
            }
            None => false,
        }
    }
}

/// Blocks the caller until `latch` is set.
///
/// If `help`, a worker waits as `Counter` waits do: it suspends its fiber,
/// or runs other jobs while it waits. If not (a lock: a job run on top of
/// our frame could want it too), a worker with fibers suspends its fiber
/// whenever it can and otherwise parks until it can; a worker without
/// fibers, or a thread outside every pool, parks.
pub(crate) fn wait_on<L: Latch + ?Sized>(latch: &L, help: bool) {
    if latch.probe() {
        return;
    }
    // SAFETY: `CURRENT` points to a live slot run by this thread.
    if let Some(w) = unsafe { worker::current().as_ref() } {
        if help {
            w.wait_until(latch);
            return;
        }
        if w.has_fibers() {
            w.wait_without_helping(latch);
            return;
        }
    }
    let parker = local_parker();
    while !latch.probe() {
        if latch.prepare_sleep(&parker) {
            parker.park();
        }
    }
}

/// This thread's parker for `Event` and `Mutex` waits. An `Arc`: a granter
/// holds a clone while it wakes, so the thread may exit meanwhile.
fn local_parker() -> Arc<Parker> {
    thread_local! {
        static PARKER: Arc<Parker> = Arc::new(Parker::new());
    }
    PARKER.with(Arc::clone)
}
