#![cfg(not(loom))]
//! `Counter` with `dispatch` and `wait`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use spindle::{Counter, Pool};

#[test]
fn dispatch_then_wait_from_outside() {
    let p = Pool::builder().workers(2).build().unwrap();
    let c = Counter::new();
    let sum = Arc::new(AtomicUsize::new(0));
    let n = if cfg!(miri) { 20 } else { 5000 };
    p.dispatch(
        &c,
        (0..n).map(|i| {
            let sum = sum.clone();
            move || {
                sum.fetch_add(i, Ordering::Relaxed);
            }
        }),
    );
    p.wait(&c);
    assert!(c.is_done());
    assert_eq!(sum.load(Ordering::Relaxed), n * (n - 1) / 2);
}

#[test]
fn dispatch_from_inside_a_job_and_wait_there() {
    let p = Pool::builder().workers(2).build().unwrap();
    let total = p.install(|| {
        let c = Counter::new();
        let sum = Arc::new(AtomicUsize::new(0));
        for round in 0..10 {
            p.dispatch(
                &c,
                (0..100).map(|_| {
                    let sum = sum.clone();
                    move || {
                        sum.fetch_add(round, Ordering::Relaxed);
                    }
                }),
            );
        }
        p.wait(&c);
        sum.load(Ordering::Relaxed)
    });
    assert_eq!(total, 100 * 45);
}

#[test]
fn wait_on_empty_counter_returns() {
    let p = Pool::builder().workers(1).build().unwrap();
    let c = Counter::new();
    p.dispatch(&c, Vec::<fn()>::new());
    p.wait(&c);
}

#[test]
fn first_panic_is_raised_by_wait_once() {
    let handled = Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    let p = Pool::builder()
        .workers(2)
        .panic_handler(move |_| {
            h.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let c = Counter::new();
    let ran = Arc::new(AtomicUsize::new(0));
    p.dispatch(
        &c,
        (0..100).map(|i| {
            let ran = ran.clone();
            move || {
                ran.fetch_add(1, Ordering::SeqCst);
                if i % 25 == 0 {
                    panic!("job {i}");
                }
            }
        }),
    );
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.wait(&c)));
    assert!(r.is_err());
    assert_eq!(ran.load(Ordering::SeqCst), 100);
    // 4 panics: one raised by `wait`, three to the handler.
    assert_eq!(handled.load(Ordering::SeqCst), 3);
    // Raised once: waiting again is clean.
    p.wait(&c);
}

#[test]
fn waiting_from_a_second_outside_thread() {
    let p = Arc::new(Pool::builder().workers(2).build().unwrap());
    let c = Counter::new();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    p.dispatch(&c, [move || rx.recv().unwrap()]);
    let (p2, c2) = (p.clone(), c.clone());
    let waiter = std::thread::spawn(move || p2.wait(&c2));
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(!c.is_done());
    tx.send(()).unwrap();
    p.wait(&c);
    waiter.join().unwrap();
}

/// A counter used round after round, as a frame loop does: each round
/// raises it, an outside thread marks the round done and completes it,
/// and the wait must not return before that round's completion. A wait
/// that saw zero while the previous completion was still waking its
/// waiters once let that late wake release the next round's waiter early
/// (a task graph run returned with one node of four run).
#[test]
fn a_reused_counter_never_releases_a_later_rounds_wait() {
    let p = Arc::new(Pool::builder().workers(2).build().unwrap());
    let rounds = if cfg!(miri) { 50 } else { 20_000 };
    let pairs = if cfg!(miri) { 2 } else { 4 };
    let waiters: Vec<_> = (0..pairs)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || {
                let c = Counter::new();
                let done = Arc::new(AtomicUsize::new(0));
                let (tx, rx) = std::sync::mpsc::channel::<usize>();
                let completer = {
                    let (c, done) = (c.clone(), done.clone());
                    std::thread::spawn(move || {
                        for round in rx {
                            done.store(round, Ordering::Release);
                            c.complete();
                        }
                    })
                };
                for round in 1..=rounds {
                    c.add(1);
                    tx.send(round).unwrap();
                    p.wait(&c);
                    let seen = done.load(Ordering::Acquire);
                    assert_eq!(seen, round, "the wait of round {round} returned early");
                }
                drop(tx);
                completer.join().unwrap();
            })
        })
        .collect();
    for w in waiters {
        w.join().unwrap();
    }
}
