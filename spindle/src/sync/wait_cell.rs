//! The one wait cell: what every wait in spindle blocks on.
//!
//! A [`WaitCell`] is a one-shot completion signal with room for one
//! waiter. Stack jobs (the second half of a `join`, a call handed to
//! another pool), scopes, counters, `block_on`, events and mutexes are
//! thin users of it: each wait puts a cell somewhere the completing side
//! finds it (inside the job, in the scope, in a waiter list) and blocks on
//! it; whoever completes the thing waited for calls [`WaitCell::set`].
//!
//! # States
//!
//! One word, three bits:
//!
//! | bit         | set by  | meaning                                        |
//! |-------------|---------|------------------------------------------------|
//! | `DONE`      | setter  | the wait is over; results are published        |
//! | `SLEEPING`  | waiter  | a thread may be parked on `parker`: unpark it  |
//! | `SUSPENDED` | waiter  | a fiber is suspended: `resume` it, exactly once |
//!
//! # Rules
//!
//! 1. The waiter writes `parker` (or `resume`) *before* the read-modify-
//!    write that sets `SLEEPING` (or `SUSPENDED`), with `Release`; it never
//!    writes it again while the bit is set. Only the waiter writes them.
//! 2. The setter reads who to wake *before* it sets `DONE`, by a
//!    compare-exchange from the exact word it read the bits from: the
//!    waiter returns (and the cell's memory may be freed) as soon as it
//!    sees `DONE`, so nothing of the cell is touched after it. That is why
//!    `set` takes a raw pointer.
//! 3. A parked thread's parker is an `Arc`: the setter takes its own
//!    strong reference before `DONE` and unparks through it after, so the
//!    parker outlives the wake even if the waiter's thread, or its pool,
//!    is gone by then (a wait across pools, a thread that exits).
//! 4. A suspended fiber stays suspended until it is resumed, so the
//!    `resume` handle (and the fiber's slot) is alive when the setter uses
//!    it; it is resumed exactly once per suspension.
//! 5. `DONE` is set with `Release` and read with `Acquire`: what the setter
//!    wrote before (a job's result, a lock's data) is visible to the
//!    waiter that sees it.
//!
//! The loom models at the end of this file check these rules with the real
//! parker.

use core::mem::MaybeUninit;
use core::ptr::NonNull;

use super::parker::Parker;
use crate::facade::{Arc, AtomicU32, Ordering, UnsafeCell};

/// The wait is over.
const DONE: u32 = 1 << 0;
/// The waiting thread may be parked on the cell's parker.
const SLEEPING: u32 = 1 << 1;
/// The waiting fiber is suspended until the cell's `resume` is called.
const SUSPENDED: u32 = 1 << 2;

/// How to wake one suspended fiber: its handle and the function that makes
/// it ready on its own worker. The sync layer does not know fibers; the
/// fiber layer builds these ([`crate::fiber::FiberRef::resume`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resume {
    fiber: NonNull<()>,
    wake: unsafe fn(NonNull<()>),
}

// SAFETY: a `Resume` is an address and a function; the fiber layer's
// `wake` is callable from any thread (it queues the fiber on its own
// slot under that slot's lock).
unsafe impl Send for Resume {}

impl Resume {
    /// # Safety
    ///
    /// `wake(fiber)` must be callable from any thread, once per
    /// suspension, for as long as the fiber is suspended.
    pub(crate) unsafe fn new(fiber: NonNull<()>, wake: unsafe fn(NonNull<()>)) -> Self {
        Self { fiber, wake }
    }

    /// Wakes the fiber. Once per suspension.
    fn resume(self) {
        // SAFETY: `new`'s contract.
        unsafe { (self.wake)(self.fiber) }
    }
}

/// A one-shot completion signal with one waiter: a parked thread or a
/// suspended fiber (see the module docs for the protocol).
pub(crate) struct WaitCell {
    state: AtomicU32,
    /// A parked waiter's parker (`Arc::as_ptr`; the waiter holds the
    /// `Arc`). Written before `SLEEPING` is set; valid while it is set and
    /// `DONE` is not.
    parker: UnsafeCell<MaybeUninit<*const Parker>>,
    /// A suspended waiter's fiber. Valid while `SUSPENDED` is set.
    resume: UnsafeCell<MaybeUninit<Resume>>,
}

// SAFETY: the cells are written by the waiter before it publishes them
// with a `Release` RMW of `state`, and read by the setter only after an
// `Acquire` load of `state` saw that bit (rule 1); `Resume` is `Send`, and
// the parker is shared through an `Arc` (rule 3).
unsafe impl Send for WaitCell {}
// SAFETY: as above.
unsafe impl Sync for WaitCell {}

