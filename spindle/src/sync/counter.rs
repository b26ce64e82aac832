//! `Counter`: wait for a group of jobs dispatched in batches; the waiting
//! thread runs other jobs meanwhile. (The batches themselves are queued by
//! `Pool::dispatch`, in `dispatch.rs`.)

use std::any::Any;

use super::wait_cell::WaitCell;
use super::wait_list::{new_token, Locked, WaitList};
use crate::facade::{Arc, AtomicU64, Mutex, Ordering};

/// Counts jobs that have been dispatched and not yet finished.
///
/// Cloning a `Counter` gives another handle to the same count. Jobs given
/// to [`Pool::dispatch`](crate::Pool::dispatch) with a counter decrement it when they finish;
/// [`Pool::wait`](crate::Pool::wait) returns when it reaches zero.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// let done = spindle::Counter::new();
/// let sum = Arc::new(AtomicUsize::new(0));
/// pool.dispatch(&done, (1..=100).map(|i| {
///     let sum = sum.clone();
///     move || { sum.fetch_add(i, Ordering::Relaxed); }
/// }));
/// pool.wait(&done);
/// assert_eq!(sum.load(Ordering::Relaxed), 5050);
/// # Ok::<(), spindle::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Counter {
    pub(crate) inner: Arc<CounterInner>,
}

/// The count and its round in one word: `count | round << COUNT_BITS`.
///
/// A round is the span from the count rising above zero to its return to
/// zero, numbered modulo 2^24. Each waiter is listed with the round it
/// waits for, and the completion that ends a round wakes only that
/// round's waiters (and older ones). Without rounds, a counter used round
/// after round could release a waiter early: a waiter that saw zero
/// before the last completion got to its waiters started the next round
/// and listed itself, and that late completion woke it with the new
/// round's work not done (a task graph run returned with one node of four
/// run; `tests::a_late_wake_of_one_round_leaves_the_next_rounds_waiters_listed`).
const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const ROUND_BITS: u32 = 64 - COUNT_BITS;
const ROUND_ONE: u64 = 1 << COUNT_BITS;

fn count_of(word: u64) -> u64 {
    word & COUNT_MASK
}

fn round_of(word: u64) -> u32 {
    (word >> COUNT_BITS) as u32
}

/// True if a waiter listed for `round` waits for a round after `ended`
/// (in modular order: rounds listed at once are never 2^23 apart).
fn is_later(round: u32, ended: u32) -> bool {
    let ahead = round.wrapping_sub(ended) & ((1 << ROUND_BITS) - 1);
    ahead != 0 && ahead < 1 << (ROUND_BITS - 1)
}

#[derive(Default)]
pub(crate) struct CounterInner {
    /// Jobs pending and the round (see `COUNT_BITS`).
    state: AtomicU64,
    /// Threads, fibers, futures and continuations to wake when the count
    /// reaches zero, each with its round.
    pub(crate) waiters: WaitList,
    /// The first panic of a dispatched job, for `wait` to re-raise.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Counter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Jobs dispatched with this counter and not finished yet.
    pub fn pending(&self) -> usize {
        let count = count_of(self.inner.state.load(Ordering::Acquire));
        usize::try_from(count).unwrap_or(usize::MAX)
    }

    /// True when no job is pending.
    pub fn is_done(&self) -> bool {
        self.pending() == 0
    }

    /// Waits for the count to reach zero in async code.
    ///
    /// # Panics
    ///
    /// The future re-raises the first panic of a job dispatched with this
    /// counter, once, like [`Pool::wait`](crate::Pool::wait) (in a task,
    /// the task's `JoinHandle` then returns it as a
    /// [`JobError`](crate::JobError)).
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let done = spindle::Counter::new();
    /// pool.dispatch(&done, (0..8).map(|_| || {}));
    /// pool.block_on(done.wait_async());
    /// assert!(done.is_done());
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn wait_async(&self) -> CounterFuture<'_> {
        CounterFuture {
            counter: self,
            token: 0,
        }
    }
}

/// The future of [`Counter::wait_async`].
#[must_use = "futures do nothing unless awaited"]
pub struct CounterFuture<'a> {
    counter: &'a Counter,
    /// This future's entry in the counter's list (0: none yet), removed if
    /// the future is dropped before the count reaches zero. Each future
    /// has its own, so two futures of one task (a `select`'s branches)
    /// never remove each other's.
    token: usize,
}

