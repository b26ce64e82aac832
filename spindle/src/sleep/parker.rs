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
