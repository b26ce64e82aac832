//! `Mutex<T>`: a lock whose waiters suspend their fiber instead of
//! blocking their worker.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

use super::block::{block, Help};
use super::wait_cell::WaitCell;
use super::wait_list::WaitList;
use crate::facade::{AtomicU8, Ordering};

const UNLOCKED: u8 = 0;
const LOCKED: u8 = 1;
/// Locked, and the wait queue may be non-empty: unlock takes the slow path.
const CONTENDED: u8 = 2;

/// A mutual-exclusion lock for data shared by jobs.
///
/// A job on a pool built with [`fibers`](crate::Builder::fibers) that finds
/// the lock taken suspends its fiber: its worker goes on with other jobs,
/// and the lock is handed to it, first come first served, when it is
/// released. So a job may hold the lock while it waits for nested work
/// (`join`, `scope`, a [`Counter`](crate::Counter)) even if the jobs that
/// worker picks up meanwhile want the same lock — the deadlock of rayon
/// issue #592, where the helping worker runs the second job on top of the
/// first one's stack.
///
/// Without fibers (or with every fiber in use), and from threads outside a
/// pool, a waiter parks its thread, as with `std::sync::Mutex`.
///
/// Unlike `std::sync::Mutex` there is no poisoning: a panic while holding
/// the lock releases it.
///
/// ```
/// use std::sync::Arc;
///
/// let pool = spindle::Pool::builder().workers(2).fibers(8).build()?;
/// let total = Arc::new(spindle::Mutex::new(0u64));
/// pool.scope(|s| {
///     for i in 1..=100 {
///         let total = total.clone();
///         s.spawn(move |_| *total.lock() += i);
///     }
/// });
/// assert_eq!(*total.lock(), 5050);
/// # Ok::<(), spindle::Error>(())
/// ```
pub struct Mutex<T: ?Sized> {
    state: AtomicU8,
    waiters: WaitList,
    data: UnsafeCell<T>,
}

// SAFETY: the lock gives one holder at a time access to `T`, which may be
// on another thread than the one that created it.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above; `&Mutex` only hands out `&mut T` under the lock.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Self {
        Self {
            state: AtomicU8::new(UNLOCKED),
            waiters: WaitList::default(),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Takes the lock, waiting (see the type's docs for how) while another
    /// holder has it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow();
        }
        MutexGuard { mutex: self }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            .then_some(MutexGuard { mutex: self })
    }

    /// The value, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    #[cold]
    fn lock_slow(&self) {
        let cell = WaitCell::new();
        {
            let mut q = self.waiters.lock();
            let mut s = self.state.load(Ordering::Relaxed);
            loop {
                let (new, acquire) = match s {
                    UNLOCKED => (LOCKED, true),
                    LOCKED => (CONTENDED, false),
                    _ => break,
                };
                match self
                    .state
                    .compare_exchange(s, new, Ordering::Acquire, Ordering::Relaxed)
                {
                    Ok(_) if acquire => return,
                    Ok(_) => break,
                    Err(now) => s = now,
                }
            }
            // CONTENDED: the unlock will hand the lock to the oldest
            // waiter under the list's lock, so it finds us.
            q.push_cell(&cell);
        }
        // Never run other jobs while waiting for a lock: they could want
        // it too, and would run on top of our frame.
        block(&cell, Help::Forbidden);
        // Handed over: the unlock left the state locked for us, and its
        // `Release` store (and the cell's) publishes the data.
    }

    fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, UNLOCKED, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        // CONTENDED: hand the lock to the oldest waiter (the state stays
        // locked), or release it if the queue emptied.
        let granted = {
            let mut q = self.waiters.lock();
            let w = q.grant_one();
            let state = match (&w, q.is_empty()) {
                (None, _) => UNLOCKED,
                (Some(_), true) => LOCKED,
                (Some(_), false) => CONTENDED,
            };
            // Release: our writes to `T` are visible to the next holder
            // (who also acquires its cell's `DONE`, set by the wake).
            self.state.store(state, Ordering::Release);
            w
        };
        if let Some(w) = granted {
            w.wake();
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized + core::fmt::Debug> core::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f.debug_struct("Mutex").field("data", &"<locked>").finish(),
        }
    }
}

/// Holds a [`Mutex`] locked; unlocks when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

// SAFETY: a guard gives `&T` to whoever holds `&MutexGuard`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` is unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}
