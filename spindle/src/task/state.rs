//! An async task's packed state word, and every transition of it.
//!
//! One `AtomicUsize` holds six flags and a reference count. Every change
//! to the word goes through a method here, and each returns what the
//! caller must do next as a `#[must_use]` value, so the protocol lives in
//! one file and its callers cannot ignore an outcome.
//!
//! # References
//!
//! A task is freed when its count reaches zero. A reference is held by:
//! the `JoinHandle` (until dropped), each `Waker` (until dropped), the
//! queue entry while the task is scheduled (`NOTIFIED`; it becomes the
//! poller's while `RUNNING`), and the pool's task list until the task
//! completes (the "owned" reference). A new task starts with three:
//! handle, owned, and queue (it is spawned scheduled). The owned reference
//! stands for the pool's hold on an unfinished task (listed in its task
//! list once it went idle, see `list.rs`); completion releases it.
//!
//! # Rules
//!
//! - Exactly one queue entry exists while `NOTIFIED` is set and `RUNNING`
//!   is not; a wake while `RUNNING` only sets `NOTIFIED`, and the poller
//!   requeues the task after the poll.
//! - Only the thread that set `RUNNING` touches the future; `COMPLETE` is
//!   set by that thread after it stored the output (or dropped the
//!   future), with `Release`; the handle reads the output after seeing
//!   `COMPLETE` with `Acquire`.
//! - The join waker slot belongs to the handle while `JOIN_WAKER` is
//!   clear and the task is not complete, and to the task otherwise.

use crate::facade::{AtomicUsize, Ordering};

/// The future is being polled (or dropped) by one thread.
pub(crate) const RUNNING: usize = 1 << 0;
/// Woken: the task is queued, or is running and will be queued again.
pub(crate) const NOTIFIED: usize = 1 << 1;
/// The output is stored (or the future dropped); the task never runs again.
pub(crate) const COMPLETE: usize = 1 << 2;
/// The `JoinHandle` exists: it, not the task, consumes the output.
pub(crate) const JOIN_INTEREST: usize = 1 << 3;
/// A join waker is stored in the task (see the module's rules).
pub(crate) const JOIN_WAKER: usize = 1 << 4;
/// Abort requested: the next run drops the future instead of polling it.
pub(crate) const CANCELLED: usize = 1 << 5;
/// The reference count starts at this bit.
const REF_SHIFT: u32 = 6;
/// One reference.
pub(crate) const REF_ONE: usize = 1 << REF_SHIFT;

/// A new task: spawned scheduled, with its handle, queue and owned refs.
const INITIAL: usize = (3 * REF_ONE) | NOTIFIED | JOIN_INTEREST;

/// A copy of the word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    fn has(self, flag: usize) -> bool {
        self.0 & flag != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.has(COMPLETE)
    }
    pub(crate) fn has_join_interest(self) -> bool {
        self.has(JOIN_INTEREST)
    }
    pub(crate) fn has_join_waker(self) -> bool {
        self.has(JOIN_WAKER)
    }
    pub(crate) fn refs(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

impl core::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names = [
            "RUNNING",
            "NOTIFIED",
            "COMPLETE",
            "JOIN_INTEREST",
            "JOIN_WAKER",
            "CANCELLED",
        ];
        let mut l = f.debug_list();
        for (i, n) in names.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                l.entry(n);
            }
        }
        l.entry(&format_args!("refs={}", self.refs()));
        l.finish()
    }
}

/// What a worker that took the task from a queue does.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// Poll the future.
    Poll,
    /// Abort was requested: drop the future and complete as cancelled.
    Cancel,
    /// Pool shutdown took the task while it was queued (and completed it,
    /// or is completing it): only release the queue entry's reference.
    Skip,
}

/// What the poller does after the future returned `Pending`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Nobody woke it: the poll's reference is gone with the transition.
    Idle,
    /// Woken during the poll: queue it again (the poll's reference becomes
    /// the queue entry's).
    Requeue,
    /// Aborted during the poll: drop the future and complete as cancelled.
    Cancel,
}

