#![cfg(not(loom))]
//! A `join`'s second half is visible to idle threads while the first half
//! runs, whatever the first half does: blocks on a barrier the second half
//! must reach, spins, or never calls into the pool again. Each test has a
//! watchdog, so a hidden half fails the test instead of hanging it.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

use common::within;
use spindle::{Affinity, Options, Pool};

/// Runs `f` as a job on a worker of `pool` and returns its result.
fn on_worker<R: Send + 'static>(pool: &Pool, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    pool.spawn(move || tx.send(f()).unwrap());
    rx.recv().unwrap()
}

const TRIES: usize = if cfg!(miri) { 2 } else { 20 };

/// rayon's `join` contract: both halves may meet at a barrier. On a fresh
/// two-worker pool the first half blocks until the second runs, so the
/// second must reach the idle worker.
#[test]
fn halves_meet_at_a_barrier_on_a_fresh_pool() {
    within(60, "join halves at a barrier", || {
        for _ in 0..TRIES {
            let pool = Pool::builder().workers(2).build().unwrap();
            let barrier = Arc::new(Barrier::new(2));
            let b2 = barrier.clone();
            on_worker(&pool, move || {
                spindle::join(
                    || {
                        barrier.wait();
                    },
                    || {
                        b2.wait();
                    },
                )
            });
        }
    });
}

/// The same from an outside thread (the participant slot): an idle worker
/// takes the second half.
#[test]
fn halves_meet_at_a_barrier_from_outside() {
    within(60, "join halves at a barrier, outside caller", || {
        for _ in 0..TRIES {
            let pool = Pool::builder().workers(1).build().unwrap();
            let barrier = Barrier::new(2);
            pool.join(
                || {
                    barrier.wait();
                },
                || {
                    barrier.wait();
                },
            );
        }
    });
}

/// Nested: the outer second half goes to one idle worker, the inner one,
/// forked while the outer was still queued, must reach the other. A rule
/// that only exposes a job at a fork while the deque is empty leaves the
/// inner half hidden once the outer is stolen.
#[test]
fn nested_halves_meet_at_a_barrier() {
    within(60, "nested join halves at a barrier", || {
        for _ in 0..TRIES {
            let pool = Pool::builder().workers(3).build().unwrap();
            let barrier = Arc::new(Barrier::new(3));
            let (b1, b2, b3) = (barrier.clone(), barrier.clone(), barrier);
            on_worker(&pool, move || {
                spindle::join(
                    || {
                        spindle::join(
                            || {
                                b1.wait();
                            },
                            || {
                                b2.wait();
                            },
                        )
                    },
                    || {
                        b3.wait();
                    },
                )
            });
        }
    });
}

/// Work hidden while every other thread was busy, by a worker that then
/// never calls into the pool again: once the busy thread goes idle, it
/// must find that work. The outer half (a no-op) is taken first, so the
/// deque the inner half could have gone to is empty by then.
#[test]
fn work_hidden_while_all_were_busy_is_found_by_the_next_idle_thread() {
    within(60, "hidden work found by a thread that went idle", || {
        for _ in 0..TRIES {
            let pool = Arc::new(Pool::builder().workers(2).build().unwrap());
            let forked = Arc::new(AtomicBool::new(false));
            let released = Arc::new(AtomicBool::new(false));
            // Worker 1 stays busy until worker 0 has forked.
            let f = forked.clone();
            pool.spawn_with(Options::new().affinity(Affinity::worker(1)), move || {
                while !f.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
            })
            .unwrap();
            let (tx, rx) = mpsc::channel();
            let (f, r) = (forked.clone(), released.clone());
            pool.spawn_with(Options::new().affinity(Affinity::worker(0)), move || {
                spindle::join(
                    || {
                        spindle::join(
                            || {
                                f.store(true, Ordering::Release);
                                // Never calls into the pool again until the
                                // other half has run elsewhere.
                                while !r.load(Ordering::Acquire) {
                                    std::hint::spin_loop();
                                }
                            },
                            || r.store(true, Ordering::Release),
                        )
                    },
                    || (),
                );
                tx.send(()).unwrap();
            })
            .unwrap();
            rx.recv().unwrap();
        }
    });
}

/// Two halves that spin for a while run at the same time on a fresh
/// two-worker pool: the second starts while the first still runs (it
/// must be visible within a bounded time, not after the first is done).
#[test]
#[cfg_attr(miri, ignore = "timing: Miri's clock counts instructions")]
fn spinning_halves_overlap() {
    within(120, "spinning halves", || {
        let mut serial = 0;
        for _ in 0..TRIES {
            let pool = Pool::builder().workers(2).build().unwrap();
            let a_done = Arc::new(AtomicBool::new(false));
            let overlapped = Arc::new(AtomicUsize::new(0));
            let (ad, ov) = (a_done.clone(), overlapped.clone());
            on_worker(&pool, move || {
                let spin = |d: Duration| {
                    let start = Instant::now();
                    while start.elapsed() < d {
                        std::hint::spin_loop();
                    }
                };
                spindle::join(
                    || {
                        spin(Duration::from_millis(100));
                        ad.store(true, Ordering::SeqCst);
                    },
                    || {
                        if !a_done.load(Ordering::SeqCst) {
                            ov.fetch_add(1, Ordering::SeqCst);
                        }
                        spin(Duration::from_millis(100));
                    },
                )
            });
            if overlapped.load(Ordering::SeqCst) == 0 {
                serial += 1;
            }
        }
        assert_eq!(
            serial, 0,
            "{serial} of {TRIES} joins ran their halves one after the other"
        );
    });
}
