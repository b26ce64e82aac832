//! Waiter lists: who waits on an [`Event`](crate::Event), a
//! [`Mutex`](crate::Mutex) or a [`Counter`](crate::Counter), in arrival
//! order.
//!
//! A blocking waiter (a thread or a fiber) puts a pointer to its own
//! [`WaitCell`] in the list and blocks on the cell; whoever grants it (a
//! `set`, an unlock, the count reaching zero) takes the entry out under
//! the list's lock and sets the cell after dropping the lock. The cell
//! lives in the waiter's frame, which stays until the cell is set, so the
//! pointer in the list is valid for as long as it is listed.
//!
//! A future cannot keep a cell in place across polls (it may move before
//! it is pinned, and may be dropped at any time), so it lists its waker
//! under a token of its own instead: still listed means not yet granted;
//! gone means granted (or removed by its own drop).

use core::ptr::NonNull;
use core::task::Waker;
use std::collections::VecDeque;
use std::sync::Mutex as StdMutex;

use super::wait_cell::WaitCell;
use crate::facade::{AtomicUsize, Ordering};

/// One listed waiter.
pub(crate) enum Waiter {
    /// A thread or fiber blocked on its cell.
    Cell(NonNull<WaitCell>),
    /// A future: its waker, under its token.
    Task { token: usize, waker: Waker },
}

// SAFETY: a listed cell is alive until it is set (module docs), and a
// `WaitCell` is `Sync`; `Waker` is `Send`.
unsafe impl Send for Waiter {}

impl Waiter {
    /// Wakes a waiter taken out of its list.
    pub(crate) fn wake(self) {
        match self {
            // SAFETY: the cell is alive until set (module docs), and only
            // the one who took the entry out sets it.
            Waiter::Cell(cell) => unsafe { WaitCell::set(cell.as_ptr()) },
            Waiter::Task { waker, .. } => waker.wake(),
        }
    }
}

/// A fresh token for a future's entry (never 0).
pub(crate) fn new_token() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A listed waiter and the round it waits for: a [`Counter`](crate::Counter)'s
/// rounds (`counter.rs`), so that the end of one round wakes only the
/// waiters of that round and earlier ones; 0 for the other primitives.
struct Listed {
    waiter: Waiter,
    round: u32,
}

/// Waiters in arrival order.
#[derive(Default)]
pub(crate) struct WaitList {
    list: StdMutex<VecDeque<Listed>>,
    /// An empty list with room, swapped in by `wake_all` for the one it
    /// takes out, so that listing waiters again does not allocate (a
    /// counter or graph waited on every frame).
    spare: StdMutex<VecDeque<Listed>>,
}

/// The list, locked.
pub(crate) struct Locked<'a>(std::sync::MutexGuard<'a, VecDeque<Listed>>);

impl WaitList {
    pub(crate) fn lock(&self) -> Locked<'_> {
        Locked(crate::util::lock::lock(&self.list))
    }

    /// Runs `under_lock` with the list locked, takes every waiter out in
    /// the same critical section, and wakes them, oldest first, after the
    /// lock is dropped. The caller keeps the list alive through the call
    /// (a woken waiter may drop its own handle to it).
    pub(crate) fn wake_all_after(&self, under_lock: impl FnOnce()) {
        let mut taken = core::mem::take(&mut *crate::util::lock::lock(&self.spare));
        {
            let mut q = self.lock();
            under_lock();
            core::mem::swap(&mut *q.0, &mut taken);
        }
        self.wake_taken(taken);
    }

    /// Takes out and wakes, oldest first, the waiters listed for a round
    /// that `is_later` says is not after the one that ended; the others
    /// stay listed. Rounds only grow in arrival order, so those are the
    /// front of the list.
    pub(crate) fn wake_rounds_until(&self, is_later: impl Fn(u32) -> bool) {
        let mut taken = core::mem::take(&mut *crate::util::lock::lock(&self.spare));
        {
            let mut q = self.lock();
            let ended = q.0.iter().take_while(|l| !is_later(l.round)).count();
            if ended == q.0.len() {
                core::mem::swap(&mut *q.0, &mut taken);
            } else {
                taken.extend(q.0.drain(..ended));
            }
        }
        self.wake_taken(taken);
    }

    /// Wakes what `wake_*` took out, after the lock, and keeps the
    /// emptied list as the spare if it has more room.
    fn wake_taken(&self, mut taken: VecDeque<Listed>) {
        for l in taken.drain(..) {
            l.waiter.wake();
        }
        let mut spare = crate::util::lock::lock(&self.spare);
        if spare.capacity() < taken.capacity() {
            *spare = taken;
        }
    }
}

impl Locked<'_> {
    /// Lists a blocking waiter's cell. The cell must stay where it is
    /// until it is set (the waiter blocks on it right after).
    pub(crate) fn push_cell(&mut self, cell: &WaitCell) {
        self.push_cell_for(cell, 0);
    }

    /// `push_cell` for a waiter of a counter's `round`.
    pub(crate) fn push_cell_for(&mut self, cell: &WaitCell, round: u32) {
        self.0.push_back(Listed {
            waiter: Waiter::Cell(NonNull::from(cell)),
            round,
        });
    }

    /// Lists a future's waker under `token`.
    pub(crate) fn push_task(&mut self, token: usize, waker: &Waker) {
        self.push_task_for(token, waker, 0);
    }

    /// `push_task` for a waiter of a counter's `round`.
    pub(crate) fn push_task_for(&mut self, token: usize, waker: &Waker, round: u32) {
        self.0.push_back(Listed {
            waiter: Waiter::Task {
                token,
                waker: waker.clone(),
            },
            round,
        });
    }

    /// True if nobody is listed.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes the oldest waiter out; the caller wakes it, preferably after
    /// dropping the lock.
    pub(crate) fn grant_one(&mut self) -> Option<Waiter> {
        self.0.pop_front().map(|l| l.waiter)
    }

    /// For a future listed under `token`: makes `waker` the one to wake
    /// (a task may be polled with another waker). False if it is no
    /// longer listed: it was granted.
    pub(crate) fn refresh_task(&mut self, token: usize, waker: &Waker) -> bool {
        for l in self.0.iter_mut() {
            if let Waiter::Task {
                token: t,
                waker: old,
            } = &mut l.waiter
            {
                if *t == token {
                    if !old.will_wake(waker) {
                        *old = waker.clone();
                    }
                    return true;
                }
            }
        }
        false
    }

    /// Takes the future listed under `token` out (it is being dropped).
    /// False if it was no longer listed: it was granted.
    pub(crate) fn remove_task(&mut self, token: usize) -> bool {
        let pos = self
            .0
            .iter()
            .position(|l| matches!(l.waiter, Waiter::Task { token: t, .. } if t == token));
        pos.map(|i| self.0.remove(i)).is_some()
    }
}
