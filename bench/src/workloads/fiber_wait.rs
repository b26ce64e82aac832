//! `fiber-wait`: marl's MultipleForkAndJoin shape, waits in the middle of
//! jobs. `ROUNDS` rounds, one after the other; each round runs `FORKS`
//! fiber-jobs at once, and each fiber-job forks `CHILDREN` children (about
//! 1 µs of integer math each), waits for all of them, then adds their sum
//! to the run's checksum. The checksum is checked against the same math
//! done serially, so a wait that returned early (before its children's sum
//! was complete) fails the check.
//!
//! A waiting fiber-job leaves its worker with nothing of its own to do:
//! with fibers, the wait suspends and the worker runs the other fiber-jobs'
//! children on a fresh fiber; without, it runs them on top of the waiting
//! job's stack.
//!
//! - spindle: a dedicated pool built with `fibers(64)`; each round the
//!   fiber-jobs are dispatched with one `Counter` and waited on, and each
//!   dispatches its children with its own `Counter` and `Pool::wait`s it
//!   (the pool is reached through an `Arc`). Thread count as in `impls.rs`:
//!   `T - 1` workers and the bench thread taking part through `install`,
//!   or one worker handed the whole run for T == 1. The participating
//!   thread's slot has fibers too (its waits suspend like a worker's).
//!   The check also demands that some wait suspended a fiber
//!   (`Stats::fiber_suspends`), so the fiber path is really measured.
//! - spindle-nofiber: the same with `fibers(0)` (checked: no suspend).
//! - rayon: each round an outer `rayon::scope` spawns the fiber-jobs, each
//!   of which opens a `rayon::scope` spawning its children (rayon has no
//!   fibers: a scope's end helps in place).
//! - serial: the same math in a plain loop.

use crate::impls::{check, timed, Bench, Pools};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc};

const W: &str = "fiber-wait";
const ROUNDS: u64 = 100;
const FORKS: u64 = 8;
const CHILDREN: u64 = 512;
/// Iterations of a child's dependent multiply/xor-shift chain: about 1 µs.
const STEPS: u64 = 600;

/// The work of child `id` (unique over the whole run).
#[inline(never)]
fn child(id: u64) -> u64 {
    let mut x = id ^ 0x9e37_79b9_7f4a_7c15;
    for _ in 0..black_box(STEPS) {
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
    black_box(x)
}

/// The id of fiber-job `fork` of round `round`; its children are
/// `base * CHILDREN + i`.
fn base(round: u64, fork: u64) -> u64 {
    round * FORKS + fork
}

fn serial() -> u64 {
    let mut sum = 0u64;
    for b in 0..ROUNDS * FORKS {
        for i in 0..CHILDREN {
            sum = sum.wrapping_add(child(b * CHILDREN + i));
        }
    }
    sum
}

/// A dedicated spindle pool, run with the thread-count convention of
/// `impls.rs`.
struct SpindlePool {
    pool: Arc<spindle::Pool>,
    threads: usize,
}

impl SpindlePool {
    fn new(threads: usize, fibers: usize) -> Self {
        let pool = spindle::Pool::builder()
            .workers(if threads == 1 { 1 } else { threads - 1 })
            .fibers(fibers)
            .build()
            .expect("building the spindle pool");
        SpindlePool {
            pool: Arc::new(pool),
            threads,
        }
    }

    /// Fiber suspends so far.
    fn suspends(&self) -> u64 {
        self.pool.stats().total().fiber_suspends
    }

    fn run(&self) -> u64 {
        if self.threads == 1 {
            let (tx, rx) = mpsc::channel();
            let pool = self.pool.clone();
            self.pool.spawn(move || {
                let sum = spindle_rounds(&pool);
                // Not the last handle (the bench holds one), but drop it
                // before the bench thread can go on and drop its own.
                drop(pool);
                let _ = tx.send(sum);
            });
            rx.recv()
                .expect("spindle dropped the job without running it")
        } else {
            self.pool.install(|| spindle_rounds(&self.pool))
        }
    }
}

fn spindle_rounds(pool: &Arc<spindle::Pool>) -> u64 {
    let total = Arc::new(AtomicU64::new(0));
    for round in 0..ROUNDS {
        let forks = spindle::Counter::new();
        pool.dispatch(
            &forks,
            (0..FORKS).map(|fork| {
                let (pool, total) = (pool.clone(), total.clone());
                move || {
                    let b = base(round, fork);
                    let sum = Arc::new(AtomicU64::new(0));
                    let children = spindle::Counter::new();
                    pool.dispatch(
                        &children,
                        (0..CHILDREN).map(|i| {
                            let sum = sum.clone();
                            move || {
                                sum.fetch_add(child(b * CHILDREN + i), Relaxed);
                            }
                        }),
                    );
                    pool.wait(&children);
                    total.fetch_add(sum.load(Relaxed), Relaxed);
                }
            }),
        );
        pool.wait(&forks);
    }
    total.load(Relaxed)
}

fn rayon_rounds() -> u64 {
    let total = AtomicU64::new(0);
    for round in 0..ROUNDS {
        rayon::scope(|s| {
            for fork in 0..FORKS {
                let total = &total;
                s.spawn(move |_| {
                    let b = base(round, fork);
                    let sum = AtomicU64::new(0);
                    rayon::scope(|s| {
                        for i in 0..CHILDREN {
                            let sum = &sum;
                            s.spawn(move |_| {
                                sum.fetch_add(child(b * CHILDREN + i), Relaxed);
                            });
                        }
                    });
                    total.fetch_add(sum.into_inner(), Relaxed);
                });
            }
        });
    }
    total.into_inner()
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    let expected = serial();
    let fibers = SpindlePool::new(pools.threads, 64);
    let nofiber = SpindlePool::new(pools.threads, 0);
    vec![
        Bench::new("serial", move || {
            let (r, t) = timed(serial);
            check(W, "serial", r, expected);
            t
        }),
        Bench::new("spindle", move || {
            let before = fibers.suspends();
            let (r, t) = timed(|| fibers.run());
            check(W, "spindle", r, expected);
            check(W, "spindle (suspended)", fibers.suspends() > before, true);
            t
        }),
        Bench::new("spindle-nofiber", move || {
            let (r, t) = timed(|| nofiber.run());
            check(W, "spindle-nofiber", r, expected);
            check(W, "spindle-nofiber (suspends)", nofiber.suspends(), 0);
            t
        }),
        Bench::new("rayon", move || {
            let (r, t) = timed(|| pools.rayon().install(rayon_rounds));
            check(W, "rayon", r, expected);
            t
        }),
    ]
}
