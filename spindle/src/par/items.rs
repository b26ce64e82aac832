//! What the parallel loops run over: index ranges and slices. Each can
//! say its length, split in two at an index, and turn into a plain
//! iterator for the part one thread runs alone.

use core::ops::Range;

mod sealed {
    pub trait Sealed {}
}

/// Something a parallel loop runs over: an index range (`0..n` of
/// `usize`, `u32`, `u64`, `i32` or `i64`; items are the indices), a slice
/// `&[T]` (items `&T`) or a mutable slice `&mut [T]` (items `&mut T`).
///
/// Sealed: the loops rely on exact lengths and splits, so only spindle
/// implements it. Its methods are not part of the API.
pub trait Items: Send + Sized + sealed::Sealed {
    /// What the loop's closure gets for each item.
    type Item;
    #[doc(hidden)]
    type Serial: Iterator<Item = Self::Item>;
    #[doc(hidden)]
    fn len(&self) -> usize;
    #[doc(hidden)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[doc(hidden)]
    fn split_at(self, mid: usize) -> (Self, Self);
    #[doc(hidden)]
    fn into_serial(self) -> Self::Serial;
}

/// What the parallel loops take: anything that is [`Items`], and
/// references to vectors and arrays (as their slices).
pub trait IntoItems {
    /// What the loop's closure gets for each item.
    type Item;
    /// The items the loop runs over.
    type Items: Items<Item = Self::Item>;
    /// Turns `self` into the items.
    fn into_items(self) -> Self::Items;
}

impl<I: Items> IntoItems for I {
    type Item = I::Item;
    type Items = I;

    #[inline]
    fn into_items(self) -> I {
        self
    }
}

impl<'a, T: Sync> IntoItems for &'a Vec<T> {
    type Item = &'a T;
    type Items = &'a [T];

    #[inline]
    fn into_items(self) -> &'a [T] {
        self
    }
}

impl<'a, T: Send> IntoItems for &'a mut Vec<T> {
    type Item = &'a mut T;
    type Items = &'a mut [T];

    #[inline]
    fn into_items(self) -> &'a mut [T] {
        self
    }
}

impl<'a, T: Sync, const N: usize> IntoItems for &'a [T; N] {
    type Item = &'a T;
    type Items = &'a [T];

    #[inline]
    fn into_items(self) -> &'a [T] {
        self
    }
}

impl<'a, T: Send, const N: usize> IntoItems for &'a mut [T; N] {
    type Item = &'a mut T;
    type Items = &'a mut [T];

    #[inline]
    fn into_items(self) -> &'a mut [T] {
        self
    }
}

macro_rules! range_items {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for Range<$t> {}

        impl Items for Range<$t> {
            type Item = $t;
            type Serial = Range<$t>;

            #[inline]
            fn len(&self) -> usize {
                if self.start >= self.end {
                    return 0;
                }
                let len = self.end as i128 - self.start as i128;
                usize::try_from(len).expect("spindle::par: a range longer than usize::MAX")
            }

            #[inline]
            fn split_at(self, mid: usize) -> (Self, Self) {
                // `mid <= len`, so the sum stays within `start..=end`; the
                // wrapping forms only make the casts exact for any width.
                let at = self.start.wrapping_add(mid as $t);
                (self.start..at, at..self.end)
            }

            #[inline]
            fn into_serial(self) -> Self::Serial {
                self
            }
        }
    )*};
}

range_items!(usize, u32, u64, i32, i64);

impl<T: Sync> sealed::Sealed for &[T] {}

impl<'a, T: Sync> Items for &'a [T] {
    type Item = &'a T;
    type Serial = core::slice::Iter<'a, T>;

    #[inline]
    fn len(&self) -> usize {
        <[T]>::len(self)
    }

    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at(self, mid)
    }

    #[inline]
    fn into_serial(self) -> Self::Serial {
        self.iter()
    }
}

impl<T: Send> sealed::Sealed for &mut [T] {}

impl<'a, T: Send> Items for &'a mut [T] {
    type Item = &'a mut T;
    type Serial = core::slice::IterMut<'a, T>;

