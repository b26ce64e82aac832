#![cfg(not(loom))]
//! Waits never grow a stack without bound. A wait that cannot suspend
//! runs other jobs on its own stack only while the stack has room; past
//! that budget it continues on a fresh fiber or parks. Each shape below
//! overflowed a stack before: many jobs each waiting on an event on one
//! worker, jobs that wait for halves bound to a busy worker, and an
//! outside caller with a small stack that helps while it waits.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::within;
use spindle::{Affinity, Counter, Event, Options, Pool};

const JOBS: usize = if cfg!(miri) { 200 } else { 200_000 };

/// `JOBS` jobs on one worker, each waiting on one event that an outside
/// thread sets once they have all started or queued. They are dispatched
/// from a job on that worker, so they sit in its own deque.
fn many_waiters_on_one_worker(pool: Pool) {
    let pool = Arc::new(pool);
    let gate = Arc::new(Event::manual());
    let started = Arc::new(AtomicUsize::new(0));
    let done = Counter::new();
    let (tx, rx) = mpsc::channel();
    {
        let (p, gate, started, done) = (pool.clone(), gate.clone(), started.clone(), done.clone());
        pool.spawn(move || {
            p.dispatch(
                &done,
                (0..JOBS).map(|_| {
                    let (gate, started) = (gate.clone(), started.clone());
                    move || {
                        started.fetch_add(1, Ordering::Relaxed);
                        gate.wait();
                    }
                }),
            );
            tx.send(()).unwrap();
        });
    }
    rx.recv().unwrap();
    // Let the worker take as many as it will before the gate opens: until
    // all have started, or none started for a while (the waits parked).
    let t0 = std::time::Instant::now();
    let mut last = (0, std::time::Instant::now());
    loop {
        let n = started.load(Ordering::Relaxed);
        if n == JOBS || t0.elapsed() > Duration::from_secs(60) {
            break;
        }
        if n != last.0 {
            last = (n, std::time::Instant::now());
        } else if last.1.elapsed() > Duration::from_millis(300) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    gate.set();
    pool.wait(&done);
    assert_eq!(started.load(Ordering::Relaxed), JOBS);
}

#[test]
fn many_jobs_waiting_on_an_event_without_fibers() {
    within(120, "event waiters, no fibers", || {
        many_waiters_on_one_worker(Pool::builder().workers(1).fibers(0).build().unwrap())
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn many_jobs_waiting_on_an_event_with_default_settings() {
    within(120, "event waiters, default fibers", || {
        many_waiters_on_one_worker(Pool::builder().workers(1).build().unwrap())
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn many_jobs_waiting_on_an_event_with_few_fibers() {
    // Every fiber is taken early; the rest of the waits happen on fibers'
    // stacks (1 MiB each here), which must not overflow either.
    within(120, "event waiters, 4 fibers", || {
        many_waiters_on_one_worker(Pool::builder().workers(1).fibers(4).build().unwrap())
    });
}

/// Jobs on worker 0 that each wait for a half bound to worker 1 while
/// worker 1 is busy: every wait finds nothing it may run but the next
/// such job.
fn halves_bound_to_a_busy_worker(pool: Pool) {
    let n = if cfg!(miri) { 50 } else { 50_000 };
    let release = Arc::new(AtomicBool::new(false));
    let r = release.clone();
    pool.spawn_with(Options::new().affinity(Affinity::worker(1)), move || {
        while !r.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
    })
    .unwrap();
    let pool = Arc::new(pool);
    let done = Counter::new();
    let on_0 = Options::new().affinity(Affinity::worker(0));
    let on_1 = Options::new().affinity(Affinity::worker(1));
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let (p, ran, on_1) = (pool.clone(), ran.clone(), on_1.clone());
        pool.dispatch_with(
            on_0.clone(),
            &done,
            [move || {
                p.join_with(
                    on_1,
                    || (),
                    || {
                        ran.fetch_add(1, Ordering::Relaxed);
                    },
                )
                .unwrap();
            }],
        )
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    release.store(true, Ordering::Release);
    pool.wait(&done);
    assert_eq!(ran.load(Ordering::Relaxed), n);
}

#[test]
fn waits_for_halves_bound_to_a_busy_worker_without_fibers() {
    within(120, "join_with on a busy worker, no fibers", || {
        halves_bound_to_a_busy_worker(Pool::builder().workers(2).fibers(0).build().unwrap())
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn waits_for_halves_bound_to_a_busy_worker_with_default_settings() {
    within(120, "join_with on a busy worker, default fibers", || {
        halves_bound_to_a_busy_worker(Pool::builder().workers(2).build().unwrap())
    });
}

/// An outside thread with a 256 KiB stack waits on a batch whose jobs
/// themselves wait: its wait must not run them nested on its small stack
/// without bound.
fn small_stack_caller(pool: Arc<Pool>) {
    let (tx, rx) = mpsc::channel();
    let p = pool.clone();
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let gate = Arc::new(Event::manual());
            let done = Counter::new();
            let n = if cfg!(miri) { 100 } else { 100_000 };
            p.dispatch(
                &done,
                (0..n).map(|_| {
                    let gate = gate.clone();
                    move || gate.wait()
                }),
            );
            let g = gate.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(1000));
                g.set();
            });
            p.wait(&done);
            tx.send(()).unwrap();
        })
        .unwrap();
    rx.recv().unwrap();
    drop(pool);
}

#[test]
fn a_small_stack_caller_waits_without_overflowing_without_fibers() {
    within(120, "256 KiB caller, no fibers", || {
        small_stack_caller(Arc::new(
            Pool::builder().workers(1).fibers(0).build().unwrap(),
        ))
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn a_small_stack_caller_waits_without_overflowing_with_default_settings() {
    within(120, "256 KiB caller, default fibers", || {
        small_stack_caller(Arc::new(Pool::builder().workers(1).build().unwrap()))
    });
}
