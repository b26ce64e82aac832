//! Every unfinished task of a pool, so that dropping the pool can drop
//! their futures: a task waiting on a waker nobody will ever call (or on
//! one it holds itself) is in no queue, and only this list finds it.
//!
//! Intrusive doubly linked lists, one per slot (shard), each under a
//! `SpinLock`: a task joins the list of the slot that spawns it and leaves
//! it when it completes, from whichever thread. The links live in the
//! task header and are touched only under their shard's lock.

use core::ptr::NonNull;

use super::raw::Header;
use super::state::Shutdown;
use crate::sync::{AtomicBool, Ordering, UnsafeCell};
use crate::util::CachePadded;
use crate::SpinLock;

/// A task's place in its shard's list.
pub(crate) struct Links {
    inner: UnsafeCell<LinksInner>,
}

#[derive(Clone, Copy)]
struct LinksInner {
    prev: Option<NonNull<Header>>,
    next: Option<NonNull<Header>>,
    shard: usize,
}

impl Links {
    pub(crate) fn new() -> Self {
        Self {
            inner: UnsafeCell::new(LinksInner {
                prev: None,
                next: None,
                shard: 0,
            }),
        }
    }
}

/// Reads a task's links. Under its shard's lock (or before insertion).
fn links(h: NonNull<Header>) -> LinksInner {
    // SAFETY: the caller holds the shard lock (or owns the task alone):
    // no concurrent write.
    unsafe { h.as_ref().links.inner.with(|l| *l) }
}

fn set_links(h: NonNull<Header>, f: impl FnOnce(&mut LinksInner)) {
    // SAFETY: as in `links`, for writes.
    unsafe { h.as_ref().links.inner.with_mut(|l| f(&mut *l)) }
}

struct Shard {
    head: Option<NonNull<Header>>,
}

// SAFETY: the pointers are tasks, which are `Send`; they are followed only
// under the shard's lock.
unsafe impl Send for Shard {}

/// The task lists of one pool.
pub(crate) struct TaskList {
    shards: Box<[CachePadded<SpinLock<Shard>>]>,
    /// Set when the pool is dropped: no task joins after that.
    closed: AtomicBool,
}

impl TaskList {
    pub(crate) fn new(shards: usize) -> Self {
        Self {
            shards: (0..shards.max(1))
                .map(|_| CachePadded::new(SpinLock::new(Shard { head: None })))
                .collect(),
            closed: AtomicBool::new(false),
        }
    }

    /// True once the pool is being dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Adds a new task to shard `shard`. False (and not added) if the list
    /// is closed: the caller cancels the task.
    pub(crate) fn insert(&self, task: NonNull<Header>, shard: usize) -> bool {
        let shard = shard % self.shards.len();
        let mut s = self.shards[shard].lock();
        // Under the lock: `close` sets the flag, then takes each shard's
        // lock, so a task added before the flag is seen by its pass.
        if self.is_closed() {
            return false;
        }
        let old = s.head;
        set_links(task, |l| {
            *l = LinksInner {
                prev: None,
                next: old,
                shard,
            }
        });
        if let Some(old) = old {
            set_links(old, |l| l.prev = Some(task));
        }
        s.head = Some(task);
        true
    }

    /// Removes a completed task. Only completion removes, once; a task
    /// spawned after `close` was never inserted and is left alone.
    pub(crate) fn remove(&self, task: NonNull<Header>) {
        // The shard index never changes after insertion, and the insertion
        // happened before any completion (the lock orders them).
        // Only the `shard` field is read: other threads may be rewriting
        // this task's `prev`/`next` under the lock meanwhile.
        // SAFETY: `shard` is written once, under the lock, before the task
        // is queued; the queue hand-over orders that write before us.
        let shard = unsafe { task.as_ref().links.inner.with(|l| (*l).shard) };
        let mut s = self.shards[shard].lock();
        let l = links(task);
        if l.prev.is_none() && s.head != Some(task) {
            return; // never inserted
        }
        match l.prev {
            Some(p) => set_links(p, |pl| pl.next = l.next),
            None => s.head = l.next,
        }
        if let Some(n) = l.next {
            set_links(n, |nl| nl.prev = l.prev);
        }
        set_links(task, |tl| {
            tl.prev = None;
            tl.next = None;
        });
    }

    /// Closes the list and cancels every task in it: idle ones have their
    /// future dropped here; running or queued ones are marked, and their
    /// queued run drops it. Returns how many were cancelled here.
    pub(crate) fn close(&self) -> usize {
        self.closed.store(true, Ordering::SeqCst);
        let mut cancelled = 0;
        for shard in self.shards.iter() {
            // Take a reference on each task under the lock, act outside it
            // (dropping a future may wake or spawn, which takes locks).
            let mut tasks = Vec::new();
            {
                let s = shard.lock();
                let mut cur = s.head;
                while let Some(t) = cur {
                    // SAFETY: a listed task holds its owned reference.
                    unsafe { t.as_ref() }.state.acquire();
                    tasks.push(t);
                    cur = links(t).next;
                }
            }
            for t in tasks {
                // SAFETY: we hold a reference.
                let h = unsafe { t.as_ref() };
                if h.state.shutdown() == Shutdown::Cancel {
                    // SAFETY: we hold RUNNING; the owned reference goes.
                    unsafe { (h.vtable.cancel)(t, 1) };
                    cancelled += 1;
                }
                if h.state.release(1) {
                    // SAFETY: last reference.
                    unsafe { (h.vtable.dealloc)(t) };
                }
            }
        }
        cancelled
    }
}
