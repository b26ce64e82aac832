//! Sleeping and waking workers without lost wake-ups.
//!
//! The protocol and the argument for its correctness are in
//! [`README.md`](https://github.com/spindle-rs/spindle/blob/main/spindle/src/sleep/README.md)
//! beside this file; the comments below name its steps (S1–S4, P1–P3).

#[cfg(all(test, not(loom)))]
mod stress_tests;

use crate::facade::{fence, spin_loop, Arc, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use crate::sync::parker::Parker;
use crate::util::CachePadded;

/// One searching thread, in the low half of `state`.
const SEARCHING_ONE: u64 = 1;
/// One sleeping thread, in the high half of `state`.
const SLEEPING_ONE: u64 = 1 << 32;
const HALF_MASK: u64 = (1 << 32) - 1;

fn searching(state: u64) -> u64 {
    state & HALF_MASK
}

fn sleeping(state: u64) -> u64 {
    state >> 32
}

/// `SleepSlot::status`: the thread is not registered as asleep.
const AWAKE: u32 = 0;
/// Registered as asleep (S1); a waker may claim it.
const ASLEEP: u32 = 1;
/// A waker claimed it and is moving it from the sleeping to the searching
/// count; it stores `AWAKE` when the counts are right, then unparks.
const CLAIMED: u32 = 2;

struct SleepSlot {
    /// `AWAKE`, `ASLEEP` or `CLAIMED`. Whoever moves it out of `ASLEEP`
    /// does the sleeping → searching transition in `state`: the sleeper
    /// itself (`ASLEEP → AWAKE`) or a waker (`ASLEEP → CLAIMED → AWAKE`).
    status: AtomicU32,
    parker: Arc<Parker>,
}

/// The pool's sleep state: counts of searching and sleeping threads, and
/// one parker per slot.
pub(crate) struct Sleep {
    /// `searching | sleeping << 32`.
    state: CachePadded<AtomicU64>,
    slots: Box<[CachePadded<SleepSlot>]>,
    /// The slot sleeping in the event driver (`NO_DRIVER`: none): woken
    /// last, so the driver keeps a sleeper while another can take the
    /// work.
    driving: AtomicUsize,
}

/// `Sleep::driving` when no slot sleeps in the driver.
const NO_DRIVER: usize = usize::MAX;

impl Sleep {
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            state: CachePadded::new(AtomicU64::new(0)),
            slots: (0..slots)
                .map(|_| {
                    CachePadded::new(SleepSlot {
                        status: AtomicU32::new(AWAKE),
                        parker: Arc::new(Parker::new()),
                    })
                })
                .collect(),
            driving: AtomicUsize::new(NO_DRIVER),
        }
    }

    /// Records that slot `index` sleeps in the event driver (or, with
    /// `None`, that it left): wakers take it last.
    #[cfg_attr(any(loom, not(any(unix, windows))), allow(dead_code))]
    pub(crate) fn set_driving(&self, index: Option<usize>) {
        self.driving
            .store(index.unwrap_or(NO_DRIVER), Ordering::Relaxed);
    }

    /// The parker of slot `index`.
    pub(crate) fn parker(&self, index: usize) -> &Arc<Parker> {
        &self.slots[index].parker
    }

    /// True if some thread is searching or asleep, i.e. could use work that
    /// a busy worker keeps private. A relaxed load of a line that is only
    /// written when threads start or stop looking, so while every thread is
    /// busy it stays shared in every cache.
    #[inline(always)]
    pub(crate) fn wants_work(&self) -> bool {
        self.state.load(Ordering::Relaxed) != 0
    }

    /// The calling slot has run out of local work and starts looking.
    #[inline]
    pub(crate) fn start_searching(&self) {
        self.state.fetch_add(SEARCHING_ONE, Ordering::Relaxed);
    }

    /// The calling slot stops searching (it found work, or its wait ended).
    /// If it found work and was the last searcher, it wakes one sleeper to
    /// keep looking, so a burst ramps up one worker at a time.
    #[inline]
    pub(crate) fn stop_searching(&self, found_work: bool) {
        let old = self.state.fetch_sub(SEARCHING_ONE, Ordering::Relaxed);
        debug_assert!(searching(old) > 0, "searching count underflow");
        if found_work && searching(old) == 1 && sleeping(old) > 0 {
            self.notify_work(1);
        }
    }

    /// The calling slot stops searching without having found work: its
    /// wait ended, it suspends its fiber, a fiber of its became ready, or
    /// it leaves the pool. A publisher that saw it searching woke nobody
    /// (P3), counting on it to find the work or to re-check before it
    /// sleeps (S3); it will do neither now. So if it was the last searcher
    /// and someone sleeps, it looks (`has_work`) and, if there is work,
    /// wakes a sleeper for it (S5 in the README).
    #[inline]
    pub(crate) fn stop_searching_idle(&self, has_work: impl FnOnce() -> bool) {
        let old = self.state.fetch_sub(SEARCHING_ONE, Ordering::Relaxed);
        debug_assert!(searching(old) > 0, "searching count underflow");
        if searching(old) == 1 && sleeping(old) > 0 {
            self.leave_search_cold(has_work);
        }
    }

    #[cold]
    #[inline(never)]
    fn leave_search_cold(&self, has_work: impl FnOnce() -> bool) {
        // S5: order our decrement before the re-check. Pairs with P2: a
        // publisher whose P3 load saw us searching published before its
        // fence, so either our re-check sees its work, or its load came
        // after our decrement (and it woke a sleeper itself).
        fence(Ordering::SeqCst);
        if has_work() {
            self.notify_work(1);
        }
    }

    /// Publisher side (P1–P3): call after making `count` jobs visible in a
    /// queue. Wakes up to `count` sleepers if nobody is searching.
    #[inline]
    pub(crate) fn notify_work(&self, count: usize) {
        // P2: order the publication of the work (P1, before this call)
        // before reading the sleep state. Pairs with the fence in S2.
        fence(Ordering::SeqCst);
        let state = self.state.load(Ordering::Relaxed);
        if searching(state) == 0 && sleeping(state) > 0 {
            self.wake(count.min(sleeping(state) as usize));
        }
    }

    /// Publisher side for work only slot `index` may take (an affine job
    /// in its mailbox): wakes that slot if it sleeps, whoever else is
    /// searching. The slot's sleep re-check (S3) must look at that work.
    pub(crate) fn notify_slot(&self, index: usize) {
        // P2, as in `notify_work`.
        fence(Ordering::SeqCst);
        if self.claim(&self.slots[index]) {
            crate::observe::event(crate::observe::Event::Wake { slot: index });
        }
    }

    #[cold]
    fn wake(&self, mut count: usize) {
        // P3: claim sleepers one by one. A failed claim means another waker
        // or the sleeper itself got there first. The one in the event
        // driver last (a hint: read relaxed, any order still wakes enough).
        let driving = self.driving.load(Ordering::Relaxed);
        for (i, slot) in self.slots.iter().enumerate() {
            if count == 0 {
                return;
            }
            if i != driving && self.claim(slot) {
                crate::observe::event(crate::observe::Event::Wake { slot: i });
                count -= 1;
            }
        }
        if count > 0 && driving != NO_DRIVER && self.claim(&self.slots[driving]) {
            crate::observe::event(crate::observe::Event::Wake { slot: driving });
        }
    }

    /// P3 for one slot: moves it from sleeping to searching and unparks it,
    /// if it is asleep and no one else claims it first.
    fn claim(&self, slot: &SleepSlot) -> bool {
        if slot.status.load(Ordering::Relaxed) == ASLEEP
            && slot
                .status
                .compare_exchange(ASLEEP, CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            // The claimed thread wakes as a searcher, so the next
            // publisher sees someone searching and wakes nobody else.
            self.state
                .fetch_add(SEARCHING_ONE.wrapping_sub(SLEEPING_ONE), Ordering::AcqRel);
            // Release: a sleeper that sees `AWAKE` sees the counts right.
            slot.status.store(AWAKE, Ordering::Release);
            slot.parker.unpark();
            true
        } else {
            false
        }
    }

    /// Wakes every sleeper (shutdown). The caller has published its reason
    /// (the terminate flag) before this call.
    pub(crate) fn wake_all(&self) {
        fence(Ordering::SeqCst);
        self.wake(usize::MAX);
    }

    /// Sleeper side (S1–S4). The caller is counted as searching and has
    /// found nothing. `has_work` re-checks every queue, the terminate flag and
    /// whatever the caller waits for. Returns with the caller counted as
    /// searching again.
    #[cold]
    pub(crate) fn sleep(&self, index: usize, has_work: impl Fn() -> bool) {
        self.sleep_with(index, has_work, Parker::park);
    }

    /// `sleep`, parking through `park` (the event driver's wait, for the
    /// one sleeper that drives it): S4 may then also end on an event or
    /// a timer, which the caller's next round handles.
    #[cold]
    pub(crate) fn sleep_with(
        &self,
        index: usize,
        has_work: impl Fn() -> bool,
        park: impl FnOnce(&Parker),
    ) {
        let slot = &self.slots[index];
        // S1: announce: flag first, then the count (release publishes the
        // flag to a waker that reads the count).
        slot.status.store(ASLEEP, Ordering::Relaxed);
        self.state
            .fetch_add(SLEEPING_ONE.wrapping_sub(SEARCHING_ONE), Ordering::AcqRel);
        // S2: order the announcement before the re-check. Pairs with P2.
        fence(Ordering::SeqCst);
        // S3: re-check. Any work published before a publisher's P2 that
        // came after our S2 is visible here.
        if has_work() {
            self.unregister(slot);
            return;
        }
        // S4: sleep until claimed by `wake` or unparked by a latch.
        park(&slot.parker);
        self.unregister(slot);
    }

    /// Leaves the sleeping state: ourselves if no waker claimed us, else
    /// by waiting (a few instructions) for the claiming waker to finish the
    /// transition, so the counts are right when we go on.
    fn unregister(&self, slot: &SleepSlot) {
        loop {
            match slot
                .status
                .compare_exchange(ASLEEP, AWAKE, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.state
                        .fetch_add(SEARCHING_ONE.wrapping_sub(SLEEPING_ONE), Ordering::AcqRel);
                    return;
                }
                Err(AWAKE) => return,
                Err(_) => spin_loop(), // CLAIMED: the waker is mid-way
            }
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
