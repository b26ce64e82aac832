//! The second halves of a worker's active `join`s, kept off its public
//! deque: pushed and popped by the owner with plain stores and no CPU
//! fence, yet never out of reach of an idle thread.
//!
//! # Why
//!
//! A `join` that nobody steals should cost about a function call. Pushing
//! its second half on the Chase-Lev deque costs a `SeqCst` fence in the
//! owner's pop, every time. So halves go here instead, and reach thieves
//! two ways:
//!
//! - *promotion*: while some thread is idle, the owner moves its oldest
//!   hidden half to its public deque at the next fork or wait (cheap: it
//!   is the owner's own CAS, see `WorkerLocal::promote_if_starved`);
//! - *hidden steals*: an idle thread that found nothing public, before it
//!   sleeps, takes the oldest hidden half itself, even from a worker that
//!   never calls into the pool again (blocked on a barrier, in a long
//!   loop). That is the visibility guarantee: work is never hidden from an
//!   idle thread for longer than its search takes.
//!
//! # Algorithm
//!
//! A Chase-Lev deque (D. Chase, Y. Lev, *Dynamic Circular Work-Stealing
//! Deque*, SPAA 2005, with the C11 orderings of N. M. Lê et al., PPoPP
//! 2013) over a fixed ring, with two changes:
//!
//! 1. Its owner-thief handshake (owner: store `bottom`, fence, load `top`;
//!    thief: load `top`, fence, load `bottom`) uses an asymmetric fence
//!    (`util/asym.rs`): a compiler fence for the owner, a process-wide
//!    barrier for the thief, on Linux (elsewhere `SeqCst` fences on both
//!    sides; where the kernel refuses the barrier, no hidden steals, and
//!    promotion alone feeds thieves). Hidden steals are rare (only an
//!    otherwise idle thread makes one, once per search), so their cost
//!    does not matter; the owner's pop costs plain loads and stores.
//! 2. The owner pops the entry of a given join (`pop`), not whatever is
//!    newest. Joins nest, so that entry is the newest one unless it was
//!    taken. Entries are taken oldest first, so "taken" is simply
//!    `top > index`, and when the owner finds its entry taken it leaves
//!    `bottom` at `top` (empty) instead of below it; an outer join then
//!    sees `bottom != index + 1` and knows its entry went too.
//!
//! Indices only grow (wrapping arithmetic), slots are `index & MASK`; a
//! push that would wrap onto a live entry is refused (the join then goes
//! to the public deque).
//!
//! # Contexts
//!
//! With fibers, several contexts of one worker have active joins. A
//! context that switches away first promotes every hidden entry it has
//! (`WorkerLocal::switch_to`), so only the running context ever has hidden
//! entries, and a resumed context finds its entries taken (`top` is past
//! them) and waits for their jobs instead.

use core::ptr::{self, NonNull};

use crate::facade::{AtomicPtr, AtomicUsize, Ordering};
use crate::job::{JobHeader, JobRef};
use crate::util::{asym, CachePadded};

/// Ring size: how many joins deep a worker keeps halves hidden; deeper
/// ones go straight to the public deque.
pub(crate) const CAPACITY: usize = if cfg!(loom) { 4 } else { 256 };
const MASK: usize = CAPACITY - 1;
const _: () = assert!(CAPACITY.is_power_of_two());

/// The ring and its ends. Lives inside its owner (in the worker's own
/// state, so the owner's push and pop touch no memory but its own), and
/// thieves reach it through the pointer in their [`Thief`].
struct Ring {
    /// Index of the oldest entry not taken. Only grows; moved by CAS
    /// (thieves, and the owner for promotion and for its last entry).
    top: CachePadded<AtomicUsize>,
    /// One past the newest entry. Written only by the owner.
    bottom: CachePadded<AtomicUsize>,
    slots: [AtomicPtr<JobHeader>; CAPACITY],
}

/// The owner's end: the ring itself. Not `Sync`: one thread at a time.
/// It must not move once a [`Thief`] is attached to it (it lives in a
/// boxed `WorkerLocal`).
pub(crate) struct Owner {
    ring: Ring,
    /// A lower bound of `top` (which only grows), enough for `push`'s room
    /// check without reading thieves' line: refreshed only when that
    /// check fails.
    top_seen: core::cell::Cell<usize>,
}

