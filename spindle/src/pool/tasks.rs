//! Every unfinished async task of a pool that has gone idle at least once,
//! so that dropping the pool can drop their futures: a task waiting on a
//! waker nobody will ever call (or on one it holds itself) is in no
//! queue, and only this list finds it. A task joins when its first poll
//! returns `Pending` (tasks that finish in one poll never touch the list;
//! queued ones are found by draining the queues) and leaves when it
//! completes.
//!
//! Intrusive doubly linked lists, one per slot (shard), each under a
//! `SpinLock`: a task joins the list of the slot that first polled it and
//! leaves it when it completes, from whichever thread. The links live in the
//! task header and are touched only under their shard's lock.
//!
//! The list also keeps the pool's registry alive for its tasks, so a task
//! need not hold a reference count on it (two contended atomic operations
//! per task saved): while the pool lives, its handle and its workers hold
//! the registry (queued and running tasks are on them); when the pool is
//! dropped with tasks still listed (queued by a waker outside the pool at
//! that moment), it hands its reference to the list
//! ([`TaskList::retire`]), and whoever removes the last task drops it.
//!
//! The list knows tasks only as their [`Links`], a field of the task
//! header: the pool layer below the task layer keeps the list, and the
//! task layer tells it, through [`TaskHooks`], how to hold and cancel a
//! listed task at shutdown.

use core::ptr::NonNull;
use std::sync::OnceLock;

use super::registry::Registry;
use crate::facade::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering, UnsafeCell};
use crate::util::CachePadded;
use crate::SpinLock;

/// What the list does to a listed task at shutdown, given by the task
/// layer (which alone knows what a task is).
pub(crate) struct TaskHooks {
    /// Takes a reference on the task (under the shard's lock).
    pub(crate) hold: unsafe fn(NonNull<Links>),
    /// Cancels the task if it is idle, and releases the reference `hold`
    /// took (outside the lock).
    pub(crate) close: unsafe fn(NonNull<Links>),
}

/// A task's place in its shard's list: a field of the task header.
pub(crate) struct Links {
    /// Under the shard's lock only.
    inner: UnsafeCell<LinksInner>,
    /// Which shard, or `NOT_LISTED`: written at insertion, read by
    /// `remove` before it knows which lock to take (hence apart from
    /// `inner`, and atomic). Insertion and removal are each done by a
    /// thread holding `RUNNING`, which the state word orders.
    shard: AtomicUsize,
}

/// `Links::shard` of a task that was never listed (it finished, or was
/// cancelled, before it ever went idle).
const NOT_LISTED: usize = usize::MAX;

#[derive(Clone, Copy)]
struct LinksInner {
    prev: Option<NonNull<Links>>,
    next: Option<NonNull<Links>>,
}

impl Links {
    pub(crate) fn new() -> Self {
        Self {
            inner: UnsafeCell::new(LinksInner {
                prev: None,
                next: None,
            }),
            shard: AtomicUsize::new(NOT_LISTED),
        }
    }

    /// True once the task joined its pool's list.
    pub(crate) fn is_listed(&self) -> bool {
        self.shard.load(Ordering::Relaxed) != NOT_LISTED
    }
}

/// Reads a task's links. Under its shard's lock (or before insertion).
fn links(h: NonNull<Links>) -> LinksInner {
    // SAFETY: the caller holds the shard lock (or owns the task alone):
    // no concurrent write; a listed task is alive (it holds its owned
    // reference until it leaves).
    unsafe { h.as_ref().inner.with(|l| *l) }
}

fn set_links(h: NonNull<Links>, f: impl FnOnce(&mut LinksInner)) {
    // SAFETY: as in `links`, for writes.
    unsafe { h.as_ref().inner.with_mut(|l| f(&mut *l)) }
}

struct Shard {
    head: Option<NonNull<Links>>,
    len: usize,
}

// SAFETY: the pointers are tasks, which are `Send`; they are followed only
// under the shard's lock.
unsafe impl Send for Shard {}

/// The task lists of one pool.
pub(crate) struct TaskList {
    shards: Box<[CachePadded<SpinLock<Shard>>]>,
    /// Set when the pool is dropped: no task joins after that.
    closed: AtomicBool,
    /// The dropped pool's reference to the registry, while tasks remain.
    orphan: Mutex<Option<Arc<Registry>>>,
    /// Given with the first task listed; none before (nothing to close).
    hooks: OnceLock<&'static TaskHooks>,
}

