//! `affinity`: jobs that must run on one worker, while the others are busy.
//!
//! Each run dispatches `LOAD` plain jobs (about 5 µs of integer math each)
//! that keep every worker busy, then submits `PINNED` small jobs (about
//! 1 µs each) from the bench thread, and times until all jobs, load and
//! pinned, have run: the throughput of the whole mix. Every job records the worker it ran on; the check fails the
//! run if a pinned job ran anywhere but worker 0, or if any job is
//! missing.
//!
//! - spindle: `Options::new().affinity(Affinity::worker(0))` on a pool of
//!   `T` workers: only worker 0 may take the pinned jobs (thieves skip
//!   them), the others work through the load.
//! - spindle-any: the same jobs with no affinity, as a reference for what
//!   the restriction costs (its jobs may run anywhere, so it is not
//!   checked for placement).
//!
//! No peer has per-job affinity (rayon, tokio and chili cannot say "only
//! on this worker"), so there is no peer row.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crate::impls::{check, timed, Bench, Pools};

const W: &str = "affinity";
/// Background jobs per run.
const LOAD: usize = 4000;
/// A background job's length (~5 µs).
const LOAD_STEPS: u64 = 3000;
/// Pinned jobs per run.
const PINNED: usize = 5000;
/// A pinned job's length (~1 µs).
const PINNED_STEPS: u64 = 600;

#[inline(never)]
fn work(seed: u64, steps: u64) -> u64 {
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    for _ in 0..black_box(steps) {
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
    black_box(x)
}

fn run_one(pool: &spindle::Pool, pin: bool) -> Duration {
    let load = spindle::Counter::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let misplaced = Arc::new(AtomicUsize::new(0));
    let opts = if pin {
        spindle::Options::new().affinity(spindle::Affinity::worker(0))
    } else {
        spindle::Options::new()
    };
    let ((), time) = timed(|| {
        pool.dispatch(
            &load,
            (0..LOAD as u64).map(|i| {
                move || {
                    work(i, LOAD_STEPS);
                }
            }),
        );
        for i in 0..PINNED as u64 {
            let (ran, misplaced) = (ran.clone(), misplaced.clone());
            pool.spawn_with(opts.clone(), move || {
                work(i, PINNED_STEPS);
                if spindle::worker_index() != Some(0) {
                    misplaced.fetch_add(1, Relaxed);
                }
                ran.fetch_add(1, Relaxed);
            })
            .expect("worker 0 exists");
        }
        while ran.load(Relaxed) < PINNED || !load.is_done() {
            std::thread::sleep(Duration::from_micros(100));
        }
    });
    pool.wait(&load); // rethrows a panic of the load, if any
    check(W, "pinned jobs ran", ran.load(Relaxed), PINNED);
    if pin {
        check(W, "jobs outside worker 0", misplaced.load(Relaxed), 0);
    }
    time
}

pub fn benches(pools: &Pools) -> Vec<Bench<'static>> {
    let pool = Arc::new(
        spindle::Pool::builder()
            .workers(pools.threads)
            .build()
            .expect("spindle pool"),
    );
    let p = pool.clone();
    vec![
        Bench::new("spindle", move || run_one(&p, true)),
        Bench::new("spindle-any", move || run_one(&pool, false)),
    ]
}
