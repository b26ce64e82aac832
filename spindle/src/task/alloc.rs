//! Task memory: one allocation per task, recycled through a small
//! per-thread cache.
//!
//! Tasks whose cell fits [`BLOCK`] bytes (at most 64-aligned) all use one
//! block layout, so a block freed by any task can carry the next one. A
//! freed block goes to the freeing thread's cache (a worker frees most
//! tasks it completes, and spawns the next ones); the cache is bounded and
//! a thread's leftovers go back to the allocator when it exits. Bigger
//! cells go to the allocator directly. Blocks come from the global
//! allocator with one fixed layout, so any thread may free any block.

use core::alloc::Layout;
use core::cell::RefCell;
use core::ptr::NonNull;

/// Bytes in a cached block: the 64-byte header and 16-byte trailer leave
/// 176 bytes for the future and its output.
pub(crate) const BLOCK: usize = 256;
/// Alignment of a cached block.
const BLOCK_ALIGN: usize = 64;
/// Blocks a thread keeps at most (256 KiB).
const CACHE_CAP: usize = 1024;

fn block_layout() -> Layout {
    Layout::from_size_align(BLOCK, BLOCK_ALIGN).expect("valid block layout")
}

fn fits(layout: Layout) -> bool {
    layout.size() <= BLOCK && layout.align() <= BLOCK_ALIGN
}

/// The cached blocks of one thread.
struct Cache(Vec<NonNull<u8>>);

impl Drop for Cache {
    fn drop(&mut self) {
        for b in self.0.drain(..) {
            // SAFETY: every cached block was allocated with `block_layout`
            // and is owned by the cache.
            unsafe { std::alloc::dealloc(b.as_ptr(), block_layout()) };
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache(Vec::new())) };
}

/// Memory for a task cell of `layout`. Aborts if the allocator fails.
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    let layout = if fits(layout) {
        let cached = CACHE.try_with(|c| c.borrow_mut().0.pop()).ok().flatten();
        if let Some(b) = cached {
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
                let mut c = c.borrow_mut();
                if c.0.len() < CACHE_CAP {
                    if c.0.capacity() == 0 {
                        c.0.reserve_exact(CACHE_CAP);
                    }
                    c.0.push(p);
                    true
                } else {
                    false
                }
            })
            .unwrap_or(false);
        if !kept {
            // SAFETY: a fitting cell's memory is a block (see `alloc`).
            unsafe { std::alloc::dealloc(p.as_ptr(), block_layout()) };
        }
    } else {
        // SAFETY: allocated with exactly this layout.
        unsafe { std::alloc::dealloc(p.as_ptr(), layout) };
    }
}
