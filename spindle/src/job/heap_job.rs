//! Jobs whose closure lives off the stack: in a block of a worker's job
//! cache, or in a `Box` when the cache is empty or the closure too large.

use core::mem::{self, MaybeUninit};
use core::ptr::{self, NonNull};

use super::{JobCache, JobCacheHome, JobHeader, JobRef, Priority};
use crate::facade::UnsafeCell;

/// Bytes of closure a cache block holds inline.
pub(crate) const PAYLOAD: usize = 96;
/// Alignment of the payload (offset 32 in a 64-aligned block).
const PAYLOAD_ALIGN: usize = 16;

/// One job-cache block: a header, where to return it, a free-list link, and
/// the closure's bytes. Two cache lines.
#[repr(C, align(64))]
pub(crate) struct Block {
    header: MaybeUninit<JobHeader>,
    /// The cache this block belongs to.
    pub(super) home: *const JobCacheHome,
    /// Link in the cache's remote free list. A cell of the sync facade, so
    /// that loom checks the hand-over of the link through the list.
    pub(super) next: UnsafeCell<*mut Block>,
    payload: MaybeUninit<[u8; PAYLOAD]>,
}

/// Whether the payload sits at a multiple of `PAYLOAD_ALIGN`: always in a
/// real build (asserted below). Under loom a cell carries its model state,
/// so the block is larger and the payload may move; closures then go to the
/// heap.
const PAYLOAD_ALIGNED: bool = mem::offset_of!(Block, payload) % PAYLOAD_ALIGN == 0;

#[cfg(not(loom))]
const _: () = assert!(mem::size_of::<Block>() == 128);
const _: () = assert!(mem::offset_of!(Block, header) == 0);
#[cfg(not(loom))]
const _: () = assert!(PAYLOAD_ALIGNED);

/// A closure in a `Box`, with a header in front.
#[repr(C)]
struct BoxedJob<F> {
    header: JobHeader,
    func: F,
}

/// Namespace for creating heap jobs.
pub(crate) struct HeapJob;

impl HeapJob {
    /// Wraps `f` as a job, with a priority class and an affinity set id (0:
    /// any worker) in its header. Takes a block from `cache` when given one that
    /// has a free block and `f` fits; otherwise boxes it. Returns the job and
    /// whether it came from the heap.
    ///
    /// `f` must not unwind out (rule 3): front ends wrap user code in
    /// `catch_unwind` before it gets here; if it does unwind, the process
    /// aborts.
    #[inline]
    pub(crate) fn alloc<F>(
        f: F,
        cache: Option<&JobCache>,
        priority: Priority,
        affinity: u32,
    ) -> (JobRef, bool)
    where
        F: FnOnce() + Send,
    {
        let header = |execute| JobHeader::with_options(execute, priority, affinity);
        let fits = PAYLOAD_ALIGNED
            && mem::size_of::<F>() <= PAYLOAD
            && mem::align_of::<F>() <= PAYLOAD_ALIGN;
        if fits {
            if let Some(block) = cache.and_then(JobCache::alloc) {
                // SAFETY: the block is ours until executed (just allocated);
                // `F` fits the payload's size and alignment (checked above).
                unsafe {
                    let b = block.as_ptr();
                    ptr::addr_of_mut!((*b).header)
                        .write(MaybeUninit::new(header(execute_cached::<F>)));
                    ptr::addr_of_mut!((*b).payload).cast::<F>().write(f);
                    return (
                        JobRef::tagged(block.cast::<JobHeader>(), priority, affinity),
                        false,
                    );
                }
            }
        }
        let boxed = Box::new(BoxedJob {
            header: header(execute_boxed::<F>),
            func: f,
        });
        let p = NonNull::from(Box::leak(boxed));
        // SAFETY: leaked, so live until `execute_boxed` frees it.
        let job = unsafe { JobRef::tagged(p.cast::<JobHeader>(), priority, affinity) };
        (job, true)
    }
}

/// # Safety
///
/// `this` is the header of a live cache block holding an `F`; sole executor.
unsafe fn execute_cached<F: FnOnce() + Send>(this: NonNull<JobHeader>) {
    let block = this.cast::<Block>();
    // SAFETY: the header is initialised (written by `HeapJob::alloc`).
    unsafe { (*block.as_ptr()).header.assume_init_ref() }.mark_started();
    // SAFETY: `HeapJob::alloc` wrote an `F` at the payload; we move it out once.
    let f = unsafe { ptr::addr_of!((*block.as_ptr()).payload).cast::<F>().read() };
    // Return the block before running: the closure is on our stack now, and
    // a long job should not hold a block another spawn could use.
    // SAFETY: the block is no longer read after this point.
    unsafe { JobCache::release(block) };
    let _abort = crate::unwind::AbortIfUnwinding::new("a queued job unwound");
    f();
    _abort.disarm();
}

/// # Safety
///
/// `this` is the header of a leaked `BoxedJob<F>`; sole executor.
unsafe fn execute_boxed<F: FnOnce() + Send>(this: NonNull<JobHeader>) {
    // SAFETY: created by `Box::leak` in `HeapJob::alloc`, executed once.
    let boxed = unsafe { Box::from_raw(this.cast::<BoxedJob<F>>().as_ptr()) };
    boxed.header.mark_started();
    let f = boxed.func;
    let _abort = crate::unwind::AbortIfUnwinding::new("a queued job unwound");
    f();
    _abort.disarm();
}