impl Default for WaitCell {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitCell {
    /// A cell not yet set, with no waiter.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU32::new(0),
            parker: UnsafeCell::new(MaybeUninit::uninit()),
            resume: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// True once set; `Acquire`: what the setter wrote before is visible.
    #[inline(always)]
    pub(crate) fn probe(&self) -> bool {
        self.state.load(Ordering::Acquire) & DONE != 0
    }

    /// The waiter is about to park on `parker`: records it. Returns false
    /// if the cell is set already (then the waiter must not park). Call
    /// again after a spurious wake-up with the same parker.
    pub(crate) fn prepare_sleep(&self, parker: &Arc<Parker>) -> bool {
        let s = self.state.load(Ordering::Relaxed);
        if s & DONE != 0 {
            return false;
        }
        if s & SLEEPING == 0 {
            // SAFETY: only the waiter writes `parker`, and the setter reads
            // it only after seeing `SLEEPING`, which is not set yet (rule 1).
            self.parker
                .with_mut(|p| unsafe { (*p).write(Arc::as_ptr(parker)) });
        } else {
            debug_assert!(
                // SAFETY: we are the only writer, and wrote it before
                // setting `SLEEPING`; a read of our own write.
                self.parker.with(|p| unsafe { (*p).assume_init() }) == Arc::as_ptr(parker),
                "a wait cell's waiter changed its parker"
            );
        }
        // Release: publishes `parker` to the setter (rule 1). Acquire: a
        // `DONE` we see comes with what the setter published.
        self.state.fetch_or(SLEEPING, Ordering::AcqRel) & DONE == 0
    }

    /// The waiting fiber is about to suspend: records how to resume it.
    /// Returns false if the cell is set already (then it must not suspend;
    /// nothing was recorded that anyone will use).
    pub(crate) fn prepare_suspend(&self, resume: Resume) -> bool {
        let s = self.state.load(Ordering::Relaxed);
        if s & DONE != 0 {
            return false;
        }
        debug_assert!(s & SUSPENDED == 0, "a fiber suspended twice on one cell");
        // SAFETY: only the waiter writes `resume`, and the setter reads it
        // only after seeing `SUSPENDED`, not set yet (rule 1).
        self.resume.with_mut(|r| unsafe { (*r).write(resume) });
        self.state.fetch_or(SUSPENDED, Ordering::AcqRel) & DONE == 0
    }

    /// Sets the cell and wakes its waiter, if any.
    ///
    /// # Safety
    ///
    /// `this` points to a live cell, set at most once. The cell may be
    /// freed by its waiter the moment it is set (this function touches it
    /// no more after that; see the module's rule 2).
    pub(crate) unsafe fn set(this: *const Self) {
        // SAFETY: live on entry (contract), and until our CAS below.
        let cell = unsafe { &*this };
        let mut s = cell.state.load(Ordering::Acquire);
        loop {
            debug_assert!(s & DONE == 0, "a wait cell set twice");
            // Who to wake, read while the waiter cannot leave (rule 2).
            let resume = (s & SUSPENDED != 0).then(|| {
                // SAFETY: `SUSPENDED` was seen with `Acquire`, after the
                // waiter's write of `resume` (rule 1).
                cell.resume.with(|r| unsafe { (*r).assume_init() })
            });
            let parker = (resume.is_none() && s & SLEEPING != 0).then(|| {
                // SAFETY: as above for `parker`; the pointer is an `Arc`'s
                // (rule 3), alive while the waiter waits, which it does
                // until `DONE`: our own strong reference keeps it after.
                unsafe {
                    let p = cell.parker.with(|p| (*p).assume_init());
                    Arc::increment_strong_count(p);
                    Arc::from_raw(p)
                }
            });
            // Release: publishes what was done before the set (rule 5).
            // Acquire: a waiter bit set meanwhile comes with its write.
            match cell
                .state
                .compare_exchange_weak(s, s | DONE, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    // The cell may be gone now; only our copies are used.
                    if let Some(r) = resume {
                        r.resume();
                    } else if let Some(p) = parker {
                        p.unpark();
                    }
                    return;
                }
                // A waiter bit was set (or a spurious failure): read again.
                Err(now) => s = now,
            }
        }
    }
}

impl core::fmt::Debug for WaitCell {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WaitCell")
            .field("set", &self.probe())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn set_before_any_wait_needs_no_waker() {
        let cell = WaitCell::new();
        assert!(!cell.probe());
        // SAFETY: live, set once.
        unsafe { WaitCell::set(&cell) };
        assert!(cell.probe());
        let parker = Arc::new(Parker::new());
        assert!(
            !cell.prepare_sleep(&parker),
            "a set cell must not be slept on"
        );
    }

