#![cfg(not(loom))]
//! Continuations on counters: `Pool::dispatch_after`, `Counter::add` and
//! `Counter::complete`.

mod common;

use common::within;
use spindle::{Counter, Pool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn jobs_after_a_counter_start_only_once_it_is_zero() {
    within(60, "dispatch_after", || {
        for workers in [1, 2, 4] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _ in 0..if cfg!(miri) { 2 } else { 20 } {
                let (first, second) = (Counter::new(), Counter::new());
                let done_first = Arc::new(AtomicUsize::new(0));
                let early = Arc::new(AtomicUsize::new(0));
                let d = done_first.clone();
                pool.dispatch(
                    &first,
                    (0..16).map(move |_| {
                        let d = d.clone();
                        move || {
                            std::thread::sleep(Duration::from_micros(50));
                            d.fetch_add(1, Ordering::SeqCst);
                        }
                    }),
                );
                let (d, e) = (done_first.clone(), early.clone());
                pool.dispatch_after(
                    &first,
                    &second,
                    (0..8).map(move |_| {
                        let (d, e) = (d.clone(), e.clone());
                        move || {
                            if d.load(Ordering::SeqCst) != 16 {
                                e.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }),
                );
                // Counted at once, before any of them is queued.
                assert!(second.pending() >= 1);
                pool.wait(&second);
                assert_eq!(early.load(Ordering::SeqCst), 0);
                assert!(first.is_done());
            }
        }
    });
}

#[test]
fn a_continuation_on_a_counter_at_zero_is_queued_at_once() {
    within(30, "at zero", || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (idle, done) = (Counter::new(), Counter::new());
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        pool.dispatch_after(
            &idle,
            &done,
            [move || {
                r.fetch_add(1, Ordering::SeqCst);
            }],
        );
        pool.wait(&done);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        // An empty batch changes nothing.
        pool.dispatch_after(&idle, &done, Vec::<fn()>::new());
        assert!(done.is_done());
    });
}

#[test]
fn a_hand_kept_count_releases_waiters_and_continuations() {
    within(30, "add/complete", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let (loads, after) = (Counter::new(), Counter::new());
        loads.add(3);
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        pool.dispatch_after(
            &loads,
            &after,
            [move || {
                r.fetch_add(1, Ordering::SeqCst);
            }],
        );
        let threads: Vec<_> = (0..3)
            .map(|i| {
                let loads = loads.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5 * i));
                    loads.complete();
                })
            })
            .collect();
        pool.wait(&after);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert!(loads.is_done());
        threads.into_iter().for_each(|t| t.join().unwrap());
    });
}

#[test]
#[should_panic(expected = "more often than the count was raised")]
fn completing_below_zero_panics() {
    let c = Counter::new();
    c.add(1);
    c.complete();
    c.complete();
}

#[test]
fn a_panic_before_the_continuation_does_not_stop_it() {
    within(30, "panic", || {
        let pool = Pool::builder()
            .workers(2)
            .panic_handler(|_| {})
            .build()
            .unwrap();
        let (first, second) = (Counter::new(), Counter::new());
        pool.dispatch(&first, [|| panic!("first stage failed")]);
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        pool.dispatch_after(
            &first,
            &second,
            [move || {
                r.fetch_add(1, Ordering::SeqCst);
            }],
        );
        pool.wait(&second);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.wait(&first)))
            .expect_err("the first stage's panic stays with it");
        assert_eq!(err.downcast_ref::<&str>(), Some(&"first stage failed"));
    });
}

#[test]
fn continuations_whose_pool_is_gone_still_run() {
    within(30, "pool dropped", || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (gate, done) = (Counter::new(), Counter::new());
        gate.add(1);
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        pool.dispatch_after(
            &gate,
            &done,
            [move || {
                r.fetch_add(1, Ordering::SeqCst);
            }],
        );
        drop(pool);
        gate.complete();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert!(done.is_done());
    });
}
