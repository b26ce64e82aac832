//! A xorshift generator: enough randomness to spread thieves over victims.

use core::cell::Cell;

/// Marsaglia's xorshift64*. Not for anything but victim choice.
pub(crate) struct XorShift {
    state: Cell<u64>,
}

impl XorShift {
    /// `seed` may be anything; zero is remapped (xorshift must not start at 0).
    pub(crate) fn new(seed: u64) -> Self {
        let seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        Self {
            state: Cell::new(seed),
        }
    }

    pub(crate) fn next_u64(&self) -> u64 {
        let mut x = self.state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n`; `n` must not be zero.
    pub(crate) fn below(&self, n: usize) -> usize {
        debug_assert!(n > 0);
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
}
