//! `SpinLock<T>`: a lock that never sleeps in the kernel.

use core::ops::{Deref, DerefMut};

use crate::facade::{AtomicBool, Ordering, UnsafeCell};
use crate::util::Backoff;

/// A mutual-exclusion lock that spins (with exponential backoff, then
/// yielding) instead of sleeping.
///
/// Prefer it over [`std::sync::Mutex`] only for critical sections of a few
/// dozen instructions with little contention — a counter, a short list
/// push — taken from jobs, where a futex sleep and wake-up would cost more
/// than the wait. Prefer `Mutex` when the section is long, may block, or
/// many threads contend: a spinning waiter burns a core that could run
/// jobs, and a preempted holder makes every waiter spin for its whole time
/// slice. `SpinLock` is not fair and does not poison.
///
/// ```
/// let lock = spindle::SpinLock::new(Vec::new());
/// spindle::scope(|s| {
///     for i in 0..4 {
///         let lock = &lock;
///         s.spawn(move |_| lock.lock().push(i));
///     }
/// });
/// let mut v = lock.into_inner();
/// v.sort();
/// assert_eq!(v, [0, 1, 2, 3]);
/// ```
pub struct SpinLock<T: ?Sized> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `T` to one thread at a time, so it
// is as thread-safe as a `Mutex<T>`: `Send` and `Sync` when `T: Send`.
unsafe impl<T: ?Sized + Send> Send for SpinLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for SpinLock<T> {}

/// Access to the value of a locked [`SpinLock`]; unlocks on drop.
///
/// A guard may be shared between threads only if the value may: through
/// `&SpinLockGuard<Cell<_>>` two threads could both mutate the cell.
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// let lock = spindle::SpinLock::new(std::cell::Cell::new(0));
/// let guard = lock.lock();
/// shared(&guard); // error: `Cell<i32>` cannot be shared between threads
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinLockGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
    /// Gives the guard the auto traits of `&mut T`: `Sync` only if `T` is
    /// (the lock's own `Sync` asks only `T: Send`).
    _value: core::marker::PhantomData<&'a mut T>,
}

impl<T> SpinLock<T> {
    /// A new, unlocked lock.
    pub fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> SpinLock<T> {
    /// Takes the lock, spinning until it is free.
    #[inline]
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        if let Some(g) = self.try_lock() {
            return g;
        }
        self.lock_contended()
    }

    #[cold]
    fn lock_contended(&self) -> SpinLockGuard<'_, T> {
        let mut backoff = Backoff::new();
        loop {
            // Test before test-and-set: spin on a shared read so waiters do
            // not bounce the line between their caches.
            while self.locked.load(Ordering::Relaxed) {
                backoff.snooze();
            }
            if let Some(g) = self.try_lock() {
                return g;
            }
        }
    }

    /// Takes the lock if it is free.
    #[inline]
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| SpinLockGuard {
                lock: self,
                _value: core::marker::PhantomData,
            })
    }

    /// Mutable access without locking: `&mut self` proves exclusivity.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` rules out every other access for the returned
        // borrow's lifetime.
        self.value.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized + core::fmt::Debug> core::fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("SpinLock").field("value", &&*g).finish(),
            None => f.write_str("SpinLock { <locked> }"),
        }
    }
}

impl<T: ?Sized> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock.
        // (Under loom the access is checked here, where it starts.)
        self.lock.value.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` makes the access unique.
        self.lock.value.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized> Drop for SpinLockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Release: the critical section's writes happen before the next
        // holder's acquire.
        self.lock.locked.store(false, Ordering::Release);
    }
}
