//! The fiber control block, and the handle wakers hold.

use core::cell::Cell;
use core::ptr::NonNull;

use super::slot::SlotFibers;
use crate::sync::wait_cell::Resume;

/// One fiber: where its suspended context's stack pointer is kept, and
/// where a wake-up queues it. Lives in its slot's [`SlotFibers`] for the
/// life of the pool, at a fixed address.
///
/// Every slot has one *root* context, the thread's own stack: it has no
/// pooled stack (`top` and `low` are null), but it suspends and wakes like
/// any other fiber.
#[repr(C, align(64))]
pub(crate) struct Fiber {
    /// The saved stack pointer while suspended or ready. Written only by
    /// the slot's thread (in `context::switch`), read only by it.
    pub(crate) sp: Cell<*mut u8>,
    /// The upper end of its stack; null for the root context.
    pub(crate) top: *mut u8,
    /// The lowest usable byte of its stack (just above the guard page);
    /// null for the root context.
    pub(crate) low: *mut u8,
    /// The slot whose ready queue a wake-up pushes it to.
    pub(crate) home: NonNull<SlotFibers>,
}

// A fiber's control block fits one cache line, and owns
// it (`align(64)`), so a waker touching one fiber never shares a line
// with another fiber's owner.
const _: () = assert!(core::mem::size_of::<Fiber>() <= 64);
const _: () = assert!(core::mem::align_of::<Fiber>() == 64);

// SAFETY: `sp` is a `Cell` touched only by the slot's own thread (the rule
// of `SlotFibers`: a fiber runs, suspends and resumes only there); other
// threads read only `home`, which never changes after the fiber is made.
unsafe impl Sync for Fiber {}
// SAFETY: as above; the raw pointers point into memory owned by the
// slot's `SlotFibers`, which outlives every fiber handle in use.
unsafe impl Send for Fiber {}

/// A handle to a fiber, what a latch keeps to wake a suspended one.
///
/// Valid while its pool's registry lives. A waker holds one only while the
/// fiber is suspended on its latch, and a suspended fiber keeps its worker
/// thread (hence the registry) alive, so the handle cannot dangle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct FiberRef(NonNull<Fiber>);

// SAFETY: see `Fiber`'s `Sync`: through a handle other threads only read
// the immutable fields and call `wake`, which goes through the home
// slot's lock.
unsafe impl Send for FiberRef {}
// SAFETY: as above.
unsafe impl Sync for FiberRef {}

impl FiberRef {
    pub(crate) fn new(fiber: &Fiber) -> Self {
        Self(NonNull::from(fiber))
    }

    /// A number that names the fiber while it exists (its address).
    pub(crate) fn id(self) -> usize {
        self.0.as_ptr() as usize
    }

    /// The control block.
    #[inline(always)]
    pub(crate) fn get(&self) -> &Fiber {
        // SAFETY: the handle's validity rule (type docs).
        unsafe { self.0.as_ref() }
    }

    /// Makes the fiber ready on its own slot and wakes that slot's thread.
    /// Call once per suspension, after what it waits on is done.
    pub(crate) fn wake(self) {
        // SAFETY: `home` outlives the fiber (the fiber is in its table).
        let home = unsafe { self.get().home.as_ref() };
        home.push_ready(self);
    }

    /// The handle a [`WaitCell`](crate::sync::wait_cell::WaitCell) keeps to
    /// resume this fiber when it is set.
    pub(crate) fn resume(self) -> Resume {
        /// # Safety
        ///
        /// `p` is a `FiberRef`'s pointer, of a suspended fiber.
        unsafe fn wake(p: NonNull<()>) {
            FiberRef(p.cast()).wake();
        }
        // SAFETY: `wake` queues the fiber on its own slot under that slot's
        // lock, callable from any thread; the fiber's table lives as long
        // as the fiber is suspended (type docs).
        unsafe { Resume::new(self.0.cast(), wake) }
    }
}