    #[test]
    fn set_unparks_a_sleeping_waiter_that_outlives_nothing() {
        let cell = Arc::new(WaitCell::new());
        let parker = Arc::new(Parker::new());
        assert!(cell.prepare_sleep(&parker));
        let c2 = cell.clone();
        let t = std::thread::spawn(move || {
            // SAFETY: live (an `Arc`), set once.
            unsafe { WaitCell::set(&*c2) };
        });
        while !cell.probe() {
            parker.park();
        }
        t.join().unwrap();
        // The setter's own reference to the parker is gone again.
        assert_eq!(Arc::strong_count(&parker), 1);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::facade::AtomicUsize;
    use loom::thread;

    /// A setter racing a waiter that parks: the waiter's `prepare_sleep`
    /// and the setter's compare-exchange are on one word, so either the
    /// waiter sees `DONE` and does not park, or the setter sees `SLEEPING`
    /// and unparks it. The value written before the set is visible after.
    ///
    /// Catches: a setter that sets `DONE` with a plain `fetch_or` and reads
    /// the parker afterwards (reads a freed cell in the real code, and here
    /// loom flags the racing access), a waiter that parks after `DONE`,
    /// and `DONE` without release/acquire.
    #[test]
    fn set_racing_a_parking_waiter_never_loses_the_wake() {
        loom::model(|| {
            let cell = Arc::new(WaitCell::new());
            let data = Arc::new(AtomicUsize::new(0));
            let parker = Arc::new(Parker::new());
            let (c2, d2) = (cell.clone(), data.clone());
            let setter = thread::spawn(move || {
                d2.store(7, Ordering::Relaxed);
                // SAFETY: live (an `Arc`), set once.
                unsafe { WaitCell::set(&*c2) };
            });
            while !cell.probe() {
                if cell.prepare_sleep(&parker) {
                    parker.park();
                }
            }
            assert_eq!(data.load(Ordering::Relaxed), 7);
            setter.join().unwrap();
        });
    }

    /// A fiber suspends on the cell while the setter sets it: the fiber is
    /// resumed exactly once if (and only if) its suspension was recorded
    /// before `DONE`; otherwise `prepare_suspend` says so and it stays.
    ///
    /// Catches: a resume lost when `SUSPENDED` comes first, a resume of a
    /// fiber that never suspended (it would be queued while running), and
    /// a double resume.
    #[test]
    fn set_racing_a_suspending_fiber_resumes_it_exactly_once() {
        static RESUMED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        unsafe fn wake(_: NonNull<()>) {
            RESUMED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        loom::model(|| {
            RESUMED.store(0, std::sync::atomic::Ordering::SeqCst);
            let cell = Arc::new(WaitCell::new());
            let c2 = cell.clone();
            // SAFETY: live (an `Arc`), set once.
            let setter = thread::spawn(move || unsafe { WaitCell::set(&*c2) });
            // SAFETY: `wake` only counts; callable from any thread.
            let r = unsafe { Resume::new(NonNull::dangling(), wake) };
            let suspended = cell.prepare_suspend(r);
            setter.join().unwrap();
            assert!(cell.probe());
            let n = RESUMED.load(std::sync::atomic::Ordering::SeqCst);
            assert_eq!(
                n,
                usize::from(suspended),
                "suspended {suspended}, resumed {n} times"
            );
        });
    }

    /// A waiter that first parks, is woken spuriously, and then suspends
    /// a fiber instead (a worker that found a free fiber after sleeping):
    /// the setter resumes the fiber, whatever it read first.
    ///
    /// Catches: a setter that unparks (and so loses the fiber) when it saw
    /// `SLEEPING` before `SUSPENDED` was added, without re-reading.
    #[test]
    fn a_waiter_that_parked_then_suspends_is_resumed() {
        static RESUMED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        unsafe fn wake(_: NonNull<()>) {
            RESUMED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        loom::model(|| {
            RESUMED.store(0, std::sync::atomic::Ordering::SeqCst);
            let cell = Arc::new(WaitCell::new());
            let parker = Arc::new(Parker::new());
            let sleeping = cell.prepare_sleep(&parker);
            let c2 = cell.clone();
            // SAFETY: live (an `Arc`), set once.
            let setter = thread::spawn(move || unsafe { WaitCell::set(&*c2) });
            // SAFETY: as above.
            let r = unsafe { Resume::new(NonNull::dangling(), wake) };
            let suspended = sleeping && cell.prepare_suspend(r);
            setter.join().unwrap();
            let n = RESUMED.load(std::sync::atomic::Ordering::SeqCst);
            assert_eq!(n, usize::from(suspended));
        });
    }
}