/// A thief's handle: where the owner's ring is (null until attached).
pub(crate) struct Thief {
    ring: AtomicPtr<Ring>,
}

// SAFETY: the ring is atomics; `top_seen` is the owner's own hint, used by
// the one thread that owns it at a time (the type is not `Sync`).
unsafe impl Send for Owner {}

impl Default for Owner {
    fn default() -> Self {
        Self::new()
    }
}

impl Owner {
    /// An empty ring.
    pub(crate) fn new() -> Self {
        Self {
            ring: Ring {
                top: CachePadded::new(AtomicUsize::new(0)),
                bottom: CachePadded::new(AtomicUsize::new(0)),
                slots: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            },
            top_seen: core::cell::Cell::new(0),
        }
    }

    /// `bottom`: only the owner writes it, so a relaxed load reads the
    /// owner's own last store.
    #[inline(always)]
    fn bottom(&self) -> usize {
        self.ring.bottom.load(Ordering::Relaxed)
    }

    /// Stores `bottom`. Release: a thief that reads it sees the slots and
    /// the jobs below it.
    #[inline(always)]
    fn set_bottom(&self, b: usize) {
        self.ring.bottom.store(b, Ordering::Release);
    }

    /// Pushes `job`; returns its index, or `None` if the ring is full.
    #[inline(always)]
    pub(crate) fn push(&self, job: JobRef) -> Option<usize> {
        let b = self.bottom();
        // A stale (smaller) `top` only makes us refuse early.
        if b.wrapping_sub(self.top_seen.get()) >= CAPACITY && !self.room_after_all(b) {
            return None;
        }
        self.ring.slots[b & MASK].store(job.into_raw().as_ptr(), Ordering::Relaxed);
        self.set_bottom(b.wrapping_add(1));
        Some(b)
    }

    /// `push` found the ring full by `top_seen`: reads the real `top`.
    #[cold]
    fn room_after_all(&self, b: usize) -> bool {
        let t = self.ring.top.load(Ordering::Relaxed);
        self.top_seen.set(t);
        b.wrapping_sub(t) < CAPACITY
    }

    /// After a join's first half: true, with the entry removed, if entry
    /// `index` (pushed by this join) is still here; false if it was taken
    /// (promoted, or stolen), and then the join waits for its job.
    #[inline(always)]
    pub(crate) fn pop(&self, index: usize) -> bool {
        let ring = &self.ring;
        // Joins nest, so `bottom` is `index + 1` here, unless an inner
        // join found its entry taken and left `bottom` at `top`, past
        // ours; then `top > index` below, and ours was taken too (oldest
        // first). No need to tell the cases apart before the store.
        debug_assert!(
            self.bottom() == index.wrapping_add(1)
                || ring.top.load(Ordering::Relaxed).wrapping_sub(index) as isize > 0,
            "hidden deque: unbalanced join nesting"
        );
        self.set_bottom(index);
        // The store above must not pass the load below: Dekker with the
        // thief's `steal` (the compiler fence here, the barrier there).
        asym::light();
        let t = ring.top.load(Ordering::Relaxed);
        let ahead = index.wrapping_sub(t) as isize;
        if ahead > 0 {
            // Older entries remain: no thief can reach ours.
            return true;
        }
        if ahead == 0 {
            // Ours is the last one: race the thieves for it.
            let won = ring
                .top
                .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
                .is_ok();
            self.set_bottom(index.wrapping_add(1));
            return won;
        }
        // Taken: leave the deque empty at `top`.
        self.set_bottom(t);
        false
    }

    /// True if there may be an entry to promote (exact for the owner but
    /// for thieves taking one meanwhile).
    #[inline(always)]
    pub(crate) fn has_entries(&self) -> bool {
        let t = self.ring.top.load(Ordering::Relaxed);
        self.bottom().wrapping_sub(t) as isize > 0
    }

