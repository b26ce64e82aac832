//! `NodeFn`: a node's closure, stored inline in the graph's array of works
//! when it fits two words (most do: a reference or an `Arc` and an index),
//! boxed otherwise. A run calls every node once; with a box per node, each
//! call began with a cache miss on a heap block of its own.

use core::marker::PhantomData;
use core::mem::{align_of, size_of, MaybeUninit};

/// Two words of storage for a closure, or for the box of a bigger one.
type Storage = [MaybeUninit<*const ()>; 2];

/// An `Fn() + Send + Sync + 'env`, inline or boxed.
pub(crate) struct NodeFn<'env> {
    storage: Storage,
    /// Calls the closure stored in `storage`.
    call: unsafe fn(*const Storage),
    /// Drops it in place.
    drop: unsafe fn(*mut Storage),
    _env: PhantomData<&'env ()>,
}

// SAFETY: only made from `Send + Sync` closures (`new`); the storage holds
// one of those (or a box of one) and nothing else.
unsafe impl Send for NodeFn<'_> {}
// SAFETY: as above.
unsafe impl Sync for NodeFn<'_> {}

/// True if a `G` fits the storage.
const fn fits<G>() -> bool {
    size_of::<G>() <= size_of::<Storage>() && align_of::<G>() <= align_of::<Storage>()
}

impl<'env> NodeFn<'env> {
    pub(crate) fn new<F: Fn() + Send + Sync + 'env>(f: F) -> Self {
        if fits::<F>() {
            Self::inline(f)
        } else {
            Self::inline(Box::new(f))
        }
    }

    /// Stores `g` itself.
    fn inline<G: Fn() + Send + Sync + 'env>(g: G) -> Self {
        assert!(fits::<G>());
        let mut storage: Storage = [MaybeUninit::uninit(); 2];
        // SAFETY: `G` fits the storage's size and alignment (checked), and
        // the storage is ours and uninitialised.
        unsafe { storage.as_mut_ptr().cast::<G>().write(g) };
        Self {
            storage,
            call: call_stored::<G>,
            drop: drop_stored::<G>,
            _env: PhantomData,
        }
    }

    #[inline]
    pub(crate) fn call(&self) {
        // SAFETY: `call` matches what `inline` stored, which is alive until
        // `drop`.
        unsafe { (self.call)(&self.storage) }
    }
}

impl Drop for NodeFn<'_> {
    fn drop(&mut self) {
        // SAFETY: `drop` matches what `inline` stored; dropped once, here.
        unsafe { (self.drop)(&mut self.storage) }
    }
}

/// # Safety
///
/// `s` holds a live `G` (written by `NodeFn::inline`).
unsafe fn call_stored<G: Fn()>(s: *const Storage) {
    // SAFETY: the caller's contract.
    unsafe { (*s.cast::<G>())() }
}

/// # Safety
///
/// `s` holds a live `G`, not used after this.
unsafe fn drop_stored<G>(s: *mut Storage) {
    // SAFETY: the caller's contract.
    unsafe { s.cast::<G>().drop_in_place() }
}

#[cfg(test)]
mod tests {
    use super::NodeFn;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn small_and_big_closures_are_called_and_dropped_once() {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let small = NodeFn::new(move || {
            h.fetch_add(1, Ordering::Relaxed);
        });
        let h = hits.clone();
        let pad = [7u64; 8];
        let big = NodeFn::new(move || {
            h.fetch_add(pad.iter().sum::<u64>() as usize, Ordering::Relaxed);
        });
        // Moving them around keeps them working (a Vec of works grows).
        let works = vec![small, big];
        for w in &works {
            w.call();
        }
        assert_eq!(hits.load(Ordering::Relaxed), 1 + 56);
        assert_eq!(Arc::strong_count(&hits), 3);
        drop(works);
        assert_eq!(Arc::strong_count(&hits), 1, "each closure dropped once");
    }

    #[test]
    fn a_borrowing_closure_works_inline() {
        let counter = AtomicUsize::new(0);
        let f = NodeFn::new(|| {
            counter.fetch_add(2, Ordering::Relaxed);
        });
        f.call();
        f.call();
        drop(f);
        assert_eq!(counter.load(Ordering::Relaxed), 4);
    }
}
