//! Panic plumbing: abort guards, and the messages of caught panics.

use std::any::Any;

/// Prints `msg` and aborts the process: for broken invariants where
/// unwinding would leave dangling pointers behind.
#[cold]
pub(crate) fn abort(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::abort()
}

/// Aborts if dropped while armed, i.e. if the code it guards unwinds.
pub(crate) struct AbortIfUnwinding {
    msg: &'static str,
}

impl AbortIfUnwinding {
    #[inline(always)]
    pub(crate) fn new(msg: &'static str) -> Self {
        Self { msg }
    }

    /// The guarded code finished normally.
    #[inline(always)]
    pub(crate) fn disarm(self) {
        core::mem::forget(self);
    }
}

impl Drop for AbortIfUnwinding {
    fn drop(&mut self) {
        abort(&format!("spindle: {} (aborting)", self.msg));
    }
}

/// The text of a panic payload, if it has one.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

/// Drops a panic payload without letting its own `Drop` unwind into the
/// caller: a payload whose destructor panics (a type whose `Drop` calls
/// `panic!`) is dropped under `catch_unwind`. The panic that destructor
/// raised has a payload of its own: a message from `panic!` (`&str` or
/// `String`, whose drop cannot panic) is dropped; anything else is leaked
/// rather than risk a third panic, so nothing unwinds out of a job
/// boundary and the process does not abort.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(payload))) {
        if second.is::<&'static str>() || second.is::<String>() {
            drop(second);
        } else {
            // Its destructor could panic again: leak it (once, a few bytes).
            core::mem::forget(second);
        }
    }
}
