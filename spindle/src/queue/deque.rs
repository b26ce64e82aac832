//! A fixed-size Chase-Lev work-stealing deque of one-word items.
//!
//! The owner ([`Worker`]) pushes and pops at the *bottom*; any number of
//! thieves ([`Stealer`]) take from the *top* with a CAS. Items are raw,
//! non-null pointers — spindle stores tagged pointers to job headers — so a
//! slot is one machine word and the deque never reads through an item.
//!
//! # Papers
//!
//! - D. Chase and Y. Lev, *Dynamic Circular Work-Stealing Deque*, SPAA 2005:
//!   the algorithm.
//! - N. M. Lê, A. Pop, A. Cohen and F. Zappa Nardelli, *Correct and Efficient
//!   Work-Stealing for Weak Memory Models*, PPoPP 2013: the C11 orderings used
//!   here, proven correct. Each ordering below names the step of their proof
//!   it stands for.
//!
//! Unlike the papers' version this ring never grows: a full deque returns the
//! item to the caller, and the pool moves the older half of the ring to its
//! global injector in one batch ([`Worker::drain_oldest`]).
//!
//! # Why slots are atomics
//!
//! A thief reads `slot[top]` before it knows (by its CAS) that the item is
//! its own, while the owner may be writing that slot after a wrap-around. In
//! the papers that read is a "benign" race. Here every slot is an
//! `AtomicPtr` accessed with `Relaxed`, which compiles to plain moves but is
//! defined behaviour, so Miri and loom check the deque without exceptions.
//!
//! ```
//! use std::ptr::NonNull;
//! use spindle::deque::{self, Steal};
//!
//! let mut items = [1u32, 2, 3];
//! let (worker, stealer) = deque::new::<u32>(4);
//! for x in items.iter_mut() {
//!     worker.push(NonNull::from(x)).unwrap();
//! }
//! // The owner pops the newest, a thief steals the oldest.
//! assert_eq!(unsafe { *worker.pop().unwrap().as_ref() }, 3);
//! match stealer.steal() {
//!     Steal::Success(p) => assert_eq!(unsafe { *p.as_ref() }, 1),
//!     _ => unreachable!(),
//! }
//! ```

#[cfg(not(loom))]
pub use super::boxed::{boxed, BoxStealer, BoxWorker};

use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use crate::facade::{fence, Arc, AtomicPtr, AtomicUsize, Ordering};
use crate::util::CachePadded;

/// How `bottom` is stored. Everywhere the release fence in `push` carries
/// the publication (see there) and the stores are relaxed; under
/// ThreadSanitizer, which does not model fences, every store of `bottom`
/// is a release store instead: the same guarantee, in a form TSan sees.
const BOTTOM_STORE: Ordering = if cfg!(spindle_tsan) {
    Ordering::Release
} else {
    Ordering::Relaxed
};

/// The largest capacity [`new`] accepts: 2^24 slots (128 MiB of ring).
pub const MAX_CAPACITY: usize = 1 << 24;

/// The result of [`Stealer::steal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steal<T> {
    /// The deque was empty.
    Empty,
    /// An item was taken; it is the caller's now.
    Success(T),
    /// Lost a race with the owner or another thief; trying again may succeed.
    Retry,
}

struct Inner<T> {
    /// Index of the oldest item. Only ever increases; moved by CAS (thieves,
    /// and the owner for the last item and for batch drains).
    top: CachePadded<AtomicUsize>,
    /// One past the newest item. Written only by the owner.
    bottom: CachePadded<AtomicUsize>,
    /// `capacity` slots, indexed by `index & mask`.
    slots: Box<[AtomicPtr<T>]>,
    mask: usize,
}

/// Creates a deque with room for `capacity` items.
///
/// # Panics
///
/// If `capacity` is zero, not a power of two, or above [`MAX_CAPACITY`]; the
/// pool builder checks these first and returns a `spindle::Error` instead.
pub fn new<T>(capacity: usize) -> (Worker<T>, Stealer<T>) {
    assert!(
        capacity.is_power_of_two() && capacity <= MAX_CAPACITY,
        "deque capacity must be a power of two in 1..={MAX_CAPACITY}, got {capacity}"
    );
    let slots = (0..capacity)
        .map(|_| AtomicPtr::new(ptr::null_mut()))
        .collect::<Vec<_>>()
        .into_boxed_slice();
    let inner = Arc::new(Inner {
        top: CachePadded::new(AtomicUsize::new(0)),
        bottom: CachePadded::new(AtomicUsize::new(0)),
        slots,
        mask: capacity - 1,
    });
    (
        Worker {
            inner: inner.clone(),
            _not_sync: PhantomData,
        },
        Stealer { inner },
    )
}

