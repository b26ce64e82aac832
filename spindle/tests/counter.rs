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
