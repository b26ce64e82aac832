#![cfg(not(loom))]
//! The deque under several thieves: every item is taken exactly once.

mod common;

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use spindle::deque::{self, Steal};

#[test]
fn every_item_taken_exactly_once() {
    let n: usize = if cfg!(miri) { 2_000 } else { 400_000 };
    let thieves = 3;
    // Items are pointers into `items`; each records how often it was taken.
    let items: Arc<Vec<AtomicU8>> = Arc::new((0..n).map(|_| AtomicU8::new(0)).collect());
    let (worker, stealer) = deque::new::<AtomicU8>(64);
    let done = Arc::new(AtomicBool::new(false));

    let handles: Vec<_> = (0..thieves)
        .map(|_| {
            let (s, done) = (stealer.clone(), done.clone());
            std::thread::spawn(move || {
                let mut taken = 0usize;
                loop {
                    match s.steal() {
                        Steal::Success(p) => {
                            // SAFETY: items point into the live `items` vector.
                            unsafe { p.as_ref() }.fetch_add(1, Ordering::Relaxed);
                            taken += 1;
                        }
                        Steal::Retry => {}
                        Steal::Empty if done.load(Ordering::Acquire) => break,
                        Steal::Empty => std::hint::spin_loop(),
                    }
                }
                taken
            })
        })
        .collect();

    let mut owner_taken = 0usize;
    let take = |p: NonNull<AtomicU8>| {
        // SAFETY: as above.
        unsafe { p.as_ref() }.fetch_add(1, Ordering::Relaxed);
    };
    for (i, item) in items.iter().enumerate() {
        let mut p = NonNull::from(item);
        // Full ring: take one ourselves to make room, as the pool would
        // spill; keeps the owner racing thieves at both ends.
        while let Err(back) = worker.push(p) {
            p = back;
            if let Some(q) = worker.pop() {
                take(q);
                owner_taken += 1;
            }
        }
        if i % 3 == 0 {
            if let Some(q) = worker.pop() {
                take(q);
                owner_taken += 1;
            }
        }
    }
    while let Some(q) = worker.pop() {
        take(q);
        owner_taken += 1;
    }
    done.store(true, Ordering::Release);
    let stolen: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();

    let lost = items
        .iter()
        .filter(|c| c.load(Ordering::Relaxed) == 0)
        .count();
    let doubled = items
        .iter()
        .filter(|c| c.load(Ordering::Relaxed) > 1)
        .count();
    println!(
        "deque stress: n={n} owner={owner_taken} stolen={stolen} lost={lost} doubled={doubled}"
    );
    common::report(&[("deque_items", n), ("lost", lost), ("doubled", doubled)]);
    assert_eq!((lost, doubled), (0, 0));
    assert_eq!(owner_taken + stolen, n);
}

#[test]
fn drain_oldest_racing_thieves() {
    let rounds = if cfg!(miri) { 20 } else { 2_000 };
    for _ in 0..rounds {
        let items: Vec<AtomicU8> = (0..16).map(|_| AtomicU8::new(0)).collect();
        let (worker, stealer) = deque::new::<AtomicU8>(16);
        for it in &items {
            worker.push(NonNull::from(it)).unwrap();
        }
        let mut drained = Vec::new();
        std::thread::scope(|s| {
            let st = &stealer;
            let thief = s.spawn(move || {
                let mut got = Vec::new();
                for _ in 0..8 {
                    if let Steal::Success(p) = st.steal() {
                        got.push(p.addr().get());
                    }
                }
                got
            });
            worker.drain_oldest(8, &mut drained);
            while let Some(p) = worker.pop() {
                drained.push(p);
            }
            let mut all: Vec<usize> = thief.join().unwrap();
            all.extend(drained.iter().map(|p| p.addr().get()));
            let taken = all.len();
            all.sort();
            all.dedup();
            assert_eq!(
                (taken, all.len()),
                (16, 16),
                "an item was lost or taken twice"
            );
        });
    }
}