    #[inline]
    fn len(&self) -> usize {
        <[T]>::len(self)
    }

    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_mut(mid)
    }

    #[inline]
    fn into_serial(self) -> Self::Serial {
        self.iter_mut()
    }
}

/// Two sequences of the same length walked in step (`map` pairs its
/// input with the output's slots).
pub(super) struct Zip<A, B>(pub(super) A, pub(super) B);

impl<A: Items, B: Items> sealed::Sealed for Zip<A, B> {}

impl<A: Items, B: Items> Items for Zip<A, B> {
    type Item = (A::Item, B::Item);
    type Serial = core::iter::Zip<A::Serial, B::Serial>;

    #[inline]
    fn len(&self) -> usize {
        self.0.len().min(self.1.len())
    }

    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a0, a1) = self.0.split_at(mid);
        let (b0, b1) = self.1.split_at(mid);
        (Zip(a0, b0), Zip(a1, b1))
    }

    #[inline]
    fn into_serial(self) -> Self::Serial {
        self.0.into_serial().zip(self.1.into_serial())
    }
}

/// A slice as consecutive chunks of `size` items (the last may be
/// shorter); its items are the chunks.
pub(super) struct Chunks<'a, T> {
    pub(super) slice: &'a [T],
    pub(super) size: usize,
}

impl<T: Sync> sealed::Sealed for Chunks<'_, T> {}

impl<'a, T: Sync> Items for Chunks<'a, T> {
    type Item = &'a [T];
    type Serial = core::slice::Chunks<'a, T>;

    #[inline]
    fn len(&self) -> usize {
        self.slice.len().div_ceil(self.size)
    }

    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        let at = mid.saturating_mul(self.size).min(self.slice.len());
        let (a, b) = self.slice.split_at(at);
        let size = self.size;
        (Chunks { slice: a, size }, Chunks { slice: b, size })
    }

    #[inline]
    fn into_serial(self) -> Self::Serial {
        self.slice.chunks(self.size)
    }
}

/// [`Chunks`] of a mutable slice.
pub(super) struct ChunksMut<'a, T> {
    pub(super) slice: &'a mut [T],
    pub(super) size: usize,
}

impl<T: Send> sealed::Sealed for ChunksMut<'_, T> {}

impl<'a, T: Send> Items for ChunksMut<'a, T> {
    type Item = &'a mut [T];
    type Serial = core::slice::ChunksMut<'a, T>;

    #[inline]
    fn len(&self) -> usize {
        self.slice.len().div_ceil(self.size)
    }

    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        let at = mid.saturating_mul(self.size).min(self.slice.len());
        let (a, b) = self.slice.split_at_mut(at);
        let size = self.size;
        (ChunksMut { slice: a, size }, ChunksMut { slice: b, size })
    }

    #[inline]
    fn into_serial(self) -> Self::Serial {
        self.slice.chunks_mut(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_exactly_at_every_width() {
        assert_eq!(Items::len(&(3u32..10)), 7);
        let (lo, hi) = (10u32, 3u32);
        assert_eq!(Items::len(&(lo..hi)), 0);
        assert_eq!(Items::len(&(-5i64..5)), 10);
        assert_eq!(Items::len(&(i64::MIN..i64::MAX)), usize::MAX);
        let (a, b) = Items::split_at(-5i32..5, 7);
        assert_eq!((a, b), (-5..2, 2..5));
        let (a, b) = Items::split_at(i64::MIN..i64::MAX, usize::MAX / 2 + 1);
        assert_eq!((a.end, b.start), (0, 0));
    }

    #[test]
    fn chunks_count_and_split_on_chunk_boundaries() {
        let v: Vec<u32> = (0..10).collect();
        let c = Chunks { slice: &v, size: 3 };
        assert_eq!(c.len(), 4);
        let (a, b) = c.split_at(3);
        assert_eq!(
            (a.slice.len(), b.slice, a.len(), b.len()),
            (9, &[9][..], 3, 1)
        );
        let c = Chunks { slice: &v, size: 3 };
        let (a, b) = c.split_at(4);
        assert_eq!((a.len(), b.len()), (4, 0));
    }
}
