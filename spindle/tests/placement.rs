#![cfg(not(loom))]
//! `Placement`: options checked once against a pool, then used by the
//! `_placed` submit methods with nothing left to fail.

use spindle::{Affinity, Counter, Options, Placement, Pool, Priority};
use std::sync::mpsc;

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().expect("pool")
}

#[test]
fn a_priority_is_a_placement_for_every_pool() {
    let (a, b) = (pool(1), pool(2));
    let (tx, rx) = mpsc::channel();
    for p in [&a, &b] {
        for prio in [Priority::High, Priority::Normal, Priority::Low] {
            let tx = tx.clone();
            p.spawn_placed(prio, move || tx.send(prio).unwrap());
        }
    }
    drop(tx);
    let mut got: Vec<_> = rx.iter().collect();
    got.sort_by_key(|p| *p as u8);
    assert_eq!(got.len(), 6);
    assert_eq!(Placement::from(Priority::Low).priority(), Priority::Low);
    assert!(!Placement::from(Priority::High).has_affinity());
    assert_eq!(Placement::default(), Placement::from(Priority::Normal));
}

#[test]
fn an_affine_placement_is_checked_once_and_honoured_every_time() {
    let p = pool(3);
    let only_2 = p
        .placement(
            &Options::new()
                .priority(Priority::High)
                .affinity(Affinity::worker(2)),
        )
        .expect("worker 2 exists");
    assert!(only_2.has_affinity());
    assert_eq!(only_2.priority(), Priority::High);

    let (tx, rx) = mpsc::channel();
    for _ in 0..50 {
        let tx = tx.clone();
        p.spawn_placed(only_2, move || tx.send(spindle::worker_index()).unwrap());
    }
    let counter = Counter::new();
    let tx2 = tx.clone();
    p.dispatch_placed(
        only_2,
        &counter,
        (0..20).map(|_| {
            let tx = tx2.clone();
            move || tx.send(spindle::worker_index()).unwrap()
        }),
    );
    drop(tx2);
    p.wait(&counter);
    let h = p.spawn_async_placed(only_2, async { spindle::worker_index() });
    assert_eq!(h.join().unwrap(), Some(2));
    p.scope(|s| {
        for _ in 0..10 {
            let tx = tx.clone();
            s.spawn_placed(only_2, move |_| tx.send(spindle::worker_index()).unwrap());
        }
    });
    drop(tx);
    let ran_on: Vec<_> = rx.iter().collect();
    assert_eq!(ran_on.len(), 80);
    assert!(ran_on.iter().all(|w| *w == Some(2)), "{ran_on:?}");
}

#[test]
fn a_placement_for_workers_the_pool_lacks_is_an_error() {
    let p = pool(2);
    let err = p
        .placement(&Options::new().affinity(Affinity::worker(7)))
        .unwrap_err();
    assert!(
        matches!(
            err,
            spindle::Error::NoSuchWorker {
                worker: 7,
                workers: 2
            }
        ),
        "{err:?}"
    );
    assert!(p
        .placement(&Options::new().affinity(Affinity::workers([])))
        .is_err());
}

#[test]
#[should_panic(expected = "used on a pool other than the one")]
fn an_affine_placement_from_another_pool_panics_instead_of_misplacing() {
    let (a, b) = (pool(2), pool(2));
    let from_a = a
        .placement(&Options::new().affinity(Affinity::worker(1)))
        .unwrap();
    b.spawn_placed(from_a, || {});
}
