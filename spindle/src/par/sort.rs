//! The sorts' entry points and the orders they sort by.
//!
//! Every sort compares through an [`Order`]: `is_less` for the parallel
//! levels, and the standard library's sort of the same order for the
//! pieces below the cutoff (so a key sort calls std's `sort_by_key`, not
//! a comparison rebuilt from `is_less`, which would cost two calls).

use core::cmp::Ordering;

use super::{merge_sort, quick_sort, Par};
use crate::pool::placement::Placement;

/// Inputs up to this length are sorted by std at once, without entering
/// the pool (unless an affinity says where to sort).
pub(super) const SERIAL_LEN: usize = 4096;

/// How pieces are cut: below `len / (threads * pieces_per_thread)` (at
/// least [`SERIAL_LEN`]) a piece is std's. The quicksort's levels cost a
/// partition, about what std's own levels cost, so it cuts fine pieces
/// for balance; each merge sort level costs a merge and a copy back on
/// top, so it cuts as few as balance allows.
const QUICK_PIECES_PER_THREAD: usize = 8;
const MERGE_PIECES_PER_THREAD: usize = 2;

/// An order on `T`, and std's sorts by it.
pub(super) trait Order<T>: Sync {
    fn is_less(&self, a: &T, b: &T) -> bool;
    fn sort_unstable(&self, v: &mut [T]);
    fn sort_stable(&self, v: &mut [T]);
}

/// `T`'s own order.
struct ByOrd;

impl<T: Ord> Order<T> for ByOrd {
    #[inline]
    fn is_less(&self, a: &T, b: &T) -> bool {
        a < b
    }
    fn sort_unstable(&self, v: &mut [T]) {
        v.sort_unstable()
    }
    fn sort_stable(&self, v: &mut [T]) {
        v.sort()
    }
}

/// A comparison function's order.
struct By<F>(F);

impl<T, F: Fn(&T, &T) -> Ordering + Sync> Order<T> for By<F> {
    #[inline]
    fn is_less(&self, a: &T, b: &T) -> bool {
        (self.0)(a, b) == Ordering::Less
    }
    fn sort_unstable(&self, v: &mut [T]) {
        v.sort_unstable_by(&self.0)
    }
    fn sort_stable(&self, v: &mut [T]) {
        v.sort_by(&self.0)
    }
}

/// The order of a key.
struct ByKey<F>(F);

impl<T, K: Ord, F: Fn(&T) -> K + Sync> Order<T> for ByKey<F> {
    #[inline]
    fn is_less(&self, a: &T, b: &T) -> bool {
        (self.0)(a) < (self.0)(b)
    }
    fn sort_unstable(&self, v: &mut [T]) {
        v.sort_unstable_by_key(&self.0)
    }
    fn sort_stable(&self, v: &mut [T]) {
        v.sort_by_key(&self.0)
    }
}

/// The piece length below which std sorts, for `len` elements on
/// `threads` threads.
fn cutoff(len: usize, threads: usize, pieces_per_thread: usize) -> usize {
    (len / threads.max(1).saturating_mul(pieces_per_thread)).max(SERIAL_LEN)
}

impl Par<'_> {
    /// See [`par::sort`](super::sort).
    pub fn sort<T: Ord + Send + Sync>(&self, v: &mut [T]) {
        self.stable(v, &ByOrd)
    }

    /// See [`par::sort_by`](super::sort_by).
    pub fn sort_by<T: Send + Sync>(
        &self,
        v: &mut [T],
        compare: impl Fn(&T, &T) -> Ordering + Sync,
    ) {
        self.stable(v, &By(compare))
    }

    /// See [`par::sort_by_key`](super::sort_by_key).
    pub fn sort_by_key<T: Send + Sync, K: Ord>(&self, v: &mut [T], key: impl Fn(&T) -> K + Sync) {
        self.stable(v, &ByKey(key))
    }

    /// See [`par::sort_unstable`](super::sort_unstable).
    pub fn sort_unstable<T: Ord + Send + Sync>(&self, v: &mut [T]) {
        self.unstable(v, &ByOrd)
    }

    /// See [`par::sort_unstable_by`](super::sort_unstable_by).
    pub fn sort_unstable_by<T: Send + Sync>(
        &self,
        v: &mut [T],
        compare: impl Fn(&T, &T) -> Ordering + Sync,
    ) {
        self.unstable(v, &By(compare))
    }

    /// See [`par::sort_unstable_by_key`](super::sort_unstable_by_key).
    pub fn sort_unstable_by_key<T: Send + Sync, K: Ord>(
        &self,
        v: &mut [T],
        key: impl Fn(&T) -> K + Sync,
    ) {
        self.unstable(v, &ByKey(key))
    }

    /// True if the sort may run on the calling thread: no affinity says
    /// where its comparisons must run.
    fn anywhere(&self) -> bool {
        self.options.affinity.is_none()
    }

    fn stable<T: Send + Sync>(&self, v: &mut [T], order: &impl Order<T>) {
        if (v.len() <= SERIAL_LEN || core::mem::size_of::<T>() == 0) && self.anywhere() {
            return order.sort_stable(v);
        }
        self.enter(|placement: Placement, threads| {
            if threads == 1 {
                return order.sort_stable(v);
            }
            let cutoff = cutoff(v.len(), threads, MERGE_PIECES_PER_THREAD);
            merge_sort::sort(v, order, cutoff, placement)
        })
    }

    fn unstable<T: Send + Sync>(&self, v: &mut [T], order: &impl Order<T>) {
        if v.len() <= SERIAL_LEN && self.anywhere() {
            return order.sort_unstable(v);
        }
        self.enter(|placement: Placement, threads| {
            if threads == 1 {
                return order.sort_unstable(v);
            }
            let cutoff = cutoff(v.len(), threads, QUICK_PIECES_PER_THREAD);
            quick_sort::sort(v, order, cutoff, placement)
        })
    }
}
