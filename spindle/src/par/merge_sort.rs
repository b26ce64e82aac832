//! The parallel stable sort: a merge sort whose halves are a `join`,
//! down to pieces that std's stable `sort` takes, and whose merges are
//! parallel too.
//!
//! A merge reads the two sorted runs in `v` and writes bitwise copies
//! into a buffer of `MaybeUninit<T>`; only when the whole merge is done
//! are they copied back over `v`. So while user code (a comparison) runs,
//! `v` holds every element exactly once and the buffer owns nothing: a
//! panic leaves `v` a permutation of its input and drops nothing twice.
//!
//! A merge splits in two around the middle element of the longer run
//! (binary search in the other for where it goes, ties to the left run:
//! stable), both halves in a `join`, down to `cutoff` elements.

use core::mem::MaybeUninit;

use super::sort::Order;
use super::split::join_in;
use crate::pool::placement::Placement;

/// Sorts `v` stably; pieces of up to `cutoff` elements go to std.
pub(super) fn sort<T: Send + Sync, O: Order<T>>(
    v: &mut [T],
    order: &O,
    cutoff: usize,
    placement: Placement,
) {
    // Length 0 for good: the vector frees its memory and drops nothing.
    let mut buf: Vec<T> = Vec::with_capacity(v.len());
    let buf = &mut buf.spare_capacity_mut()[..v.len()];
    let ctx = Ctx {
        order,
        cutoff,
        placement,
    };
    ctx.sort(v, buf);
    // `buf` owns nothing (see the module doc): dropping it frees memory only.
}

struct Ctx<'a, O> {
    order: &'a O,
    cutoff: usize,
    placement: Placement,
}

impl<O> Ctx<'_, O> {
    /// Sorts `v` stably, with `buf` (as long as `v`) as scratch.
    fn sort<T: Send + Sync>(&self, v: &mut [T], buf: &mut [MaybeUninit<T>])
    where
        O: Order<T>,
    {
        if v.len() <= self.cutoff {
            return self.order.sort_stable(v);
        }
        let mid = v.len() / 2;
        {
            let (left, right) = v.split_at_mut(mid);
            let (buf_left, buf_right) = buf.split_at_mut(mid);
            join_in(
                self.placement,
                || self.sort(left, buf_left),
                || self.sort(right, buf_right),
            );
        }
        if !self.order.is_less(&v[mid], &v[mid - 1]) {
            return; // Already in order.
        }
        let (left, right) = v.split_at(mid);
        self.merge(left, right, buf);
        self.copy_back(buf, v);
    }

    /// Merges the sorted runs `left` and `right` into `out` (exactly as
    /// long as both), stably: of equal elements, `left`'s come first.
    fn merge<T: Send + Sync>(&self, left: &[T], right: &[T], out: &mut [MaybeUninit<T>])
    where
        O: Order<T>,
    {
        debug_assert_eq!(out.len(), left.len() + right.len());
        if out.len() <= self.cutoff || left.is_empty() || right.is_empty() {
            return self.merge_serial(left, right, out);
        }
        let (i, j) = if left.len() >= right.len() {
            // `left[i]` and what follows it go after every element of
            // `right` that is less than it, and before the others.
            let i = left.len() / 2;
            (
                i,
                right.partition_point(|x| self.order.is_less(x, &left[i])),
            )
        } else {
            // `right[j]` goes after every element of `left` not greater
            // than it (ties: the left run first).
            let j = right.len() / 2;
            (
                left.partition_point(|x| !self.order.is_less(&right[j], x)),
                j,
            )
        };
        let (out_a, out_b) = out.split_at_mut(i + j);
        join_in(
            self.placement,
            || self.merge(&left[..i], &right[..j], out_a),
            || self.merge(&left[i..], &right[j..], out_b),
        );
    }

    fn merge_serial<T>(&self, left: &[T], right: &[T], out: &mut [MaybeUninit<T>])
    where
        O: Order<T>,
    {
        let (mut i, mut j) = (0, 0);
        for slot in out.iter_mut() {
            let take_right =
                j < right.len() && (i == left.len() || self.order.is_less(&right[j], &left[i]));
            let src = if take_right {
                j += 1;
                &right[j - 1]
            } else {
                i += 1;
                &left[i - 1]
            };
            // SAFETY: a bitwise copy into a slot of the buffer, which
            // never drops what it holds; the original stays in `v` and
            // remains its only owner until `copy_back` (module doc).
            slot.write(unsafe { core::ptr::read(src) });
        }
    }

    /// Copies the merged `buf` over `v`, in parallel pieces.
    fn copy_back<T: Send + Sync>(&self, buf: &[MaybeUninit<T>], v: &mut [T])
    where
        O: Sync,
    {
        if v.len() <= self.cutoff {
            // SAFETY: `merge` returned, so it wrote every slot of the
            // merged buffer with a bitwise copy of a distinct element of
            // the merged range of `v` (a permutation of it). The pieces of
            // this `copy_back` together overwrite all of that range, with
            // no user code in between, so each element moves to its one
            // new place and is owned once; the buffer still owns nothing.
            // The two do not overlap (the buffer is its own allocation).
            unsafe {
                core::ptr::copy_nonoverlapping(buf.as_ptr().cast::<T>(), v.as_mut_ptr(), v.len());
            }
            return;
        }
        let mid = v.len() / 2;
        let (buf_a, buf_b) = buf.split_at(mid);
        let (v_a, v_b) = v.split_at_mut(mid);
        join_in(
            self.placement,
            || self.copy_back(buf_a, v_a),
            || self.copy_back(buf_b, v_b),
        );
    }
}
