//! More loom models of the Chase-Lev deque (see `loom_deque.rs` for the
//! first five): empty deques, full rings, batch drains, the owner taking
//! its oldest items, `Retry`, slots
//! reused after wrap-around, and the hand-over of what an item points to.
//! Each model says which bug it would catch.
//!
//! Run with the other loom models:
//! `RUSTFLAGS="--cfg loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2
//! CARGO_TARGET_DIR=target/loom cargo test -p spindle --release --lib --tests`.
#![cfg(loom)]

use std::ptr::NonNull;

use loom::cell::UnsafeCell;
use loom::thread;
use spindle::deque::{self, Steal};

mod loom_common;
use loom_common::*;

/// The owner pops an empty deque while a thief steals from it, then pushes
/// one item and pops again, racing the same thief for it. Afterwards the
/// deque is empty and its length 0.
///
/// Catches: a pop of an empty deque that moves `bottom` below `top` and
/// does not restore it (the thief then sees a phantom item and takes a null
/// slot, or the later push lands at the wrong index), and a steal that
/// reports `Success` on an empty deque.
#[test]
fn pop_and_steal_on_an_empty_deque() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(2);
        let s2 = s.clone();
        let thief = thread::spawn(move || {
            let a = steal_once(&s2);
            let b = steal_once(&s2);
            a.into_iter().chain(b).collect::<Vec<_>>()
        });
        assert_eq!(w.pop(), None);
        w.push(item(1)).unwrap();
        let mut all: Vec<usize> = w.pop().map(id).into_iter().collect();
        all.extend(thief.join().unwrap());
        assert_exactly_once(all, 1);
        assert!(w.is_empty() && s.is_empty());
        assert_eq!(w.len(), 0);
        assert_eq!(s.steal(), Steal::Empty);
    });
}

/// The owner pushes two items while two thieves are already stealing,
/// then pops one (three threads). Every item is taken exactly once.
///
/// Catches: a push that publishes `bottom` before the slot (a thief takes
/// a null slot), a steal whose CAS does not decide ownership (two thieves
/// take one item), and a pop that takes an item a thief already claimed.
#[test]
fn owner_pushes_while_two_thieves_steal() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(2);
        let s2 = s.clone();
        let t1 = thread::spawn(move || steal_once(&s));
        let t2 = thread::spawn(move || steal_once(&s2));
        w.push(item(1)).unwrap();
        w.push(item(2)).unwrap();
        let mut all: Vec<usize> = w.pop().map(id).into_iter().collect();
        all.extend(t1.join().unwrap());
        all.extend(t2.join().unwrap());
        pop_all(&w, &mut all);
        assert_exactly_once(all, 2);
    });
}

/// A ring of one slot: while a thief steals item 1, the owner pushes
/// item 2. The push either fails and hands item 2 back (the ring was
/// still full), or succeeds only once the thief's claim of item 1 is
/// visible, so the slot is reused after the thief read it. Nothing is
/// lost or doubled.
///
/// Catches: a full check that is off by one or reads a stale `top`
/// (item 2 overwrites item 1 before it is stolen: 1 is lost and 2 taken
/// twice), and an `Err` that returns a different item than the one pushed.
#[test]
fn push_to_a_full_ring_gives_the_item_back() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(1);
        w.push(item(1)).unwrap();
        let thief = thread::spawn(move || steal_once(&s));
        yield_to_thieves();
        let mut all = Vec::new();
        match w.push(item(2)) {
            Ok(()) => {}
            Err(p) => {
                assert_eq!(p, item(2), "push gave back another item");
                all.push(2); // the pool would send it to the injector
            }
        }
        all.extend(thief.join().unwrap());
        pop_all(&w, &mut all);
        assert_exactly_once(all, 2);
    });
}

/// The owner's overflow path racing a thief: it drains the two oldest of
/// three items and then pops what is left, the last item racing the thief.
/// (`drain_oldest` and `pop` are both owner-only, so they cannot race each
/// other; each of them races the thief.)
///
/// Catches: a drain whose claim of `top` is not a CAS (it and the thief
/// both take item 1), a drain that keeps its copied items after losing
/// the CAS, and a pop after a drain that misjudges the last item.
#[test]
fn drain_oldest_then_pop_racing_a_thief() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(4);
        for i in 1..=3 {
            w.push(item(i)).unwrap();
        }
        let thief = thread::spawn(move || steal_once(&s));
        let mut out = Vec::new();
        let n = w.drain_oldest(2, &mut out);
        assert_eq!(n, out.len());
        let mut all: Vec<usize> = out.into_iter().map(id).collect();
        pop_all(&w, &mut all);
        all.extend(thief.join().unwrap());
        assert_exactly_once(all, 3);
    });
}

/// The owner takes its oldest items (`pop_oldest`, what a worker does
/// after a task yielded) while a thief steals, then pops the rest: every
/// item is taken exactly once.
///
/// Catches: a `pop_oldest` that claims `top` with a plain store instead of
/// a CAS (it and the thief both take item 1), one that returns its item
/// after losing the CAS, and one that gives up after a lost CAS while
/// items remain.
#[test]
fn pop_oldest_racing_a_thief() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(4);
        for i in 1..=3 {
            w.push(item(i)).unwrap();
        }
        let thief = thread::spawn(move || steal_once(&s));
        yield_to_thieves();
        let mut all: Vec<usize> = w.pop_oldest().map(id).into_iter().collect();
        all.extend(w.pop_oldest().map(id));
        pop_all(&w, &mut all);
        all.extend(thief.join().unwrap());
        assert_exactly_once(all, 3);
    });
}