/// The owner's end of a deque. `Send` but not `Sync`: one thread at a time.
pub struct Worker<T> {
    inner: Arc<Inner<T>>,
    _not_sync: PhantomData<core::cell::Cell<()>>,
}

/// A thief's handle. Clone it for every thief.
pub struct Stealer<T> {
    inner: Arc<Inner<T>>,
}

// SAFETY: the deque stores and hands out addresses only; it never reads or
// drops a `T`, so moving the handle to another thread moves no `T`. The
// owner-only methods are protected by `Worker` not being `Sync`.
unsafe impl<T> Send for Worker<T> {}
// SAFETY: as above; every shared field is an atomic.
unsafe impl<T> Send for Stealer<T> {}
// SAFETY: as above; `steal` and `len` only touch atomics with the orderings
// of the algorithm, so any number of threads may call them at once.
unsafe impl<T> Sync for Stealer<T> {}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Inner<T> {
    #[inline(always)]
    fn slot(&self, index: usize) -> &AtomicPtr<T> {
        // `mask + 1 == slots.len()`, so this index is always in bounds and
        // the check below is removed by the compiler.
        &self.slots[index & self.mask]
    }

    #[inline]
    fn len(&self) -> usize {
        let t = self.top.load(Ordering::Relaxed);
        let b = self.bottom.load(Ordering::Relaxed);
        (b.wrapping_sub(t) as isize).max(0) as usize
    }
}

impl<T> Worker<T> {
    /// The number of slots.
    pub fn capacity(&self) -> usize {
        self.inner.mask + 1
    }

    /// An estimate of the number of items (exact if no thief is active).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True if the deque looked empty. Cheap: two relaxed loads.
    #[inline]
    pub fn is_empty(&self) -> bool {
        let b = self.inner.bottom.load(Ordering::Relaxed);
        let t = self.inner.top.load(Ordering::Relaxed);
        b.wrapping_sub(t) as isize <= 0
    }

    /// Pushes `item` at the bottom, or gives it back if the ring is full.
    #[inline]
    pub fn push(&self, item: NonNull<T>) -> Result<(), NonNull<T>> {
        let inner = &*self.inner;
        // Only this thread writes `bottom`.
        let b = inner.bottom.load(Ordering::Relaxed);
        // Acquire: pairs with the thieves' CAS on `top`, so their read of a
        // slot happens before we overwrite that slot after a wrap-around
        // (Lê et al., `push`, the acquire load of `top`).
        let t = inner.top.load(Ordering::Acquire);
        if b.wrapping_sub(t) > inner.mask {
            return Err(item);
        }
        inner.slot(b).store(item.as_ptr(), Ordering::Relaxed);
        // Release fence, then a relaxed store (Lê et al., `push`): publishes
        // the slot (and whatever `item` points to) to a thief that acquires
        // `bottom`. A release *store* would not do: a thief may read a later
        // value of `bottom` that `pop` wrote with a relaxed store, and a
        // relaxed store heads no release sequence, so the thief would not
        // synchronise with this push and could read a stale slot from the
        // ring's previous lap; its CAS on `top` would then succeed and it
        // would take an old item twice and lose this one (Miri's weak-memory
        // emulation found it in `tests/deque_stress.rs`). With the fence,
        // every later store to `bottom` by this thread, relaxed or not,
        // carries this release to a thief that reads it.
        if !cfg!(spindle_tsan) {
            fence(Ordering::Release);
        }
        inner.bottom.store(b.wrapping_add(1), BOTTOM_STORE);
        Ok(())
    }

    /// The newest item, without taking it (a thief may take it before a
    /// following [`pop`](Worker::pop), which then gives `None`).
    #[inline]
    pub fn peek_newest(&self) -> Option<NonNull<T>> {
        let inner = &*self.inner;
        // Only this thread writes `bottom` and the slots.
        let b = inner.bottom.load(Ordering::Relaxed);
        if b.wrapping_sub(inner.top.load(Ordering::Relaxed)) as isize <= 0 {
            return None;
        }
        NonNull::new(inner.slot(b.wrapping_sub(1)).load(Ordering::Relaxed))
    }

