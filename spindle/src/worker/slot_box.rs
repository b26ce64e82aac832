//! [`SlotBox`]: owns a slot's boxed [`WorkerLocal`] without asserting
//! unique access to it.

use core::ptr::NonNull;

use super::WorkerLocal;

/// Owns a heap-allocated [`WorkerLocal`], like a `Box`, but as a raw
/// pointer.
///
/// Other pointers alias a slot's state for its whole life: thieves hold
/// one to its hidden ring (`hidden::Thief`), and `CURRENT` and the
/// `&WorkerLocal`s handed out point into it. Moving a `Box` asserts unique
/// access to its contents, which would invalidate those (Miri reports it
/// under Stacked Borrows); moving this pointer asserts nothing. All
/// access through it is shared (`WorkerLocal` is mutated only through
/// cells), so no `&mut` to the contents ever exists either.
pub(crate) struct SlotBox(NonNull<WorkerLocal>);

// SAFETY: a `SlotBox` is the unique owner of its `WorkerLocal` (like a
// `Box`), and a slot may run on another thread once its owner moves there
// (the participant slot does, with its fibers drained first; see
// `WorkerLocal::new`'s contract). It is not `Sync`: `WorkerLocal` is not.
unsafe impl Send for SlotBox {}

impl SlotBox {
    /// Moves `local` to the heap, where it stays until this is dropped.
    pub(crate) fn new(local: WorkerLocal) -> Self {
        Self(NonNull::from(Box::leak(Box::new(local))))
    }

    /// The slot's address, stable for the life of the box.
    pub(crate) fn as_ptr(&self) -> *const WorkerLocal {
        self.0.as_ptr()
    }
}

impl core::ops::Deref for SlotBox {
    type Target = WorkerLocal;

    #[inline(always)]
    fn deref(&self) -> &WorkerLocal {
        // SAFETY: allocated in `new`, freed only in `drop`; every access is
        // shared (see the type's docs).
        unsafe { self.0.as_ref() }
    }
}

impl Drop for SlotBox {
    fn drop(&mut self) {
        // SAFETY: from `Box::leak` in `new`, reclaimed once, here. The
        // owner (`run_worker`, the registry or `Participant`) drops it only
        // after no thread runs the slot and no search reaches its ring.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}