    /// Takes the oldest entry, for promotion to the public deque. The
    /// owner does not move `bottom` here, so it does not race itself; a
    /// thief racing for the same entry loses or wins the CAS.
    pub(crate) fn take_oldest(&self) -> Option<JobRef> {
        let ring = &self.ring;
        loop {
            // Acquire: pairs with a thief's CAS, so the slot we read below
            // is not one a thief took and we then reused.
            let t = ring.top.load(Ordering::Acquire);
            if self.bottom().wrapping_sub(t) as isize <= 0 {
                return None;
            }
            let p = ring.slots[t & MASK].load(Ordering::Relaxed);
            if ring
                .top
                .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: a claimed index below `bottom` holds a `JobRef`
                // the owner pushed (only it writes slots).
                return Some(unsafe { JobRef::from_raw(NonNull::new_unchecked(p)) });
            }
        }
    }

    /// True if no join is active on this slot's running context.
    pub(crate) fn is_empty(&self) -> bool {
        !self.has_entries()
    }
}

/// What a hidden steal found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stolen {
    Empty,
    Job(JobRef),
    /// Lost a race; trying again may succeed.
    Retry,
}

impl Default for Thief {
    fn default() -> Self {
        Self::new()
    }
}

impl Thief {
    /// A handle attached to no ring yet (steals find it empty).
    pub(crate) fn new() -> Self {
        Self {
            ring: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Points this handle at `owner`'s ring.
    ///
    /// # Safety
    ///
    /// `owner` stays where it is, alive, for as long as any thread may
    /// use this handle (in the pool: a slot's boxed state lives until
    /// after the last search of any slot, see `Registry`).
    pub(crate) unsafe fn attach(&self, owner: &Owner) {
        let ring = ptr::from_ref(&owner.ring).cast_mut();
        // Release: a thief that reads the pointer sees the ring built.
        self.ring.store(ring, Ordering::Release);
    }

    fn ring(&self) -> Option<&Ring> {
        // SAFETY: `attach`'s contract: the ring is alive and in place.
        unsafe { self.ring.load(Ordering::Acquire).as_ref() }
    }

    /// True if the owner looked like it had hidden entries (a cheap hint,
    /// two relaxed loads: whether a hidden steal is worth its barrier).
    pub(crate) fn looks_nonempty(&self) -> bool {
        let Some(ring) = self.ring() else {
            return false;
        };
        let t = ring.top.load(Ordering::Relaxed);
        let b = ring.bottom.load(Ordering::Relaxed);
        b.wrapping_sub(t) as isize > 0
    }

    /// Takes the oldest hidden entry. Expensive: a process-wide barrier.
    /// Call only where `asym::slow_side_allowed()`.
    pub(crate) fn steal(&self) -> Stolen {
        let Some(ring) = self.ring() else {
            return Stolen::Empty;
        };
        let t = ring.top.load(Ordering::Acquire);
        // Pairs with the owner's light fence in `pop`.
        asym::heavy();
        let b = ring.bottom.load(Ordering::Acquire);
        if b.wrapping_sub(t) as isize <= 0 {
            return Stolen::Empty;
        }
        let p = ring.slots[t & MASK].load(Ordering::Relaxed);
        if ring
            .top
            .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return Stolen::Retry;
        }
        // SAFETY: the claimed slot held a pushed `JobRef` (the acquire of
        // `bottom` above orders its write before our read).
        Stolen::Job(unsafe { JobRef::from_raw(NonNull::new_unchecked(p)) })
    }
}

/// An owner on the heap, for tests: held through a raw pointer, like a
/// slot's state (`worker::SlotBox`), because moving a `Box` would assert
/// unique access and invalidate the thief's pointer into it.
#[cfg(test)]
struct TestOwner(NonNull<Owner>);

#[cfg(test)]
impl core::ops::Deref for TestOwner {
    type Target = Owner;
    fn deref(&self) -> &Owner {
        // SAFETY: from `Box::leak` in `pair`, freed only in `drop`.
        unsafe { self.0.as_ref() }
    }
}

#[cfg(test)]
impl Drop for TestOwner {
    fn drop(&mut self) {
        // SAFETY: from `Box::leak` in `pair`, reclaimed once.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// An owner and a thief attached to it, for tests.
#[cfg(test)]
fn pair() -> (TestOwner, Thief) {
    let o = TestOwner(NonNull::from(Box::leak(Box::new(Owner::new()))));
    let t = Thief::new();
    // SAFETY: the owner stays in place until `TestOwner` drops; tests drop
    // the thief first or use both only while the owner lives.
    unsafe { t.attach(&o) };
    (o, t)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::job::{JobHeader, Priority};

    unsafe fn nothing(_: NonNull<JobHeader>) {}

    fn jobs(n: usize) -> Vec<JobHeader> {
        (0..n).map(|_| JobHeader::new(nothing)).collect()
    }

    fn r(h: &JobHeader) -> JobRef {
        // SAFETY: the header outlives the test and is never executed.
        unsafe { JobRef::new(NonNull::from(h), Priority::Normal) }
    }

    #[test]
    fn nested_pushes_pop_back_in_order() {
        let hs = jobs(3);
        let (o, t) = pair();
        let i0 = o.push(r(&hs[0])).unwrap();
        let i1 = o.push(r(&hs[1])).unwrap();
        let i2 = o.push(r(&hs[2])).unwrap();
        assert!(t.looks_nonempty());
        assert!(o.pop(i2));
        assert!(o.pop(i1));
        assert!(o.pop(i0));
        assert!(o.is_empty() && !t.looks_nonempty());
    }

    #[test]
    fn taken_entries_make_their_joins_wait() {
        if !crate::util::asym::slow_side_allowed() {
            return; // No hidden steals in this process.
        }
        let hs = jobs(3);
        let (o, t) = pair();
        let i0 = o.push(r(&hs[0])).unwrap();
        let i1 = o.push(r(&hs[1])).unwrap();
        // A thief takes the oldest, the owner promotes the next.
        assert_eq!(t.steal(), Stolen::Job(r(&hs[0])));
        assert_eq!(o.take_oldest(), Some(r(&hs[1])));
        let i2 = o.push(r(&hs[2])).unwrap();
        assert!(o.pop(i2), "pushed after the steals: still ours");
        assert!(!o.pop(i1), "promoted");
        assert!(!o.pop(i0), "stolen");
        // Empty again, and usable.
        let j = o.push(r(&hs[0])).unwrap();
        assert!(o.pop(j));
    }

    #[test]
    fn an_inner_taken_entry_tells_the_outer_ones() {
        if !crate::util::asym::slow_side_allowed() {
            return; // No hidden steals in this process.
        }
        let hs = jobs(2);
        let (o, t) = pair();
        let i0 = o.push(r(&hs[0])).unwrap();
        let i1 = o.push(r(&hs[1])).unwrap();
        assert_eq!(t.steal(), Stolen::Job(r(&hs[0])));
        assert_eq!(t.steal(), Stolen::Job(r(&hs[1])));
        assert!(!o.pop(i1));
        assert!(!o.pop(i0));
        assert!(o.is_empty());
    }

    #[test]
    fn a_full_ring_refuses() {
        let hs = jobs(1);
        let (o, _t) = pair();
        let idx: Vec<usize> = (0..CAPACITY).map(|_| o.push(r(&hs[0])).unwrap()).collect();
        assert!(o.push(r(&hs[0])).is_none());
        for i in idx.into_iter().rev() {
            assert!(o.pop(i));
        }
    }

    #[test]
    fn owner_and_thieves_take_each_entry_once() {
        if !crate::util::asym::slow_side_allowed() {
            return; // No hidden steals in this process.
        }
        use std::sync::atomic::{AtomicBool, AtomicU8};
        let n = if cfg!(miri) { 300 } else { 60_000 };
        let hs = jobs(2 * n);
        let taken: Vec<AtomicU8> = (0..2 * n).map(|_| AtomicU8::new(0)).collect();
        let id = |j: JobRef| {
            (j.header_ptr().as_ptr() as usize - hs.as_ptr() as usize)
                / core::mem::size_of::<JobHeader>()
        };
        let (o, t) = pair();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..2 {
                let (t, stop, taken, id) = (&t, &stop, &taken, &id);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Stolen::Job(j) = t.steal() {
                            taken[id(j)].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            for k in 0..n {
                let i0 = o.push(r(&hs[2 * k])).unwrap();
                let i1 = o.push(r(&hs[2 * k + 1])).unwrap();
                if o.pop(i1) {
                    taken[2 * k + 1].fetch_add(1, Ordering::Relaxed);
                }
                if o.pop(i0) {
                    taken[2 * k].fetch_add(1, Ordering::Relaxed);
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
        for (i, c) in taken.iter().enumerate() {
            assert_eq!(
                c.load(Ordering::Relaxed),
                1,
                "entry {i} taken {} times",
                c.load(Ordering::Relaxed)
            );
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::job::{JobHeader, Priority};
    use loom::thread;

    unsafe fn nothing(_: NonNull<JobHeader>) {}

    fn r(h: &'static JobHeader) -> JobRef {
        // SAFETY: leaked headers, never executed.
        unsafe { JobRef::new(NonNull::from(h), Priority::Normal) }
    }

    fn leaked() -> &'static JobHeader {
        Box::leak(Box::new(JobHeader::new(nothing)))
    }

    /// The owner pops its last hidden entry while a thief steals it: with
    /// symmetric fences (loom cannot model the barrier, so the model
    /// checks the algorithm as the fallback runs it), exactly one of them
    /// gets it.
    ///
    /// Catches: an owner pop that reads `top` before its store of `bottom`
    /// is visible (no fence), a last-entry race decided without the CAS,
    /// and a thief that takes an entry the owner already popped.
    #[test]
    fn last_entry_goes_to_exactly_one() {
        loom::model(|| {
            let h = leaked();
            let (o, t) = pair();
            let i = o.push(r(h)).unwrap();
            let thief = thread::spawn(move || matches!(t.steal(), Stolen::Job(_)));
            let mine = o.pop(i);
            let theirs = thief.join().unwrap();
            assert!(mine != theirs, "owner {mine}, thief {theirs}");
        });
    }

    /// Two nested joins, a thief and the owner's promotion racing: each
    /// entry is taken by exactly one of pop, steal and promotion, and an
    /// outer join whose entry went never claims it.
    ///
    /// Catches: an owner that leaves `bottom` below `top` after finding
    /// its entry taken (the outer pop would then see a stale entry as its
    /// own), and a promotion that does not CAS against thieves.
    #[test]
    fn nested_entries_promotion_and_a_thief() {
        loom::model(|| {
            let (h0, h1) = (leaked(), leaked());
            let (o, t) = pair();
            let i0 = o.push(r(h0)).unwrap();
            let i1 = o.push(r(h1)).unwrap();
            let thief = thread::spawn(move || match t.steal() {
                Stolen::Job(j) => Some(j),
                _ => None,
            });
            let promoted = o.take_oldest();
            let kept1 = o.pop(i1);
            let kept0 = o.pop(i0);
            let stolen = thief.join().unwrap();
            let mut taken = vec![];
            if kept0 {
                taken.push(r(h0));
            }
            if kept1 {
                taken.push(r(h1));
            }
            taken.extend(promoted);
            taken.extend(stolen);
            taken.sort_by_key(|j| j.header_ptr().as_ptr() as usize);
            let mut want = vec![r(h0), r(h1)];
            want.sort_by_key(|j| j.header_ptr().as_ptr() as usize);
            assert_eq!(taken, want, "each entry exactly once");
        });
    }

    /// The Dekker between a joining owner and a thread going idle: the
    /// owner pushes, fences (light) and reads the sleep state; the idle
    /// thread announces itself in the sleep state, fences (heavy) and then
    /// reads the ring (the hint `steal_hidden` scans with). One of them
    /// sees the other: the owner promotes, or the thief finds the entry.
    ///
    /// Catches: reading the hint before the barrier (an earlier
    /// `steal_hidden` did, so a push could stay hidden from a thread that
    /// then slept while its owner ran on without forking).
    #[test]
    fn a_push_and_an_announcement_see_each_other() {
        loom::model(|| {
            let h = leaked();
            let (o, t) = pair();
            let state = crate::facade::Arc::new(AtomicUsize::new(0));
            let idle = {
                let state = state.clone();
                thread::spawn(move || {
                    state.fetch_add(1, Ordering::Relaxed);
                    asym::heavy();
                    t.looks_nonempty()
                })
            };
            o.push(r(h)).unwrap();
            asym::light();
            let saw_idle = state.load(Ordering::Relaxed) != 0;
            let found = idle.join().unwrap();
            assert!(
                saw_idle || found,
                "the push and the announcement missed each other"
            );
        });
    }
}
