//! The parallel unstable sort: a quicksort whose two sides are a `join`,
//! down to pieces that std's `sort_unstable` takes.
//!
//! Each level picks a pivot (a median of medians of three from nine
//! places), partitions around it (a branchless Lomuto pass: one compare
//! and one swap per element; split between threads while one is idle,
//! which the top levels need most), and sorts both sides in a `join`, the
//! greater side stealable. Only swaps move elements, so a comparison
//! that panics leaves a permutation of the input, and nothing unsafe is
//! needed. Runs of equal elements cannot make it quadratic: a side whose
//! pivot equals the pivot bounding it from below takes every element
//! equal to it out in one pass (pdqsort's rule). A recursion deeper than
//! twice the input's bit length (adversarial pivots) hands the piece to
//! std, whose sort is O(n log n) at worst.

use super::sort::Order;
use super::split::{join_in, should_split};
use crate::pool::placement::Placement;

/// Sorts `v`; pieces of up to `cutoff` elements go to std.
pub(super) fn sort<T: Send + Sync, O: Order<T>>(
    v: &mut [T],
    order: &O,
    cutoff: usize,
    placement: Placement,
) {
    let limit = 2 * (usize::BITS - v.len().leading_zeros());
    let ctx = Ctx {
        order,
        cutoff,
        placement,
    };
    ctx.quick(v, None, limit);
}

struct Ctx<'a, O> {
    order: &'a O,
    cutoff: usize,
    placement: Placement,
}

impl<O> Ctx<'_, O> {
    /// Sorts `v`, all of whose elements are at least `floor` (the pivot of
    /// the level above, when `v` is its greater side).
    fn quick<T: Send + Sync>(&self, v: &mut [T], floor: Option<&T>, limit: u32)
    where
        O: Order<T>,
    {
        if v.len() <= self.cutoff || limit == 0 {
            return self.order.sort_unstable(v);
        }
        let p = self.choose_pivot(v);
        v.swap(0, p);
        let (head, rest) = v.split_at_mut(1);
        let pivot = &head[0];
        if floor.is_some_and(|f| !self.order.is_less(f, pivot)) {
            // The pivot equals the floor, so every element not greater
            // than the pivot equals it: put them first and leave them.
            let equal = self.partition(rest, &|x: &T| !self.order.is_less(pivot, x));
            return self.quick(&mut rest[equal..], floor, limit - 1);
        }
        let less = self.partition(rest, &|x: &T| self.order.is_less(x, pivot));
        v.swap(0, less);
        let (left, right) = v.split_at_mut(less);
        let (pivot, right) = right.split_at_mut(1);
        let pivot = &pivot[0];
        join_in(
            self.placement,
            || self.quick(left, floor, limit - 1),
            || self.quick(right, Some(pivot), limit - 1),
        );
    }

    /// [`partition`], by two threads when one is idle: each half is
    /// partitioned on its own (the second stealable), then the left
    /// half's right part and the right half's left part trade places,
    /// only as many elements as the shorter of the two.
    fn partition<T: Send + Sync>(
        &self,
        v: &mut [T],
        goes_left: &(impl Fn(&T) -> bool + Sync),
    ) -> usize
    where
        O: Sync,
    {
        if v.len() <= self.cutoff || !should_split() {
            return partition(v, goes_left);
        }
        let mid = v.len() / 2;
        let (a, b) = v.split_at_mut(mid);
        let (left_a, left_b) = join_in(
            self.placement,
            || self.partition(a, goes_left),
            || self.partition(b, goes_left),
        );
        // v: [a's left | a's right | b's left | b's right]; swapping `k`
        // elements from the start of a's right with the end of b's left
        // brings every left element before every right one.
        let k = (mid - left_a).min(left_b);
        let (front, back) = v.split_at_mut(mid + left_b - k);
        front[left_a..left_a + k].swap_with_slice(&mut back[..k]);
        left_a + left_b
    }

    /// A pivot's index: the median of the medians of three elements at
    /// each of three places (nine samples spread over `v`).
    fn choose_pivot<T>(&self, v: &[T]) -> usize
    where
        O: Order<T>,
    {
        let step = v.len() / 8;
        let median3 = |a: usize, b: usize, c: usize| {
            let less = |i: usize, j: usize| self.order.is_less(&v[i], &v[j]);
            let (a, b) = if less(b, a) { (b, a) } else { (a, b) };
            // a <= b now.
            if less(c, a) {
                a
            } else if less(b, c) {
                b
            } else {
                c
            }
        };
        let a = median3(0, step, 2 * step);
        let b = median3(3 * step, 4 * step, 5 * step);
        let c = median3(6 * step, 7 * step, v.len() - 1);
        median3(a, b, c)
    }
}

/// Moves the elements for which `goes_left` holds to the front of `v`
/// and returns how many there are. Branchless Lomuto: the element at `i`
/// is swapped with the first one not known to go left, and that boundary
/// moves on only if it goes left.
fn partition<T>(v: &mut [T], goes_left: &impl Fn(&T) -> bool) -> usize {
    let mut left = 0;
    for i in 0..v.len() {
        let l = goes_left(&v[i]);
        v.swap(left, i);
        left += l as usize;
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_splits_by_the_predicate_and_keeps_every_element() {
        for n in 0..40u32 {
            let mut v: Vec<u32> = (0..n).map(|i| i * 7 % 11).collect();
            let mut before = v.clone();
            let left = partition(&mut v, &|x: &u32| *x < 5);
            assert!(v[..left].iter().all(|x| *x < 5));
            assert!(v[left..].iter().all(|x| *x >= 5));
            before.sort_unstable();
            v.sort_unstable();
            assert_eq!(v, before);
        }
    }
}
