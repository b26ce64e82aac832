//! The record of the task poll in progress on this thread (`Polling`):
//! what `yield_async` did during the poll, for its poller (`raw::run`) to
//! act on, and how a context switch keeps each context's record its own.

use super::raw::Header;

/// What this thread's current poll did that its poller acts on.
#[derive(Clone, Copy)]
pub(super) struct Polling {
    /// The task being polled on this thread (null: none).
    pub(super) task: *const Header,
    /// `yield_async` ran: the task asked to go behind other work.
    pub(super) yielded: bool,
    /// `yield_async` found the task's own waker and did not wake it: the
    /// poller marks the task notified itself (`State::to_idle`).
    pub(super) woken_in_place: bool,
}

impl Polling {
    pub(super) const fn of(task: *const Header) -> Self {
        Self {
            task,
            yielded: false,
            woken_in_place: false,
        }
    }
}

thread_local! {
    /// The poll in progress on this thread; `run` saves and restores it
    /// around each poll, so a poll nested in another (a task joined from
    /// inside a task helps run others) has its own.
    pub(super) static POLLING: core::cell::Cell<Polling> =
        const { core::cell::Cell::new(Polling::of(core::ptr::null())) };
}

/// The running context's poll record, for a context switch to keep: a
/// poll can suspend mid-way (a blocking wait inside a future), and polls
/// on other contexts of the thread then start and end in any order, so
/// each context carries its own record across its suspension.
#[derive(Clone, Copy)]
pub(crate) struct SavedPoll(Polling);

/// Takes the running context's poll record before it switches away; the
/// next context starts with none (`restore_poll` puts a resumed one's
/// back).
#[inline(always)]
pub(crate) fn save_poll() -> SavedPoll {
    SavedPoll(POLLING.with(|p| p.replace(Polling::of(core::ptr::null()))))
}

/// Puts back the record `save_poll` took, once the context runs again.
#[inline(always)]
pub(crate) fn restore_poll(saved: SavedPoll) {
    POLLING.with(|p| p.set(saved.0));
}