    /// Pops the newest item.
    #[inline]
    pub fn pop(&self) -> Option<NonNull<T>> {
        let inner = &*self.inner;
        let b = inner.bottom.load(Ordering::Relaxed);
        // Fast exit without the fence: `top` only grows, so if it already
        // equals `bottom` the deque is empty now.
        if b == inner.top.load(Ordering::Relaxed) {
            return None;
        }
        let b = b.wrapping_sub(1);
        inner.bottom.store(b, BOTTOM_STORE);
        // SeqCst fence: the store to `bottom` above and the load of `top`
        // below must not be reordered (a store-load pair). With the fence in
        // `steal` this is the Dekker-style handshake that keeps the owner and
        // a thief from both taking the last item (Lê et al., `take`).
        fence(Ordering::SeqCst);
        let t = inner.top.load(Ordering::Relaxed);
        let len = b.wrapping_sub(t) as isize;
        if len < 0 {
            // Empty: a thief took the last item. Restore `bottom`.
            inner.bottom.store(b.wrapping_add(1), BOTTOM_STORE);
            return None;
        }
        let item = inner.slot(b).load(Ordering::Relaxed);
        if len > 0 {
            // More than one item: thieves cannot reach index `b`.
            // SAFETY: only non-null pointers are pushed, and slot `b` holds
            // the item we pushed at `b` (nobody else writes slots).
            return Some(unsafe { NonNull::new_unchecked(item) });
        }
        // The last item: race the thieves for it with a CAS on `top`.
        let won = inner
            .top
            .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
            .is_ok();
        inner.bottom.store(b.wrapping_add(1), BOTTOM_STORE);
        // SAFETY: as above.
        won.then(|| unsafe { NonNull::new_unchecked(item) })
    }

    /// Where the next push will go: items pushed from now on are "at or
    /// above" this mark until the owner pops below it (see `pop_from`).
    #[inline]
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn mark(&self) -> usize {
        // Only this thread writes `bottom`.
        self.inner.bottom.load(Ordering::Relaxed)
    }

    /// Pops the newest item if it was pushed at or above `mark` (the
    /// deque held more than `mark`'s worth when it was taken), else
    /// `None` without touching the deque.
    #[inline]
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn pop_from(&self, mark: usize) -> Option<NonNull<T>> {
        // Only this thread writes `bottom`.
        let b = self.inner.bottom.load(Ordering::Relaxed);
        if b.wrapping_sub(mark) as isize <= 0 {
            return None;
        }
        self.pop()
    }