impl TaskList {
    pub(crate) fn new(shards: usize) -> Self {
        Self {
            shards: (0..shards.max(1))
                .map(|_| CachePadded::new(SpinLock::new(Shard { head: None, len: 0 })))
                .collect(),
            closed: AtomicBool::new(false),
            orphan: Mutex::new(None),
            hooks: OnceLock::new(),
        }
    }

    /// True once the pool is being dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Adds a task about to go idle for the first time (its poller holds
    /// `RUNNING`) to shard `shard`; `hooks` say how to close it. False (and
    /// not added) if the list is closed: the caller cancels the task.
    pub(crate) fn insert(
        &self,
        task: NonNull<Links>,
        shard: usize,
        hooks: &'static TaskHooks,
    ) -> bool {
        self.hooks.get_or_init(|| hooks);
        let shard = shard % self.shards.len();
        let mut s = self.shards[shard].lock();
        // Under the lock: `close` sets the flag, then takes each shard's
        // lock, so a task added before the flag is seen by its pass.
        if self.is_closed() {
            return false;
        }
        let old = s.head;
        // SAFETY: the caller holds a reference (and RUNNING).
        unsafe { task.as_ref() }
            .shard
            .store(shard, Ordering::Relaxed);
        set_links(task, |l| {
            *l = LinksInner {
                prev: None,
                next: old,
            }
        });
        if let Some(old) = old {
            set_links(old, |l| l.prev = Some(task));
        }
        s.head = Some(task);
        s.len += 1;
        true
    }

    /// Removes a completing task (its completer holds `RUNNING`), if it
    /// was ever listed. Only completion removes, once.
    pub(crate) fn remove(&self, task: NonNull<Links>) {
        // Written once at insertion by an earlier holder of RUNNING: the
        // state word orders that store before this load.
        // SAFETY: we hold a reference to the task.
        let shard = unsafe { task.as_ref() }.shard.load(Ordering::Relaxed);
        if shard == NOT_LISTED {
            return;
        }
        let mut s = self.shards[shard].lock();
        let l = links(task);
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
        s.len -= 1;
        drop(s);
        if self.is_closed() {
            // The pool may be gone: free the registry if we emptied the
            // list. Two removers may both get here; whichever takes the
            // orphan drops it, and the other still holds its own strong
            // reference (every completer does, see `raw::complete`), so
            // `self` stays valid for both.
            if let Some(last) = self.take_orphan_if_empty() {
                drop(last);
            }
        }
    }

    /// True if no task is listed (takes each shard's lock in turn).
    fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.lock().len == 0)
    }

    /// The orphaned registry reference, if the list is empty now.
    fn take_orphan_if_empty(&self) -> Option<Arc<Registry>> {
        if !self.is_empty() {
            return None;
        }
        self.orphan.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The pool is being dropped (after `close`): keeps `registry` alive
    /// until the last listed task leaves, or drops it now if none is left.
    /// A remover that empties the list after the reference is stored
    /// finds it; one that emptied it before is caught by our own check.
    pub(crate) fn retire(&self, registry: Arc<Registry>) {
        debug_assert!(self.is_closed());
        *self.orphan.lock().unwrap_or_else(|e| e.into_inner()) = Some(registry);
        if let Some(last) = self.take_orphan_if_empty() {
            drop(last);
        }
    }

    /// Closes the list and cancels every task in it: idle ones have their
    /// future dropped here; running or queued ones are marked, and their
    /// queued run drops it (the task layer's `TaskHooks::close`).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // No hooks: no task was ever listed.
        let Some(hooks) = self.hooks.get() else {
            return;
        };
        for shard in self.shards.iter() {
            // Take a reference on each task under the lock, act outside it
            // (dropping a future may wake or spawn, which takes locks).
            let mut tasks = Vec::new();
            {
                let s = shard.lock();
                let mut cur = s.head;
                while let Some(t) = cur {
                    // SAFETY: a listed task holds its owned reference.
                    unsafe { (hooks.hold)(t) };
                    tasks.push(t);
                    cur = links(t).next;
                }
            }
            for t in tasks {
                // SAFETY: we hold the reference `hold` took.
                unsafe { (hooks.close)(t) };
            }
        }
    }
}
