#![cfg(not(loom))]
//! `scope`: borrowing, nesting, spawning from inside jobs and from other
//! threads, and panics.

use std::sync::atomic::{AtomicUsize, Ordering};

use spindle::Pool;

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

#[test]
fn every_spawn_runs_before_scope_returns() {
    let p = pool(2);
    let n = if cfg!(miri) { 50 } else { 10_000 };
    let count = AtomicUsize::new(0);
    p.scope(|s| {
        for _ in 0..n {
            s.spawn(|_| {
                count.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    assert_eq!(count.load(Ordering::Relaxed), n);
}

#[test]
fn spawns_borrow_mutably() {
    let p = pool(2);
    let mut data: Vec<u64> = (0..64).collect();
    p.scope(|s| {
        for chunk in data.chunks_mut(8) {
            s.spawn(move |_| chunk.iter_mut().for_each(|x| *x *= 2));
        }
    });
    assert_eq!(data, (0..64).map(|x| x * 2).collect::<Vec<_>>());
}

#[test]
fn nested_spawns_and_nested_scopes() {
    let p = pool(2);
    let count = AtomicUsize::new(0);
    p.scope(|s| {
        for _ in 0..10 {
            s.spawn(|s| {
                for _ in 0..10 {
                    s.spawn(|_| {
                        spindle::scope(|inner| {
                            inner.spawn(|_| {
                                count.fetch_add(1, Ordering::Relaxed);
                            });
                        });
                    });
                }
            });
        }
    });
    assert_eq!(count.load(Ordering::Relaxed), 100);
}

#[test]
fn scope_returns_the_body_value() {
    let p = pool(1);
    assert_eq!(p.scope(|_| 42), 42);
}

#[test]
fn spawn_from_a_foreign_thread() {
    let p = pool(2);
    let count = AtomicUsize::new(0);
    p.scope(|s| {
        std::thread::scope(|ts| {
            ts.spawn(|| {
                for _ in 0..10 {
                    s.spawn(|_| {
                        count.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
        });
    });
    assert_eq!(count.load(Ordering::Relaxed), 10);
}

#[test]
fn panic_in_spawned_job_is_raised_after_all_finish() {
    let p = pool(2);
    let finished = AtomicUsize::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        p.scope(|s| {
            s.spawn(|_| panic!("spawned boom"));
            for _ in 0..100 {
                s.spawn(|_| {
                    finished.fetch_add(1, Ordering::Relaxed);
                });
            }
        })
    }));
    assert_eq!(
        *r.unwrap_err().downcast_ref::<&str>().unwrap(),
        "spawned boom"
    );
    assert_eq!(finished.load(Ordering::Relaxed), 100);
    assert_eq!(p.scope(|_| 7), 7, "the pool still works");
}

#[test]
fn body_panic_wins_and_spawned_panic_goes_to_handler() {
    let handled = std::sync::Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    let p = Pool::builder()
        .workers(1)
        .panic_handler(move |_| {
            h.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        p.scope(|s| {
            s.spawn(|_| panic!("second"));
            // Make sure the spawned job has panicked first.
            while !s_done_hint() {}
            panic!("body");
        })
    }));
    assert_eq!(*r.unwrap_err().downcast_ref::<&str>().unwrap(), "body");
    assert_eq!(handled.load(Ordering::SeqCst), 1);

    fn s_done_hint() -> bool {
        std::thread::sleep(std::time::Duration::from_millis(20));
        true
    }
}
