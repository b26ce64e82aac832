//! Loops that run a closure on every item or chunk, and `map`.

use super::items::{Chunks, ChunksMut, IntoItems, Items, Zip};
use super::Par;

impl Par<'_> {
    /// See [`par::for_each`](super::for_each).
    pub fn for_each<I: IntoItems>(&self, items: I, f: impl Fn(I::Item) + Sync) {
        self.drive(
            items.into_items(),
            |_, chunk: I::Items| chunk.into_serial().for_each(&f),
            |(), ()| (),
        )
    }

    /// See [`par::chunks`](super::chunks).
    ///
    /// # Panics
    ///
    /// If `size` is 0.
    pub fn chunks<T: Sync>(&self, slice: &[T], size: usize, f: impl Fn(usize, &[T]) + Sync) {
        assert!(size != 0, "spindle::par::chunks: the chunk size is 0");
        let items = Chunks { slice, size };
        self.drive(
            items,
            |offset, part: Chunks<'_, T>| each_indexed(offset, part, &f),
            |(), ()| (),
        )
    }

    /// See [`par::chunks_mut`](super::chunks_mut).
    ///
    /// # Panics
    ///
    /// If `size` is 0.
    pub fn chunks_mut<T: Send>(
        &self,
        slice: &mut [T],
        size: usize,
        f: impl Fn(usize, &mut [T]) + Sync,
    ) {
        assert!(size != 0, "spindle::par::chunks_mut: the chunk size is 0");
        let items = ChunksMut { slice, size };
        self.drive(
            items,
            |offset, part: ChunksMut<'_, T>| each_indexed(offset, part, &f),
            |(), ()| (),
        )
    }

    /// See [`par::map`](super::map).
    pub fn map<I: IntoItems, U: Send>(&self, items: I, f: impl Fn(I::Item) -> U + Sync) -> Vec<U> {
        let items = items.into_items();
        let n = items.len();
        let mut out: Vec<U> = Vec::with_capacity(n);
        let slots = &mut out.spare_capacity_mut()[..n];
        self.for_each(Zip(items, slots), |(x, slot)| {
            slot.write(f(x));
        });
        // SAFETY: `for_each` returned, so it called the closure on every
        // one of the `n` pairs (`Zip` of two sequences of length `n`), and
        // so wrote each of the first `n` slots once. A panic would not
        // reach here; the values written before it are then leaked.
        unsafe { out.set_len(n) };
        out
    }
}

/// Calls `f(offset + k, item)` on each item of `part`.
fn each_indexed<I: Items>(offset: usize, part: I, f: &impl Fn(usize, I::Item)) {
    for (k, item) in part.into_serial().enumerate() {
        f(offset + k, item);
    }
}
