//! How a task is queued: on the waking worker's deque (in front, or behind
//! its other work) or, from outside the pool, on the global queue.

use core::ptr::NonNull;

use super::raw::{job_ref, Header};
use crate::facade::Arc;
use crate::worker;

thread_local! {
    /// Self-wakes requeued on this thread's deque since the last one sent
    /// behind.
    static BUDGET_USED: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

/// A worker sends every `BUDGET`th requeue of a task that woke itself
/// (counted across tasks, not reset) behind the rest of its queue, instead
/// of where it runs again at once (tokio issue 4730).
pub(crate) const BUDGET: u32 = 32;

/// How a task comes to be queued.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Queue {
    /// Spawned.
    Spawned,
    /// Woken while not running (or aborted).
    Woken,
    /// Woken during its poll, requeued by its poller; `yielded`: by
    /// `yield_async`.
    Requeue { yielded: bool },
}

/// Queues a notified task: on this thread's deque when it is a worker of
/// the task's pool, otherwise on the pool's global queue (waking a
/// sleeper). A task requeued by its poller (`Queue::Requeue`) that yielded
/// or used up this worker's budget goes behind the work already queued
/// (the worker's next pick is its deque's oldest job).
///
/// # Safety
///
/// The caller set `NOTIFIED` (the task is not complete) and hands over the
/// queue entry's reference.
pub(crate) unsafe fn schedule(header: NonNull<Header>, how: Queue) {
    // SAFETY: notified and not yet queued: it cannot complete meanwhile.
    let registry = unsafe { header.as_ref().registry() };
    let job = job_ref(header);
    let queued_here = worker::with_current_in(registry, |w| {
        let Some(w) = w else {
            return false;
        };
        let to_back = match how {
            Queue::Spawned => {
                w.count_spawn();
                false
            }
            Queue::Woken => {
                w.count_wake();
                false
            }
            Queue::Requeue { yielded } => {
                w.count_wake();
                yielded
                    || BUDGET_USED.with(|b| {
                        let used = b.get() + 1;
                        b.set(if used >= BUDGET { 0 } else { used });
                        used >= BUDGET
                    })
            }
        };
        if to_back {
            w.push_behind(job);
        } else {
            w.push_public(job);
        }
        true
    });
    if queued_here {
        return;
    }
    // From outside the pool: the task may run (and complete) on a worker
    // the moment it is pushed, and the pool may be dropped meanwhile, so
    // hold the registry ourselves until we are done with it.
    // SAFETY: a new strong reference, released when `keep` drops; the
    // registry is alive now (notified, not yet queued: still listed).
    let keep = unsafe { Arc::from_raw(registry.new_ref()) };
    keep.inject(job);
    if keep.tasks.is_closed() {
        // The pool is gone or going: no worker will pop this. Run what is
        // queued here (tasks cancel themselves).
        keep.drain_after_close();
    }
}