impl core::fmt::Debug for CounterFuture<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CounterFuture")
            .field("counter", self.counter)
            .finish_non_exhaustive()
    }
}

impl Drop for CounterFuture<'_> {
    fn drop(&mut self) {
        if self.token != 0 {
            self.counter.inner.waiters.lock().remove_task(self.token);
        }
    }
}

impl core::future::Future for CounterFuture<'_> {
    type Output = ();

    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        let this = &mut *self;
        let inner = &*this.counter.inner;
        let pending = {
            let mut q = inner.waiters.lock();
            if this.token == 0 {
                // Listed unless the count is zero (then we are done).
                let token = new_token();
                let listed = inner.list_task(&mut q, token, cx.waker());
                if listed {
                    this.token = token;
                }
                listed
            } else {
                // Gone from the list: the end of our round took it out.
                q.refresh_task(this.token, cx.waker())
            }
        };
        if pending {
            core::task::Poll::Pending
        } else {
            this.token = 0;
            inner.rethrow();
            core::task::Poll::Ready(())
        }
    }
}

impl core::fmt::Debug for Counter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Counter")
            .field("pending", &self.pending())
            .finish()
    }
}

impl Drop for CounterInner {
    fn drop(&mut self) {
        // A first panic nobody waited for: its payload's own drop must not
        // unwind into whichever job dropped the last handle.
        let panic = self
            .panic
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(p) = panic {
            crate::unwind::drop_payload(p);
        }
    }
}

impl CounterInner {
    /// Raises the count by `n`, before `n` jobs that will each call
    /// `complete_one` are queued. Raising it from zero starts a round.
    ///
    /// # Panics
    ///
    /// If the count would pass 2^40 − 1.
    pub(crate) fn add(&self, n: usize) {
        if n == 0 {
            return;
        }
        let n = n as u64;
        let mut word = self.state.load(Ordering::Relaxed);
        loop {
            let count = count_of(word);
            assert!(
                n <= COUNT_MASK - count,
                "spindle: a Counter was raised past 2^40 - 1 pending jobs"
            );
            let next = if count == 0 {
                (word & !COUNT_MASK).wrapping_add(ROUND_ONE) | n
            } else {
                word + n
            };
            match self
                .state
                .compare_exchange_weak(word, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => word = now,
            }
        }
    }

    /// One job finished: at zero, wakes the round's waiters.
    pub(crate) fn complete_one(&self) {
        if let Some(round) = self.lower() {
            // The caller holds a handle to the counter (a job's clone).
            self.wake_round(round);
        }
    }

    /// Lowers the count by one; at zero, returns the round that ended,
    /// whose waiters the caller wakes (`wake_round`).
    fn lower(&self) -> Option<u32> {
        // Release: the job's effects happen before a waiter's acquire of
        // zero. Acquire: the last decrement sees every earlier one's.
        // The count is above zero (raised for this job), so the round's
        // bits are not touched.
        let word = self.state.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(count_of(word) > 0, "a counter lowered below zero");
        (count_of(word) == 1).then(|| round_of(word))
    }

    /// Wakes the waiters of round `ended` and older ones; those of later
    /// rounds (listed after a waiter saw this round's zero and raised the
    /// count again) stay.
    fn wake_round(&self, ended: u32) {
        self.waiters.wake_rounds_until(|r| is_later(r, ended));
    }

    /// Lists a future or continuation under `token`, for the current
    /// round, unless the count is zero (then returns false: nothing to
    /// wait for). Under the list's lock, which a round's end takes after
    /// the count reached zero: either it finds the entry, or we see zero.
    pub(crate) fn list_task(
        &self,
        q: &mut Locked<'_>,
        token: usize,
        waker: &core::task::Waker,
    ) -> bool {
        let word = self.state.load(Ordering::Acquire);
        if count_of(word) == 0 {
            return false;
        }
        q.push_task_for(token, waker, round_of(word));
        true
    }

