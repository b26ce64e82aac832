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

/// A node of a tree of scopes `depth` deep, 10 jobs per scope; returns the
/// number of leaves.
fn scope_tree(depth: u32) -> usize {
    if depth == 0 {
        return 1;
    }
    let mut leaves = [0usize; 10];
    spindle::scope(|s| {
        for slot in leaves.iter_mut() {
            s.spawn(move |_| *slot = scope_tree(depth - 1));
        }
    });
    leaves.iter().sum()
}

/// A scope's wait runs its own jobs, newest first: on one worker, a tree
/// of nested scopes keeps at most depth × width jobs in flight, so all of
/// them fit a small job cache (none falls back to the heap), and the wait
/// never needs a second context. Taking older jobs while waiting (the main
/// loop's fairness pick) would nest unrelated subtrees and let the number
/// in flight grow with the tree.
#[test]
fn nested_scopes_on_one_worker_keep_only_their_own_jobs_in_flight() {
    let depth = if cfg!(miri) { 2 } else { 5 };
    for fibers in [0, 64] {
        let p = Pool::builder()
            .workers(1)
            .fibers(fibers)
            .job_capacity(128)
            .build()
            .unwrap();
        // On the worker, so that no other thread takes part.
        let (tx, rx) = std::sync::mpsc::channel();
        p.spawn(move || tx.send(scope_tree(depth)).unwrap());
        assert_eq!(rx.recv().unwrap(), 10usize.pow(depth));
        let stats = p.stats().total();
        assert_eq!(stats.heap_fallbacks, 0, "fibers {fibers}: {stats:?}");
        assert_eq!(stats.fiber_suspends, 0, "fibers {fibers}: {stats:?}");
    }
}
