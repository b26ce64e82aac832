//! `spawn`: 1,000,000 tiny jobs spawned from one thread, each incrementing
//! a relaxed atomic counter that is checked at the end. Measures the cost of
//! spawning (allocating and queueing) a job, plus running and completing it.
//!
//! - spindle, rayon, forte: `scope.spawn` in a loop inside one scope; the
//!   scope waits for all of them.
//! - tokio: one task spawns 1M tasks, collecting their `JoinHandle`s, then
//!   awaits them all.
//! - chili has no spawn, so it is not in this workload; a serial row makes
//!   no sense either.

use crate::impls::{check, timed, Bench, Pools};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

const JOBS: usize = 1_000_000;

fn spindle() -> usize {
    let counter = AtomicUsize::new(0);
    spindle::scope(|s| {
        for _ in 0..JOBS {
            s.spawn(|_| {
                counter.fetch_add(1, Relaxed);
            });
        }
    });
    counter.into_inner()
}

fn rayon() -> usize {
    let counter = AtomicUsize::new(0);
    rayon::scope(|s| {
        for _ in 0..JOBS {
            s.spawn(|_| {
                counter.fetch_add(1, Relaxed);
            });
        }
    });
    counter.into_inner()
}

fn forte(w: &forte::Worker) -> usize {
    let counter = AtomicUsize::new(0);
    w.scope(|s| {
        for _ in 0..JOBS {
            s.spawn(|_| {
                counter.fetch_add(1, Relaxed);
            });
        }
    });
    counter.into_inner()
}

/// tokio tasks are `'static`, so they count into a static (reset per run).
static TOKIO_COUNTER: AtomicUsize = AtomicUsize::new(0);

async fn tokio_spawn_all() -> usize {
    let handles: Vec<_> = (0..JOBS)
        .map(|_| {
            tokio::spawn(async {
                TOKIO_COUNTER.fetch_add(1, Relaxed);
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("tokio task panicked");
    }
    TOKIO_COUNTER.load(Relaxed)
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    const W: &str = "spawn";
    vec![
        Bench::new("spindle", || {
            let (r, t) = timed(|| pools.spindle().run(spindle));
            check(W, "spindle", r, JOBS);
            t
        }),
        Bench::new("rayon", || {
            let (r, t) = timed(|| pools.rayon().install(rayon));
            check(W, "rayon", r, JOBS);
            t
        }),
        Bench::new("forte", || {
            let (r, t) = timed(|| pools.forte(forte));
            check(W, "forte", r, JOBS);
            t
        }),
        Bench::new("tokio", || {
            TOKIO_COUNTER.store(0, Relaxed);
            let (r, t) = timed(|| {
                pools.tokio().block_on(async {
                    tokio::spawn(tokio_spawn_all())
                        .await
                        .expect("tokio task panicked")
                })
            });
            check(W, "tokio", r, JOBS);
            t
        }),
    ]
}