    /// `complete_one` for a count kept by hand (`Counter::complete`): a
    /// completion at zero panics instead of wrapping.
    pub(crate) fn complete_checked(&self) {
        let mut word = self.state.load(Ordering::Relaxed);
        loop {
            assert!(
                count_of(word) != 0,
                "spindle: Counter::complete called more often than the count was raised"
            );
            match self.state.compare_exchange_weak(
                word,
                word - 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => word = now,
            }
        }
        if count_of(word) == 1 {
            self.wake_round(round_of(word));
        }
    }

    /// Lists a blocking waiter's cell unless the count is zero already
    /// (then returns false and the caller need not wait). The check is
    /// under the list's lock, which the completion takes after reaching
    /// zero: either it finds the cell, or we see zero.
    pub(crate) fn register(&self, cell: &WaitCell) -> bool {
        let mut q = self.waiters.lock();
        let word = self.state.load(Ordering::Acquire);
        if count_of(word) == 0 {
            return false;
        }
        q.push_cell_for(cell, round_of(word));
        true
    }

    /// Re-raises the first panic of a dispatched job, once.
    pub(crate) fn rethrow(&self) {
        let panic = crate::util::lock::lock(&self.panic).take();
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
    }

    /// Keeps the first panic for the waiter; returns a later one, for the
    /// caller to give to the pool's panic handler.
    pub(crate) fn record_panic(&self, p: Box<dyn Any + Send>) -> Option<Box<dyn Any + Send>> {
        let mut slot = crate::util::lock::lock(&self.panic);
        if slot.is_none() {
            *slot = Some(p);
            None
        } else {
            Some(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interleaving a reused counter met in a task graph run: one
    /// round's count reaches zero, a waiter sees zero and starts the next
    /// round and waits for it, and only then does the first round's
    /// completion get to its waiters.
    #[test]
    fn a_late_wake_of_one_round_leaves_the_next_rounds_waiters_listed() {
        let c = CounterInner::default();
        c.add(1);
        let ended = c.lower().expect("the count reached zero");
        // A waiter arriving now sees zero and does not wait...
        let early = WaitCell::new();
        assert!(!c.register(&early));
        // ...starts the next round, and waits for that one.
        c.add(1);
        let next = WaitCell::new();
        assert!(c.register(&next));
        // The first round's completion wakes its waiters only now.
        c.wake_round(ended);
        assert!(
            !next.probe(),
            "the next round's waiter was woken by the previous round's end"
        );
        // The next round's own completion wakes it.
        let ended = c.lower().expect("the count reached zero again");
        c.wake_round(ended);
        assert!(next.probe());
    }

    /// The same with a future (or continuation) listed for the next
    /// round: it stays listed until its own round ends.
    #[test]
    fn a_late_wake_of_one_round_leaves_the_next_rounds_futures_listed() {
        let c = CounterInner::default();
        c.add(2);
        assert_eq!(c.lower(), None);
        let ended = c.lower().expect("the count reached zero");
        c.add(1);
        let waker = core::task::Waker::noop();
        assert!(c.list_task(&mut c.waiters.lock(), 7, waker));
        c.wake_round(ended);
        assert!(c.waiters.lock().refresh_task(7, waker), "woken too early");
        let ended = c.lower().expect("the count reached zero again");
        c.wake_round(ended);
        assert!(!c.waiters.lock().refresh_task(7, waker), "not woken");
    }

    #[test]
    fn rounds_compare_across_the_wrap() {
        let last = (1u32 << ROUND_BITS) - 1;
        assert!(is_later(1, 0));
        assert!(!is_later(0, 0));
        assert!(!is_later(0, 1));
        assert!(is_later(0, last), "round 0 follows the last round");
        assert!(!is_later(last, 0));
        // Raising from zero at the last round wraps the round to 0 and
        // leaves the count alone.
        let c = CounterInner::default();
        c.state
            .store((u64::from(last)) << COUNT_BITS, Ordering::Relaxed);
        c.add(3);
        let word = c.state.load(Ordering::Relaxed);
        assert_eq!((round_of(word), count_of(word)), (0, 3));
    }

    #[test]
    #[should_panic(expected = "raised past 2^40 - 1")]
    fn raising_past_the_count_bits_panics() {
        let c = CounterInner::default();
        c.add(COUNT_MASK as usize);
        c.add(1);
    }
}
