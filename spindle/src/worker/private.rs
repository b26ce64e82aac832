//! The private part of a worker's work: the second halves of its active
//! `join`s, which no thief can see until they are promoted.
//!
//! # Spec
//!
//! Every entry is the second half of a `join` run by this slot's thread (a
//! `StackJob` in one of its frames), so promotion may publish this slot's
//! parker as its waiter. Entries `head..len` are private, oldest first;
//! entries below `head` have been *promoted*: pushed, oldest first, to the
//! worker's Chase-Lev deque, where thieves take them from the top. Only the
//! owner touches this stack.
//!
//! With fibers, every context of the slot (the thread's own stack, each
//! pooled fiber) has its own private stack: a fiber suspended inside nested
//! joins keeps its entries while other contexts push and pop theirs.
//!
//! `join` pushes its second half at index `i = len` and, after running its
//! first half, asks [`PrivateStack::pop_if_private`] whether index `i` is
//! still private. Nested joins are balanced, so `len == i + 1` then. Since
//! promotion always takes the oldest private entry, index `i` was promoted
//! iff `head > i`; in that case everything from `i` up was promoted too, and
//! the join waits on its job's latch instead (the job may have been stolen).
//!
//! This is how an unstolen `join` costs a few plain stores: no atomic, no
//! fence. Work still reaches thieves through the deque, oldest (largest)
//! first, because the worker promotes whenever its deque is empty while
//! some thread is searching or asleep (checked at every fork and wait).

use core::cell::Cell;

use crate::job::JobRef;

/// How many joins deep a worker keeps second halves private; deeper ones
/// go straight to the deque.
pub(crate) const PRIVATE_CAPACITY: usize = 256;

pub(crate) struct PrivateStack {
    head: Cell<usize>,
    len: Cell<usize>,
    slots: [Cell<Option<JobRef>>; PRIVATE_CAPACITY],
}

impl PrivateStack {
    pub(crate) fn new() -> Self {
        Self {
            head: Cell::new(0),
            len: Cell::new(0),
            slots: [const { Cell::new(None) }; PRIVATE_CAPACITY],
        }
    }

    /// Pushes `job`; returns its index, or `None` if the stack is full.
    #[inline(always)]
    pub(crate) fn push(&self, job: JobRef) -> Option<usize> {
        let len = self.len.get();
        let slot = self.slots.get(len)?;
        slot.set(Some(job));
        self.len.set(len + 1);
        Some(len)
    }

    /// After a join's first half: true (and the entry is removed) if index
    /// `index` is still private; false if it was promoted.
    #[inline(always)]
    pub(crate) fn pop_if_private(&self, index: usize) -> bool {
        debug_assert_eq!(self.len.get(), index + 1, "unbalanced join nesting");
        self.len.set(index);
        if self.head.get() <= index {
            true
        } else {
            self.head.set(index);
            false
        }
    }

    /// True if there is a private entry that could be promoted.
    #[inline(always)]
    pub(crate) fn has_private(&self) -> bool {
        self.head.get() < self.len.get()
    }

    /// Removes the oldest private entry, for promotion to the deque.
    #[inline]
    pub(crate) fn take_oldest(&self) -> Option<JobRef> {
        let head = self.head.get();
        if head < self.len.get() {
            self.head.set(head + 1);
            self.slots[head].get()
        } else {
            None
        }
    }

    /// Makes this stack a copy of `other` (its live entries only): how a
    /// context switch keeps each context's entries apart.
    pub(crate) fn copy_from(&self, other: &PrivateStack) {
        let len = other.len.get();
        self.head.set(other.head.get());
        self.len.set(len);
        for (dst, src) in self.slots.iter().zip(&other.slots).take(len) {
            dst.set(src.get());
        }
    }

    /// True if no join is active on this worker.
    pub(crate) fn is_empty(&self) -> bool {
        self.len.get() == 0
    }
}
