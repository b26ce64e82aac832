//! Loom models of the Chase-Lev deque: every interleaving (up to the
//! preemption bound) of owner and thieves keeps "each item taken exactly
//! once". Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_deque`.
#![cfg(loom)]

use loom::thread;
use spindle::deque;

mod loom_common;
use loom_common::*;

#[test]
fn last_item_race() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(2);
        w.push(item(1)).unwrap();
        let thief = thread::spawn(move || steal_once(&s));
        let mine = w.pop().map(id);
        let theirs = thief.join().unwrap();
        assert_exactly_once(mine.into_iter().chain(theirs).collect(), 1);
    });
}

#[test]
fn push_pop_steal() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(4);
        w.push(item(1)).unwrap();
        w.push(item(2)).unwrap();
        let thief = thread::spawn(move || steal_once(&s));
        let mut mine = Vec::new();
        w.push(item(3)).unwrap();
        while let Some(p) = w.pop() {
            mine.push(id(p));
        }
        mine.extend(thief.join().unwrap());
        assert_exactly_once(mine, 3);
    });
}

#[test]
fn two_thieves_and_owner() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(2);
        w.push(item(1)).unwrap();
        w.push(item(2)).unwrap();
        let s2 = s.clone();
        let t1 = thread::spawn(move || steal_once(&s));
        let t2 = thread::spawn(move || steal_once(&s2));
        let mut all: Vec<usize> = w.pop().map(id).into_iter().collect();
        all.extend(t1.join().unwrap());
        all.extend(t2.join().unwrap());
        // Whatever the owner's pop missed is still in the deque.
        while let Some(p) = w.pop() {
            all.push(id(p));
        }
        assert_exactly_once(all, 2);
    });
}

#[test]
fn wrap_around_reuses_slots() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(2);
        w.push(item(1)).unwrap();
        w.push(item(2)).unwrap();
        let thief = thread::spawn(move || {
            let a = steal_once(&s);
            let b = steal_once(&s);
            a.into_iter().chain(b).collect::<Vec<_>>()
        });
        let mut mine = Vec::new();
        if let Some(p) = w.pop() {
            mine.push(id(p));
        }
        // Reuse the freed slot while the thief may still be reading.
        if w.push(item(3)).is_err() {
            mine.push(3); // full: the pool would have kept it elsewhere
        }
        let theirs = thief.join().unwrap();
        while let Some(p) = w.pop() {
            mine.push(id(p));
        }
        mine.extend(theirs);
        assert_exactly_once(mine, 3);
    });
}

#[test]
fn overflow_drain_racing_thief() {
    loom::model(|| {
        let (w, s) = deque::new::<u8>(2);
        w.push(item(1)).unwrap();
        w.push(item(2)).unwrap();
        // Full: the pool's overflow path drains the oldest half.
        assert_eq!(w.push(item(3)), Err(item(3)));
        let thief = thread::spawn(move || steal_once(&s));
        let mut out = Vec::new();
        w.drain_oldest(1, &mut out);
        let mut all: Vec<usize> = out.into_iter().map(id).collect();
        w.push(item(3)).unwrap_or_else(|_| all.push(3));
        while let Some(p) = w.pop() {
            all.push(id(p));
        }
        all.extend(thief.join().unwrap());
        assert_exactly_once(all, 3);
    });
}