    /// Takes the *oldest* item, as a thief would, but without the thief's
    /// fence: that fence orders a thief's loads against the owner's `pop`,
    /// and this *is* the owner, which does not move `bottom` here, so
    /// there is no last-item race with itself. Thieves race it for `top`
    /// with their CAS as they race each other; a lost CAS is retried. The
    /// pool uses it after a task yields, to run the oldest jobs first.
    #[inline]
    pub fn pop_oldest(&self) -> Option<NonNull<T>> {
        let inner = &*self.inner;
        loop {
            // Acquire: as in `steal`, pairs with a thief's CAS, so the
            // `top` we claim is not behind a slot already taken and reused.
            let t = inner.top.load(Ordering::Acquire);
            // Only this thread writes `bottom`.
            let b = inner.bottom.load(Ordering::Relaxed);
            if b.wrapping_sub(t) as isize <= 0 {
                return None;
            }
            // Slots are written only by this thread (`push`).
            let item = inner.slot(t).load(Ordering::Relaxed);
            if inner
                .top
                .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: the slot at a successfully claimed `top` holds a
                // pushed, non-null item.
                return Some(unsafe { NonNull::new_unchecked(item) });
            }
        }
    }

    /// Takes up to `count` of the *oldest* items and appends them to `out`,
    /// oldest first. Used by the pool when the ring is full, to move half of
    /// it to the injector in one batch. Returns how many were taken.
    #[cold]
    pub fn drain_oldest(&self, count: usize, out: &mut Vec<NonNull<T>>) -> usize {
        let inner = &*self.inner;
        loop {
            let t = inner.top.load(Ordering::Acquire);
            let b = inner.bottom.load(Ordering::Relaxed);
            let len = (b.wrapping_sub(t) as isize).max(0) as usize;
            let n = count.min(len);
            if n == 0 {
                return 0;
            }
            let start = out.len();
            for i in 0..n {
                let p = inner.slot(t.wrapping_add(i)).load(Ordering::Relaxed);
                // SAFETY: slots in `top..bottom` hold pushed, non-null items.
                out.push(unsafe { NonNull::new_unchecked(p) });
            }
            // Claim them all at once, as a thief would claim one. We do not
            // touch `bottom`, so there is no last-item race with ourselves;
            // a thief that moved `top` first makes this CAS fail and we retry.
            if inner
                .top
                .compare_exchange(t, t.wrapping_add(n), Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                return n;
            }
            out.truncate(start);
        }
    }

    /// A new thief handle for this deque.
    pub fn stealer(&self) -> Stealer<T> {
        Stealer {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Stealer<T> {
    /// An estimate of the number of items.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True if the deque looked empty.
    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Takes the oldest item.
    #[inline]
    pub fn steal(&self) -> Steal<NonNull<T>> {
        let inner = &*self.inner;
        // Acquire: see the slot writes of pushes that the owner published
        // before a thief moved `top` to this value (Lê et al., `steal`).
        let t = inner.top.load(Ordering::Acquire);
        // SeqCst fence: orders the load of `top` before the load of
        // `bottom`, pairing with the owner's fence in `pop` so that the owner
        // and a thief cannot both see the last item as theirs.
        fence(Ordering::SeqCst);
        // Acquire: pairs with `push`'s release fence before its store of
        // `bottom` (whichever later store of `bottom` we read), so the slot
        // content is visible.
        let b = inner.bottom.load(Ordering::Acquire);
        if b.wrapping_sub(t) as isize <= 0 {
            return Steal::Empty;
        }
        let item = inner.slot(t).load(Ordering::Relaxed);
        // The CAS decides ownership; a failed CAS means the value we read may
        // be stale or taken, and it is discarded.
        if inner
            .top
            .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return Steal::Retry;
        }
        // SAFETY: the slot at a successfully claimed `top` holds a pushed,
        // non-null item.
        Steal::Success(unsafe { NonNull::new_unchecked(item) })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn ptrs(v: &mut [u64]) -> Vec<NonNull<u64>> {
        v.iter_mut().map(NonNull::from).collect()
    }

    #[test]
    fn lifo_for_owner_fifo_for_thief() {
        let mut data = [0u64, 1, 2, 3];
        let p = ptrs(&mut data);
        let (w, s) = new::<u64>(4);
        for &x in &p {
            w.push(x).unwrap();
        }
        assert_eq!(w.len(), 4);
        assert_eq!(w.push(p[0]), Err(p[0]), "full ring gives the item back");
        assert_eq!(s.steal(), Steal::Success(p[0]));
        assert_eq!(w.pop(), Some(p[3]));
        assert_eq!(s.steal(), Steal::Success(p[1]));
        assert_eq!(w.pop(), Some(p[2]));
        assert_eq!(w.pop(), None);
        assert_eq!(s.steal(), Steal::Empty);
        assert!(w.is_empty());
    }

    #[test]
    fn pop_oldest_takes_from_the_top() {
        let mut data = [0u64, 1, 2];
        let p = ptrs(&mut data);
        let (w, s) = new::<u64>(4);
        for &x in &p {
            w.push(x).unwrap();
        }
        assert_eq!(w.pop_oldest(), Some(p[0]));
        assert_eq!(s.steal(), Steal::Success(p[1]));
        assert_eq!(w.pop_oldest(), Some(p[2]));
        assert_eq!(w.pop_oldest(), None);
        assert_eq!(w.pop(), None);
        assert!(w.is_empty());
    }

    #[test]
    fn wraps_around_many_times() {
        let mut data = [0u64; 3];
        let p = ptrs(&mut data);
        let (w, s) = new::<u64>(2);
        for i in 0..1000 {
            w.push(p[i % 3]).unwrap();
            if i % 2 == 0 {
                assert_eq!(w.pop(), Some(p[i % 3]));
            } else {
                assert_eq!(s.steal(), Steal::Success(p[i % 3]));
            }
        }
    }

    #[test]
    fn drain_oldest_takes_the_top_half() {
        let mut data = [0u64; 8];
        let p = ptrs(&mut data);
        let (w, s) = new::<u64>(8);
        for &x in &p {
            w.push(x).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(w.drain_oldest(4, &mut out), 4);
        assert_eq!(out, p[..4]);
        assert_eq!(s.steal(), Steal::Success(p[4]));
        assert_eq!(w.pop(), Some(p[7]));
        assert_eq!(w.len(), 2);
    }

    #[test]
    #[should_panic(expected = "power of two")]
    fn rejects_bad_capacity() {
        let _ = new::<u8>(3);
    }
}
