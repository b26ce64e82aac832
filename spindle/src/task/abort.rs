//! `AbortHandle`: the right to cancel a task, apart from the right to its
//! output.

use core::ptr::NonNull;

use super::raw::Header;
use super::schedule::{schedule, Queue};
use super::state::Abort;
use super::JoinHandle;

/// Cancels a task without owning its output: made by
/// [`JoinHandle::abort_handle`] (and returned by
/// [`JoinSet::spawn`](crate::JoinSet::spawn)). Any number of them may
/// exist, on any thread; dropping one does nothing to the task.
///
/// ```
/// let pool = spindle::Pool::builder().workers(1).build()?;
/// let h = pool.spawn_async(std::future::pending::<()>());
/// let abort = h.abort_handle();
/// abort.abort();
/// assert!(h.join().unwrap_err().is_cancelled());
/// assert!(abort.is_finished());
/// # Ok::<(), spindle::Error>(())
/// ```
pub struct AbortHandle {
    raw: NonNull<Header>,
}

// SAFETY: an `AbortHandle` only touches the task's atomic state and queues
// it (both thread-safe); it never reads the output.
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    fn header(&self) -> &Header {
        // SAFETY: our reference keeps the task alive.
        unsafe { self.raw.as_ref() }
    }

    /// As [`JoinHandle::abort`]: a task not yet finished stops at its next
    /// suspension point, and its handle yields a cancelled `JobError`.
    pub fn abort(&self) {
        abort(self.raw);
    }

    /// True once the task has finished (completed, panicked or cancelled).
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }
}

/// Requests the cancellation of task `raw`, which the caller's reference
/// keeps alive: the one way `JoinHandle` and `AbortHandle` abort.
pub(super) fn abort(raw: NonNull<Header>) {
    // SAFETY: alive (the caller's reference).
    if unsafe { raw.as_ref() }.state.abort() == Abort::Submit {
        // SAFETY: `abort` set NOTIFIED with a reference for the queue.
        unsafe { schedule(raw, Queue::Woken) };
    }
}

impl core::fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        if self.header().state.release(1) {
            // SAFETY: that was the last reference.
            unsafe { (self.header().vtable.dealloc)(self.raw) };
        }
    }
}

impl<T> JoinHandle<T> {
    /// A handle that can cancel this task but not take its output.
    pub fn abort_handle(&self) -> AbortHandle {
        let raw = self.raw();
        // SAFETY: our own reference keeps the task alive while we take one
        // more for the new handle.
        unsafe { raw.as_ref() }.state.acquire();
        AbortHandle { raw }
    }
}