/// What a waker does.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Queue the task: the reference passed in (or taken) is the queue's.
    Submit,
    /// Already queued, running or complete: nothing to queue. For a wake by
    /// value the waker's reference was released: `Dealloc` if it was the
    /// last.
    Nothing,
    /// Nothing to queue, and the released reference was the last.
    Dealloc,
}

/// What `JoinHandle::abort` (and pool shutdown) does.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Abort {
    /// Idle: it was marked notified with a new queue reference; queue it.
    Submit,
    /// Marked; whoever runs or queued it next sees the flag. Or complete.
    Nothing,
}

/// What pool shutdown does with a task it finds in its list.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shutdown {
    /// Idle or queued: now `RUNNING` for the caller, who drops the future
    /// and completes the task as cancelled. A queue entry, if any, finds
    /// the task taken and only drops its reference (`ToRunning::Skip`).
    Cancel,
    /// Running (the poller finishes it, marked cancelled) or complete.
    Nothing,
}

/// The packed state word of one task.
pub(crate) struct State(AtomicUsize);

impl State {
    pub(crate) fn new() -> Self {
        Self(AtomicUsize::new(INITIAL))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Applies `f` until the compare-exchange succeeds; `f` returns the new
    /// word and an outcome, or `None` to stop without writing.
    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<usize>, R)) -> R {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let (next, out) = f(Snapshot(cur));
            let Some(next) = next else { return out };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return out,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Taken from a queue: `NOTIFIED` → `RUNNING`.
    pub(crate) fn to_running(&self) -> ToRunning {
        self.update(|s| {
            debug_assert!(s.has(NOTIFIED), "{s:?}");
            if s.has(RUNNING) || s.has(COMPLETE) {
                // Only shutdown claims a queued task (see `shutdown`).
                debug_assert!(s.has(CANCELLED), "{s:?}");
                return (None, ToRunning::Skip);
            }
            let next = (s.0 & !NOTIFIED) | RUNNING;
            let out = if s.has(CANCELLED) {
                ToRunning::Cancel
            } else {
                ToRunning::Poll
            };
            (Some(next), out)
        })
    }

    /// After a `Pending` poll. `woken_in_place`: the task woke itself
    /// without a wake call (`yield_async` on its own waker, which skips
    /// the wake's RMW), so this transition sets `NOTIFIED` itself; either
    /// way a notified task stays queued with the poll's reference.
    pub(crate) fn to_idle(&self, woken_in_place: bool) -> ToIdle {
        self.update(|s| {
            debug_assert!(s.has(RUNNING) && !s.has(COMPLETE), "{s:?}");
            if s.has(CANCELLED) {
                // Stay RUNNING: the caller drops the future now.
                (None, ToIdle::Cancel)
            } else if woken_in_place || s.has(NOTIFIED) {
                (Some((s.0 | NOTIFIED) & !RUNNING), ToIdle::Requeue)
            } else {
                debug_assert!(s.refs() >= 2, "the owned ref outlives every poll");
                (Some((s.0 & !RUNNING) - REF_ONE), ToIdle::Idle)
            }
        })
    }

    /// The output is stored (or the future dropped): sets `COMPLETE`,
    /// clears `RUNNING`. Returns the word before, whose `JOIN_INTEREST`
    /// says whether the handle will take the output and `JOIN_WAKER`
    /// whether to wake it.
    pub(crate) fn to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_xor(RUNNING | COMPLETE, Ordering::AcqRel));
        debug_assert!(prev.has(RUNNING) && !prev.has(COMPLETE), "{prev:?}");
        prev
    }

    /// Releases `n` references; true if they were the last.
    #[must_use]
    pub(crate) fn release(&self, n: usize) -> bool {
        let prev = Snapshot(self.0.fetch_sub(n * REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.refs() >= n, "{prev:?} minus {n}");
        prev.refs() == n
    }

    /// A new `Waker` (a clone): one more reference.
    pub(crate) fn acquire(&self) {
        let prev = self.0.fetch_add(REF_ONE, Ordering::Relaxed);
        if prev > isize::MAX as usize {
            crate::unwind::abort("spindle: task reference count overflow");
        }
    }

    /// `Waker::wake` (by value: the waker's reference is consumed).
    pub(crate) fn wake_by_val(&self) -> Wake {
        self.update(|s| {
            if s.has(COMPLETE) || s.has(NOTIFIED) || s.has(RUNNING) {
                let next = if s.has(COMPLETE) || s.has(NOTIFIED) {
                    s.0 - REF_ONE
                } else {
                    // Running: the poller requeues it.
                    (s.0 | NOTIFIED) - REF_ONE
                };
                let out = if Snapshot(next).refs() == 0 {
                    Wake::Dealloc
                } else {
                    Wake::Nothing
                };
                (Some(next), out)
            } else {
                // Idle: the waker's reference becomes the queue's.
                (Some(s.0 | NOTIFIED), Wake::Submit)
            }
        })
    }

    /// `Waker::wake_by_ref`: the waker keeps its reference.
    pub(crate) fn wake_by_ref(&self) -> Wake {
        self.update(|s| {
            if s.has(COMPLETE) || s.has(NOTIFIED) {
                (None, Wake::Nothing)
            } else if s.has(RUNNING) {
                (Some(s.0 | NOTIFIED), Wake::Nothing)
            } else {
                (Some((s.0 | NOTIFIED) + REF_ONE), Wake::Submit)
            }
        })
    }

    /// `JoinHandle::abort`.
    pub(crate) fn abort(&self) -> Abort {
        self.update(|s| {
            if s.has(COMPLETE) || s.has(CANCELLED) {
                (None, Abort::Nothing)
            } else if s.has(RUNNING) || s.has(NOTIFIED) {
                (Some(s.0 | CANCELLED), Abort::Nothing)
            } else {
                (Some((s.0 | CANCELLED | NOTIFIED) + REF_ONE), Abort::Submit)
            }
        })
    }

    /// Pool shutdown, for a task still in the pool's list. A queued task
    /// is taken too: its queue entry may sit in a queue nobody drains any
    /// more (a waker outside the pool that queued it during the drop).
    pub(crate) fn shutdown(&self) -> Shutdown {
        self.update(|s| {
            if s.has(COMPLETE) {
                (None, Shutdown::Nothing)
            } else if s.has(RUNNING) {
                (Some(s.0 | CANCELLED), Shutdown::Nothing)
            } else {
                (Some(s.0 | CANCELLED | RUNNING), Shutdown::Cancel)
            }
        })
    }

    /// The handle stores a join waker: sets `JOIN_WAKER`. Fails (returns
    /// the word) if the task completed meanwhile; the handle then keeps
    /// the slot and reads the output.
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST) && !s.has(JOIN_WAKER), "{s:?}");
            if s.has(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 | JOIN_WAKER), Ok(()))
            }
        })
    }

    /// The handle takes the join waker slot back to replace the waker.
    /// Fails if the task completed (the slot stays the task's).
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST) && s.has(JOIN_WAKER), "{s:?}");
            if s.has(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 & !JOIN_WAKER), Ok(()))
            }
        })
    }

    /// The handle is dropped: clears `JOIN_INTEREST` (and, if not
    /// complete, takes the waker slot back by clearing `JOIN_WAKER`).
    /// Returns the word before: if it was complete, the output is the
    /// handle's to drop; if not, the task drops it when it completes.
    pub(crate) fn drop_join_interest(&self) -> Snapshot {
        self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST), "{s:?}");
            let next = if s.has(COMPLETE) {
                s.0 & !JOIN_INTEREST
            } else {
                s.0 & !(JOIN_INTEREST | JOIN_WAKER)
            };
            (Some(next), s)
        })
    }
}
