//! Lazy binary splitting, the engine under every parallel loop.
//!
//! A loop over `n` items runs them in chunks of `chunk` items, one after
//! another, on the thread that has them. Before each chunk it asks its
//! worker whether an idle thread could use work and none of this
//! thread's is up for taking (`wants_to_share`: a relaxed load of the
//! sleep state, then two of its own deque ends). If so, it splits what
//! is left in two with a `join`: the second half waits on the hidden
//! deque, where the idle thread steals it, and the loop goes on with the
//! first half. So a loop splits about as often as threads run dry, not
//! `n / chunk` times; with nobody idle it is a plain serial loop with a
//! check every `chunk` items, and on one thread it never splits at all.
//! Only the first `ceil(log2(threads))` levels split unconditionally, so
//! that every thread has a piece even before any of them looked for work
//! (see [`eager_levels`]).
//!
//! `chunk` is the pool's grain: `n / (threads * CHUNKS_PER_THREAD)`, at
//! least the caller's minimum. It bounds how long a hungry thread waits
//! for a split (one chunk) and how uneven the end is (one chunk per
//! thread), and keeps the check out of tight loops.

use super::items::Items;
use crate::pool::placement::Placement;
use crate::worker::with_current;

/// How many chunks per thread a loop's grain aims at.
pub(super) const CHUNKS_PER_THREAD: usize = 256;

/// The grain of a loop over `len` items on `threads` threads, at least
/// `min_grain`.
pub(super) fn chunk_for(len: usize, threads: usize, min_grain: usize) -> usize {
    (len / threads.max(1).saturating_mul(CHUNKS_PER_THREAD))
        .max(min_grain)
        .max(1)
}

/// How many levels a loop on `threads` threads splits before it asks the
/// pool: enough for a piece per thread (`ceil(log2(threads))`). The
/// hunger signal alone is not enough at the start: a thread counts as
/// hungry only once it has looked for work, so on a new pool (or one
/// whose threads are between a job and their search) a loop whose first
/// chunk runs long (a barrier, a lock, a slow item) would keep the rest
/// of its range to itself. These first halves wait on the hidden deque,
/// which idle threads always see.
pub(super) fn eager_levels(threads: usize) -> u32 {
    usize::BITS - threads.saturating_sub(1).leading_zeros()
}

/// One loop: its grain, where its halves go, what a chunk does and how
/// two results combine (left first).
pub(super) struct Split<'f, L, C> {
    pub(super) chunk: usize,
    pub(super) placement: Placement,
    pub(super) leaf: &'f L,
    pub(super) combine: &'f C,
}

impl<L, C> Split<'_, L, C> {
    /// Runs `items` (the loop's items from index `offset` on) and returns
    /// their combined result: `leaf(offset, chunk)` for each chunk, folded
    /// left to right with `combine`. The first `eager` levels split
    /// whatever the pool says (see [`eager_levels`]).
    pub(super) fn run<I, R>(&self, mut items: I, mut offset: usize, eager: u32) -> R
    where
        I: Items,
        R: Send,
        L: Fn(usize, I) -> R + Sync,
        C: Fn(R, R) -> R + Sync,
    {
        let mut done: Option<R> = None;
        loop {
            let len = items.len();
            if len > self.chunk && (eager > 0 || should_split()) {
                let mid = len / 2;
                let (left, right) = items.split_at(mid);
                let eager = eager.saturating_sub(1);
                let (a, b) = self.join(
                    || self.run(left, offset, eager),
                    || self.run(right, offset + mid, eager),
                );
                return self.then(done, (self.combine)(a, b));
            }
            let take = len.min(self.chunk);
            let (head, rest) = items.split_at(take);
            let r = (self.leaf)(offset, head);
            if take == len {
                return self.then(done, r);
            }
            done = Some(self.then(done, r));
            items = rest;
            offset += take;
        }
    }

    fn then<R>(&self, done: Option<R>, r: R) -> R
    where
        C: Fn(R, R) -> R,
    {
        match done {
            Some(d) => (self.combine)(d, r),
            None => r,
        }
    }

    fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        join_in(self.placement, a, b)
    }
}

/// `join`, with `b` queued as `placement` says (the plain `join` for the
/// default options). Called only on a thread of the loop's pool.
pub(super) fn join_in<A, B, RA, RB>(placement: Placement, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if placement.is_plain() {
        return crate::join::join(a, b);
    }
    with_current(|w| {
        w.expect("spindle::par: a loop's half ran outside its pool")
            .join_placed(a, b, placement)
    })
}

/// True if the current worker has an idle thread to share with.
#[inline]
pub(super) fn should_split() -> bool {
    with_current(|w| w.is_some_and(|w| w.wants_to_share()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eager_levels_give_each_thread_a_piece() {
        let levels: Vec<u32> = (0..=5).map(eager_levels).collect();
        assert_eq!(levels, [0, 0, 1, 2, 2, 3]);
    }

    #[test]
    fn the_grain_is_a_share_of_the_work_but_never_below_the_minimum() {
        assert_eq!(chunk_for(0, 4, 1), 1);
        assert_eq!(chunk_for(1 << 20, 2, 1), (1 << 20) / 512);
        assert_eq!(chunk_for(1000, 2, 100), 100);
        assert_eq!(chunk_for(usize::MAX, usize::MAX, 1), 1);
    }
}
