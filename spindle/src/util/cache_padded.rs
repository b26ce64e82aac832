//! Keeps a value on cache lines of its own.

use core::ops::{Deref, DerefMut};

/// Pads and aligns `T` to 128 bytes: two 64-byte lines, because Intel's
/// adjacent-line prefetcher pulls lines in pairs, so 64 bytes alone still
/// lets neighbours share traffic. Internal: users who need one take
/// `crossbeam_utils::CachePadded`.
#[derive(Default, Debug)]
#[repr(align(128))]
pub(crate) struct CachePadded<T> {
    value: T,
}

impl<T> CachePadded<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self { value }
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for CachePadded<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn padded_to_two_lines() {
        let x = super::CachePadded::new(7u32);
        assert_eq!(*x, 7);
        assert_eq!(core::mem::align_of_val(&x), 128);
    }
}
