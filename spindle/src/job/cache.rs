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

use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

use super::heap_job::Block;
use crate::facade::{AtomicPtr, Ordering, UnsafeCell};
use crate::util::CachePadded;

#[cfg(not(loom))]
std::thread_local! {
    /// The cache of the slot this thread runs, or null (set by the worker
    /// layer whenever the thread's slot changes).
    static CURRENT: core::cell::Cell<*const JobCache> =
        const { core::cell::Cell::new(ptr::null()) };
}

/// Makes `cache` the calling thread's own (the cache of the slot it now
/// runs, or null); returns the previous value, to restore.
///
/// # Safety
///
/// A non-null `cache` stays alive, and is used by this thread only, until
/// it is replaced here.
#[cfg(not(loom))]
pub(crate) unsafe fn set_current_cache(cache: *const JobCache) -> *const JobCache {
    CURRENT.with(|c| c.replace(cache))
}

/// Runs `f` with the calling thread's own cache, if it runs a slot.
#[cfg(not(loom))]
fn with_current_cache<R>(f: impl FnOnce(&JobCache) -> R) -> Option<R> {
    let cur = CURRENT.with(core::cell::Cell::get);
    // SAFETY: `set_current_cache`'s contract: alive and ours while set.
    unsafe { cur.as_ref() }.map(f)
}

/// Under loom no thread runs a pool slot (the worker module is not built),
/// so every [`JobCache::release`] takes the remote path, which is the one
/// with concurrency to model.
#[cfg(loom)]
fn with_current_cache<R>(_f: impl FnOnce(&JobCache) -> R) -> Option<R> {
    None
}

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
                    ptr::addr_of_mut!((*b.as_ptr()).next).write(UnsafeCell::new(ptr::null_mut()));
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
            unsafe { (*block.as_ptr()).next.with_mut(|next| *next = head) };
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
        self.free.with_mut(|free| {
            // SAFETY: `free` is touched only by the owning thread (not `Sync`).
            let free = unsafe { &mut *free };
            if let Some(b) = free.pop() {
                return Some(b);
            }
            self.reclaim_remote(free);
            free.pop()
        })
    }

    #[cold]
    fn reclaim_remote(&self, free: &mut Vec<NonNull<Block>>) {
        // SAFETY: the home outlives its caches (both live in the registry).
        let home = unsafe { &*self.home };
        // Acquire: pairs with `push_remote`'s release, so `next` is visible.
        let mut p = home.remote.swap(ptr::null_mut(), Ordering::Acquire);
        while let Some(b) = NonNull::new(p) {
            // SAFETY: blocks on the remote list are free and ours now.
            p = unsafe { (*b.as_ptr()).next.with(|next| *next) };
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
        let mine = with_current_cache(|cache| {
            if ptr::eq(cache.home, home) {
                // SAFETY: the current thread owns `cache`.
                cache.free.with_mut(|free| unsafe { (*free).push(block) });
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

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::facade::{Arc, AtomicBool};
    use loom::thread;

    /// A block handed to another thread, as an executed job's block is.
    struct SendBlock(NonNull<Block>);
    // SAFETY: a block is plain memory, owned by whoever holds this pointer.
    unsafe impl Send for SendBlock {}

    impl SendBlock {
        /// Marks block `i` as no longer used, then frees it through the
        /// real `release` (under loom always the remote path).
        fn free(self, i: usize, freed: &[AtomicBool]) {
            freed[i].store(true, Ordering::Relaxed);
            // SAFETY: the block came from `alloc` and is not used any more.
            unsafe { JobCache::release(self.0) };
        }
    }

    /// Checks that `got` holds each of `blocks` exactly once, and that each
    /// was freed before it was handed out again.
    fn check(mut got: Vec<NonNull<Block>>, blocks: &[NonNull<Block>], freed: &[AtomicBool]) {
        for b in &got {
            let i = blocks.iter().position(|x| x == b).expect("a foreign block");
            // The release CAS and the reclaiming swap order the store.
            assert!(
                freed[i].load(Ordering::Relaxed),
                "block {i} handed out in use"
            );
        }
        got.sort();
        let mut want = blocks.to_vec();
        want.sort();
        assert_eq!(got, want, "a block lost or handed out twice");
    }

    /// Two threads free a block each onto the remote list while the owner
    /// allocates (which reclaims the remote list when its local one is
    /// empty). Every block comes back exactly once, none before its free.
    ///
    /// Catches: a reclaim that reads the list head and clears it in two
    /// steps (a free in between is lost), a push whose `next` link is
    /// written after the CAS or not released by it (loom sees the owner's
    /// read of `next` race the write), and a reclaim without acquire.
    #[test]
    fn remote_frees_racing_alloc() {
        loom::model(|| {
            let home = Box::new(JobCacheHome::new(2));
            // SAFETY: one cache for this home, used by this thread only.
            let cache = unsafe { home.make_local() };
            let blocks: Vec<_> = (0..2).map(|_| cache.alloc().unwrap()).collect();
            assert!(cache.alloc().is_none());
            let freed: Arc<Vec<AtomicBool>> =
                Arc::new((0..2).map(|_| AtomicBool::new(false)).collect());
            let frees: Vec<_> = blocks
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    let (b, freed) = (SendBlock(b), freed.clone());
                    thread::spawn(move || b.free(i, &freed))
                })
                .collect();
            let mut got: Vec<_> = cache.alloc().into_iter().collect();
            for f in frees {
                f.join().unwrap();
            }
            while let Some(b) = cache.alloc() {
                got.push(b);
            }
            check(got, &blocks, &freed);
        });
    }

    /// One thread frees two blocks in a row (a chain of two on the remote
    /// list) while the owner takes its last local block and then reclaims,
    /// possibly between the two frees.
    ///
    /// Catches: a reclaim that follows a `next` link it may not see yet, or
    /// stops after the head (the rest of the chain is lost), and a local
    /// free list that hands out a block twice.
    #[test]
    fn remote_chain_reclaimed_while_growing() {
        loom::model(|| {
            let home = Box::new(JobCacheHome::new(3));
            // SAFETY: one cache for this home, used by this thread only.
            let cache = unsafe { home.make_local() };
            let blocks: Vec<_> = (0..3).map(|_| cache.alloc().unwrap()).collect();
            let freed: Arc<Vec<AtomicBool>> =
                Arc::new((0..3).map(|_| AtomicBool::new(false)).collect());
            // Block 2 goes back on the local list, as a block executed by
            // its owner does.
            freed[2].store(true, Ordering::Relaxed);
            cache.free.with_mut(|free| {
                // SAFETY: this thread owns `cache`.
                unsafe { (*free).push(blocks[2]) }
            });
            let (b0, b1, f2) = (SendBlock(blocks[0]), SendBlock(blocks[1]), freed.clone());
            let freer = thread::spawn(move || {
                b0.free(0, &f2);
                b1.free(1, &f2);
            });
            let mut got = Vec::new();
            for _ in 0..2 {
                got.extend(cache.alloc());
            }
            freer.join().unwrap();
            while let Some(b) = cache.alloc() {
                got.push(b);
            }
            check(got, &blocks, &freed);
        });
    }
}
