//! A parker with a wake-up token, so an unpark that comes before the park is
//! not lost.

use crate::sync::{Condvar, Mutex};

/// One thread's place to sleep.
pub(crate) struct Parker {
    token: Mutex<bool>,
    cond: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Self {
            token: Mutex::new(false),
            cond: Condvar::new(),
        }
    }

    /// Sleeps until the token is set, then consumes it. Returns at once if
    /// an `unpark` already happened since the last `park`.
    pub(crate) fn park(&self) {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        while !*token {
            token = self.cond.wait(token).unwrap_or_else(|e| e.into_inner());
        }
        *token = false;
    }

    /// Sets the token and wakes the thread if it sleeps.
    pub(crate) fn unpark(&self) {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        *token = true;
        drop(token);
        self.cond.notify_one();
    }
}

/// Parkers of threads outside any pool that block on it, recycled.
///
/// A thread that hands a call to a worker sleeps on one of these. The
/// worker unparks it *after* publishing the result, when the waiting thread
/// may already have returned, and even exited: so these parkers are never
/// freed. A thread takes one on first use and puts it back on a free list
/// when it exits; at worst the next owner sees one spurious wake-up.
#[cfg(not(loom))]
pub(crate) fn thread_parker() -> &'static Parker {
    use std::sync::Mutex as StdMutex;

    static FREE: StdMutex<Vec<&'static Parker>> = StdMutex::new(Vec::new());

    struct Lease(&'static Parker);
    impl Drop for Lease {
        fn drop(&mut self) {
            FREE.lock().unwrap_or_else(|e| e.into_inner()).push(self.0);
        }
    }

    thread_local! {
        static LEASE: Lease = Lease(
            FREE.lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()
                .unwrap_or_else(|| Box::leak(Box::new(Parker::new()))),
        );
    }
    LEASE.with(|l| l.0)
}
