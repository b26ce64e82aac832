//! Per-slot job caches: pre-allocated blocks so that a spawn after warm-up
//! does not call the allocator (the seeds' "pre-allocated job handles").
//!
//! # Spec
//!
//! Each pool slot owns a [`JobCacheHome`] (shared, in the registry) holding
//! `capacity` blocks, and a [`JobCache`] (owner-only) with its free list.
//! - Only the slot's owner allocates, from its local free list.
//! - A block executed on its owner goes back on the local list; executed
//!   elsewhere, it is pushed on the home's `remote` list (a lock-free stack
//!   that only the owner empties, all at once with `swap`, so there is no
//!   ABA problem).
//! - Blocks are freed with the home, when the registry drops, after every
//!   job has run.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use super::heap_job::Block;
use crate::sync::{AtomicPtr, Ordering};
use crate::util::CachePadded;

/// The shared half: block storage and the remote free list.
pub(crate) struct JobCacheHome {
    remote: CachePadded<AtomicPtr<Block>>,
    base: NonNull<MaybeUninit<Block>>,
    len: usize,
}

// SAFETY: `base` is owned storage; blocks are handed between threads only
// through jobs (which are `Send`) and the atomic remote list.
unsafe impl Send for JobCacheHome {}
// SAFETY: shared access is the atomic `remote` list; `base` is only read.
unsafe impl Sync for JobCacheHome {}

impl JobCacheHome {
    pub(crate) fn new(capacity: usize) -> Self {
        let storage: Box<[MaybeUninit<Block>]> = Box::new_uninit_slice(capacity);
        let len = storage.len();
        let base = NonNull::new(Box::into_raw(storage).cast::<MaybeUninit<Block>>())
            .expect("Box::into_raw is non-null");
        Self {
            remote: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
            base,
            len,
        }
    }

    /// The owner-side cache over this storage, every block free.
    ///
    /// # Safety
    ///
    /// Call once per home; the result must be used by one thread at a time.
    pub(crate) unsafe fn make_local(&self) -> JobCache {
        let free = (0..self.len)
            .map(|i| {
                // SAFETY: `i < len`, inside the allocation.
                let b = unsafe { self.base.add(i) }.cast::<Block>();
                // SAFETY: block memory is ours; initialise the fixed fields.
                unsafe {
                    ptr::addr_of_mut!((*b.as_ptr()).home).write(self);
                    ptr::addr_of_mut!((*b.as_ptr()).next).write(ptr::null_mut());
                }
                b
            })
            .collect();
        JobCache {
            home: self,
            free: UnsafeCell::new(free),
        }
    }

    fn push_remote(&self, block: NonNull<Block>) {
        let mut head = self.remote.load(Ordering::Relaxed);
        loop {
            // SAFETY: we own `block` until the CAS publishes it.
            unsafe { (*block.as_ptr()).next = head };
            // Release: the owner's `swap(Acquire)` sees `next`.
            match self.remote.compare_exchange_weak(
                head,
                block.as_ptr(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }
}

impl Drop for JobCacheHome {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` came from `Box::into_raw` of this slice; blocks
        // hold no live closures (every job has run before the registry drops).
        drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(self.base.as_ptr(), self.len)) });
    }
}

/// The owner's half: a free list of blocks. Not `Sync`.
pub(crate) struct JobCache {
    home: *const JobCacheHome,
    free: UnsafeCell<Vec<NonNull<Block>>>,
}

// SAFETY: moved between threads only with the participant slot's hand-over
// (an acquire/release lock); used by one thread at a time.
unsafe impl Send for JobCache {}

impl JobCache {
    /// A free block, or `None` (the caller then uses the heap).
    #[inline]
    pub(crate) fn alloc(&self) -> Option<NonNull<Block>> {
        // SAFETY: `free` is touched only by the owning thread (not `Sync`).
        let free = unsafe { &mut *self.free.get() };
        if let Some(b) = free.pop() {
            return Some(b);
        }
        self.reclaim_remote(free);
        free.pop()
    }

    #[cold]
    fn reclaim_remote(&self, free: &mut Vec<NonNull<Block>>) {
        // SAFETY: the home outlives its caches (both live in the registry).
        let home = unsafe { &*self.home };
        // Acquire: pairs with `push_remote`'s release, so `next` is visible.
        let mut p = home.remote.swap(ptr::null_mut(), Ordering::Acquire);
        while let Some(b) = NonNull::new(p) {
            // SAFETY: blocks on the remote list are free and ours now.
            p = unsafe { (*b.as_ptr()).next };
            free.push(b);
        }
    }

    /// Returns `block` to its home cache.
    ///
    /// # Safety
    ///
    /// `block` came from `alloc` of some cache and is no longer used.
    pub(crate) unsafe fn release(block: NonNull<Block>) {
        // SAFETY: set at creation, never changed.
        let home = unsafe { (*block.as_ptr()).home };
        let mine = crate::worker::with_current_cache(|cache| {
            if ptr::eq(cache.home, home) {
                // SAFETY: the current thread owns `cache`.
                unsafe { (*cache.free.get()).push(block) };
                true
            } else {
                false
            }
        })
        .unwrap_or(false);
        if !mine {
            // SAFETY: homes live as long as the registry; the executing
            // thread keeps the registry alive.
            unsafe { (*home).push_remote(block) };
        }
    }
}
