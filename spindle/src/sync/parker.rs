//! A parker with a wake-up token, so an unpark that comes before the park is
//! not lost.

#[cfg(not(loom))]
use crate::facade::Arc;
use crate::facade::{Condvar, Mutex};

/// One thread's place to sleep.
pub(crate) struct Parker {
    state: Mutex<State>,
    cond: Condvar,
}

struct State {
    token: bool,
    /// While the thread sleeps somewhere else (`park_via`): how to wake it
    /// there. Set and cleared under the lock by the parked thread, which
    /// keeps the referent alive in between.
    wake: Option<*const (dyn Fn() + Sync)>,
}

// SAFETY: `wake` is dereferenced only under the lock, while the thread
// that set it is inside `park_via`, which keeps the referent (`Sync`)
// alive and clears the pointer under the lock before it returns.
unsafe impl Send for Parker {}
// SAFETY: as above.
unsafe impl Sync for Parker {}

impl Parker {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                token: false,
                wake: None,
            }),
            cond: Condvar::new(),
        }
    }

    /// Sleeps until the token is set, then consumes it. Returns at once if
    /// an `unpark` already happened since the last `park`.
    pub(crate) fn park(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.token {
            state = self.cond.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.token = false;
    }

    /// Like `park`, but sleeps in `wait` (the event driver's wait), which
    /// `wake` cuts short: an `unpark` meanwhile calls `wake`. `wait` may
    /// also return on its own (an event, a timer): the token, if any, is
    /// consumed either way, and the caller re-checks what it waits for.
    #[cfg_attr(any(loom, not(any(unix, windows))), allow(dead_code))]
    pub(crate) fn park_via(&self, wait: impl FnOnce(), wake: &(dyn Fn() + Sync)) {
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.token {
                state.token = false;
                return;
            }
            // SAFETY (for `unpark`'s use): cleared below, under the lock,
            // before `wake` goes out of scope.
            let wake: *const (dyn Fn() + Sync + '_) = wake;
            // SAFETY: only the lifetime is erased; see above.
            state.wake = Some(unsafe {
                core::mem::transmute::<*const (dyn Fn() + Sync + '_), *const (dyn Fn() + Sync)>(
                    wake,
                )
            });
        }
        wait();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.wake = None;
        state.token = false;
    }

    /// Sets the token and wakes the thread if it sleeps.
    pub(crate) fn unpark(&self) {
        // Never a futex wait: the browser's main thread unparks workers.
        let mut state = crate::util::lock::lock(&self.state);
        state.token = true;
        if let Some(wake) = state.wake {
            // SAFETY: set by a thread inside `park_via`, which clears it
            // under this lock before the referent can go.
            unsafe { (*wake)() };
            return;
        }
        drop(state);
        self.cond.notify_one();
    }
}

/// The calling thread's own parker, for waits of threads that run no pool
/// slot (a slot's thread parks on its slot's parker instead). An `Arc`: a
/// [`WaitCell`](super::wait_cell::WaitCell) setter holds its own reference
/// while it unparks, so the thread may finish meanwhile.
#[cfg(not(loom))]
pub(crate) fn thread_parker() -> Arc<Parker> {
    std::thread_local! {
        static PARKER: Arc<Parker> = Arc::new(Parker::new());
    }
    PARKER.with(Arc::clone)
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::facade::{Arc, AtomicBool, Ordering};
    use loom::thread;

    /// An unpark that happened before the park is kept as the token: the
    /// park returns at once.
    ///
    /// Catches: a parker without a token (a bare condition variable whose
    /// notification, sent while nobody waits, is lost): the park hangs.
    #[test]
    fn unpark_before_park_is_kept() {
        loom::model(|| {
            let p = Arc::new(Parker::new());
            let p2 = p.clone();
            thread::spawn(move || p2.unpark()).join().unwrap();
            p.park();
        });
    }

    /// The token is one bit, not a count: two unparks and then two parks;
    /// the first park takes the token, the second returns only after a new
    /// unpark (and then sees what was written before it).
    ///
    /// Catches: a park that does not consume the token, or tokens that
    /// accumulate: the second park returns before the late unpark and the
    /// flag it guards is still unset.
    #[test]
    fn two_unparks_leave_one_token() {
        loom::model(|| {
            let p = Arc::new(Parker::new());
            let p2 = p.clone();
            thread::spawn(move || {
                p2.unpark();
                p2.unpark();
            })
            .join()
            .unwrap();
            p.park();
            let late = Arc::new(AtomicBool::new(false));
            let (p3, l3) = (p.clone(), late.clone());
            let t = thread::spawn(move || {
                l3.store(true, Ordering::Relaxed);
                p3.unpark();
            });
            p.park();
            assert!(
                late.load(Ordering::Relaxed),
                "the second park returned without a new unpark"
            );
            t.join().unwrap();
        });
    }

    /// An unpark from another thread racing the park, in every order: the
    /// park never hangs, and returns only after the unpark.
    ///
    /// Catches: an unpark that sets the token but does not notify (a park
    /// already waiting is never woken), or a park that waits without
    /// re-checking the token under the lock.
    #[test]
    fn unpark_racing_park_never_hangs() {
        loom::model(|| {
            let p = Arc::new(Parker::new());
            let flag = Arc::new(AtomicBool::new(false));
            let (p2, f2) = (p.clone(), flag.clone());
            let t = thread::spawn(move || {
                f2.store(true, Ordering::Relaxed);
                p2.unpark();
            });
            p.park();
            assert!(flag.load(Ordering::Relaxed), "park returned before unpark");
            t.join().unwrap();
        });
    }
}