/// Two thieves race for two items; a thief that gets `Retry` (its CAS on
/// `top` lost) tries again until `Success` or `Empty`. Both items are
/// taken exactly once, and `Retry` is only ever a transient answer: the
/// retry loop always ends.
///
/// Catches: a steal that moves `top` and still reports `Retry` (an item
/// lost), one that reports `Success` after a failed CAS (an item doubled),
/// and a `Retry` returned with nobody else making progress (a thief spins
/// forever: loom reports the model as not terminating).
#[test]
fn retry_is_retried_to_completion() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(2);
        w.push(item(1)).unwrap();
        w.push(item(2)).unwrap();
        let s2 = s.clone();
        let t1 = thread::spawn(move || steal_once(&s));
        let t2 = thread::spawn(move || steal_once(&s2));
        let mut all: Vec<usize> = t1.join().unwrap().into_iter().collect();
        all.extend(t2.join().unwrap());
        pop_all(&w, &mut all);
        assert_exactly_once(all, 2);
    });
}

/// Indices go round a ring of two slots twice: a thief steals twice while
/// the owner pops once and pushes three more items (keeping any the full
/// ring gives back), so slots are rewritten while the thief may still be
/// reading them at an older index.
///
/// Catches: slot indexing that does not mask (or masks with the wrong
/// size), a push that overwrites a slot a thief has read but not yet
/// claimed, and a length computed from `bottom` and `top` that breaks once
/// they pass the capacity.
#[test]
fn wrap_around_twice_after_steals() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(2);
        w.push(item(1)).unwrap();
        w.push(item(2)).unwrap();
        let thief = thread::spawn(move || {
            let a = steal_once(&s);
            let b = steal_once(&s);
            a.into_iter().chain(b).collect::<Vec<_>>()
        });
        yield_to_thieves();
        let mut all: Vec<usize> = w.pop().map(id).into_iter().collect();
        for i in 3..=5 {
            if w.push(item(i)).is_err() {
                all.push(i);
            }
        }
        assert!(w.len() <= w.capacity());
        all.extend(thief.join().unwrap());
        pop_all(&w, &mut all);
        assert_exactly_once(all, 5);
    });
}

/// What an item points to travels with it: the owner writes a value into
/// a cell and pushes a pointer to it; the thief that steals the pointer
/// reads the cell. Loom checks that read for a happens-before edge with
/// the write.
///
/// Catches: a push whose store of `bottom` is not a release, or a steal
/// whose load of `bottom` is not an acquire: the thief's read of the job
/// races the owner's write of it.
#[test]
fn stolen_item_payload_is_visible() {
    loom::model(|| {
        let cells: Vec<Box<UnsafeCell<usize>>> =
            (0..2).map(|_| Box::new(UnsafeCell::new(0))).collect();
        let ptrs: Vec<NonNull<UnsafeCell<usize>>> =
            cells.iter().map(|c| NonNull::from(&**c)).collect();
        let (w, s) = deque::new::<UnsafeCell<usize>>(2);
        let thief = thread::spawn(move || match s.steal() {
            // SAFETY: the cells outlive the thief (joined below); the
            // stolen item is this thread's alone.
            Steal::Success(p) => Some(unsafe { p.as_ref() }.with(|v| unsafe { *v })),
            _ => None,
        });
        for (i, &p) in ptrs.iter().enumerate() {
            // SAFETY: not pushed yet, so only this thread can reach it.
            unsafe { p.as_ref() }.with_mut(|v| unsafe { *v = i + 1 });
            w.push(p).unwrap();
        }
        let stolen = thief.join().unwrap();
        let mut seen: Vec<usize> = stolen.into_iter().collect();
        while let Some(p) = w.pop() {
            // SAFETY: popped, so ours; the cells are alive.
            seen.push(unsafe { p.as_ref() }.with(|v| unsafe { *v }));
        }
        assert_exactly_once(seen, 2);
        drop(cells);
    });
}

/// A thief that reads `bottom` as written by `pop` (a relaxed store) must
/// still see the slot written by the push before that pop. The owner
/// pushes and pops so that slot 0 is written on two laps of the ring and
/// then pops with more than one item left, which stores `bottom` relaxed
/// and returns without restoring it; the thief, arriving after, reads
/// that value of `bottom` and steals the item of slot 1.
///
/// Catches: a push that publishes its slot with a release *store* of
/// `bottom` instead of a release fence and a relaxed store. A relaxed
/// store heads no release sequence, so a thief that reads `pop`'s value
/// does not synchronise with the push and may read the slot's old value
/// (here the null it was created with; in the pool, an item from the
/// previous lap, taken twice while this one is lost).
#[test]
fn thief_reading_bottom_from_pop_sees_the_pushed_slot() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(2);
        let thief = thread::spawn(move || steal_once(&s));
        let mut all = Vec::new();
        w.push(item(1)).unwrap();
        all.extend(w.pop().map(id)); // the last item: CAS on `top`
        w.push(item(2)).unwrap(); // slot 1
        w.push(item(3)).unwrap(); // slot 0, second lap
        all.extend(w.pop().map(id)); // relaxed store of `bottom`, no restore
        all.extend(thief.join().unwrap());
        pop_all(&w, &mut all);
        assert_exactly_once(all, 3);
    });
}
