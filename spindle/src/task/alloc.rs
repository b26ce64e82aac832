//! Task memory: one allocation per task, recycled through a small
//! per-thread cache and a shared depot.
//!
//! Tasks whose cell fits [`BLOCK`] bytes (at most 64-aligned) all use one
//! block layout, so a block freed by any task can carry the next one. A
//! freed block goes to the freeing thread's cache; a full cache moves half
//! of its blocks, as one *magazine*, to the process-wide depot, and an
//! empty cache takes a magazine back from there before it asks the
//! allocator. So when one thread spawns and another completes (a
//! `block_on` caller spawning for the workers), blocks flow back to the
//! spawner a magazine at a time: one lock per [`MAGAZINE`] blocks, where
//! the allocator would take its arena lock per block, from both threads.
//! Both layers are bounded ([`CACHE_CAP`] blocks per thread, [`DEPOT_CAP`]
//! magazines in the depot: 256 KiB and 2 MiB); what does not fit goes back
//! to the allocator, as does a thread's cache when it exits and the depot
//! has no room. Bigger cells go to the allocator directly. Blocks come from
//! the global allocator with one fixed layout, so any thread may free any
//! block.

use core::alloc::Layout;
use core::cell::RefCell;
use core::ptr::NonNull;
use std::sync::Mutex;

/// Bytes in a cached block: the 64-byte header and 16-byte trailer leave
/// 176 bytes for the future and its output.
pub(crate) const BLOCK: usize = 256;
/// Alignment of a cached block.
const BLOCK_ALIGN: usize = 64;
/// Blocks a thread keeps at most (256 KiB).
const CACHE_CAP: usize = 1024;
/// Blocks moved between a cache and the depot at once.
const MAGAZINE: usize = CACHE_CAP / 2;
/// Magazines the depot keeps at most (2 MiB).
const DEPOT_CAP: usize = 16;

fn block_layout() -> Layout {
    Layout::from_size_align(BLOCK, BLOCK_ALIGN).expect("valid block layout")
}

fn fits(layout: Layout) -> bool {
    layout.size() <= BLOCK && layout.align() <= BLOCK_ALIGN
}

/// Free blocks, owned by whoever holds the vector.
struct Blocks(Vec<NonNull<u8>>);

// SAFETY: the pointers are free blocks of `block_layout`, plain memory that
// nothing else refers to; whichever thread holds them may use or free them.
unsafe impl Send for Blocks {}

impl Blocks {
    /// Frees every block to the allocator.
    fn release(&mut self) {
        for b in self.0.drain(..) {
            // SAFETY: every held block was allocated with `block_layout`,
            // and is owned by this vector.
            unsafe { std::alloc::dealloc(b.as_ptr(), block_layout()) };
        }
    }
}

/// The cached blocks of one thread; at exit they go to the depot if it
/// has room, else to the allocator.
struct Cache(Blocks);

impl Cache {
    /// The blocks, with room for `CACHE_CAP` of them (reserved once, so
    /// the cache never grows while it runs).
    fn blocks(&mut self) -> &mut Vec<NonNull<u8>> {
        let blocks = &mut (self.0).0;
        if blocks.capacity() == 0 {
            blocks.reserve_exact(CACHE_CAP);
        }
        blocks
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        let mut blocks = core::mem::take(&mut (self.0).0);
        // A magazine at a time, so the depot's bound holds.
        while !blocks.is_empty() {
            let magazine = Blocks(blocks.split_off(blocks.len().saturating_sub(MAGAZINE)));
            if let Some(mut rejected) = depot_put(magazine) {
                rejected.release();
            }
        }
    }
}

/// Full magazines, shared by every thread.
static DEPOT: Mutex<Vec<Blocks>> = Mutex::new(Vec::new());

/// Gives a magazine to the depot; returns it if the depot is full.
fn depot_put(magazine: Blocks) -> Option<Blocks> {
    // Under the lock only a whole magazine is pushed or popped, so a
    // poisoned lock still guards a consistent list.
    let mut depot = DEPOT.lock().unwrap_or_else(|e| e.into_inner());
    if depot.len() < DEPOT_CAP {
        depot.push(magazine);
        None
    } else {
        Some(magazine)
    }
}

/// Takes a magazine from the depot, if it has one.
fn depot_take() -> Option<Blocks> {
    DEPOT.lock().unwrap_or_else(|e| e.into_inner()).pop()
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache(Blocks(Vec::new()))) };
}

/// Memory for a task cell of `layout`. Aborts if the allocator fails.
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    let layout = if fits(layout) {
        let cached = CACHE.try_with(|c| {
            let mut cache = c.borrow_mut();
            let blocks = cache.blocks();
            if blocks.is_empty() {
                blocks.extend(depot_take()?.0);
            }
            blocks.pop()
        });
        if let Ok(Some(b)) = cached {
            return b;
        }
        block_layout()
    } else {
        layout
    };
    // SAFETY: the layout has a non-zero size (a task header is 64 bytes).
    let p = unsafe { std::alloc::alloc(layout) };
    NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

/// Frees memory from [`alloc`] with the same `layout`.
///
/// # Safety
///
/// `p` came from `alloc(layout)` and is not used after this.
pub(crate) unsafe fn dealloc(p: NonNull<u8>, layout: Layout) {
    if fits(layout) {
        let kept = CACHE
            .try_with(|c| {
                let mut cache = c.borrow_mut();
                let blocks = cache.blocks();
                if blocks.len() == CACHE_CAP {
                    let magazine = Blocks(blocks.split_off(CACHE_CAP - MAGAZINE));
                    if let Some(mut rejected) = depot_put(magazine) {
                        rejected.release();
                    }
                }
                blocks.push(p);
            })
            .is_ok();
        if !kept {
            // SAFETY: a fitting cell's memory is a block (see `alloc`).
            unsafe { std::alloc::dealloc(p.as_ptr(), block_layout()) };
        }
    } else {
        // SAFETY: allocated with exactly this layout.
        unsafe { std::alloc::dealloc(p.as_ptr(), layout) };
    }
}
