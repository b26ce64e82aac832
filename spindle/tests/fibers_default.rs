#![cfg(not(loom))]
//! Fibers are on by default where the target has them, the outside
//! caller's participant slot has them too, and so holding a
//! `spindle::Mutex` across nested work is deadlock-free with default
//! settings (the shape of rayon issue #592, started from outside).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::within;
use spindle::{Counter, Event, Mutex, Pool};

/// Busy for `d` without calling into the pool.
fn spin(d: Duration) {
    let t = std::time::Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// `pool.scope` from the caller over 1,000 jobs that each lock one mutex
/// and run an inner scope while holding it.
fn lock_across_inner_scopes(pool: &Pool) {
    let n = if cfg!(miri) { 20 } else { 1000 };
    let lock = Arc::new(Mutex::new(0u64));
    pool.scope(|s| {
        for _ in 0..n {
            let lock = lock.clone();
            s.spawn(move |_| {
                let mut g = lock.lock();
                spindle::scope(|inner| {
                    for _ in 0..4 {
                        inner.spawn(|_| spin(Duration::from_micros(50)));
                    }
                });
                *g += 1;
            });
        }
    });
    assert_eq!(*lock.lock(), n);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn mutex_across_nested_work_with_default_settings() {
    within(120, "mutex across nested scopes, default pool", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..10 {
            lock_across_inner_scopes(&pool);
        }
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn mutex_across_nested_work_on_the_global_pool_shape() {
    // One worker: the caller and the worker share every job.
    within(120, "mutex across nested scopes, one worker", || {
        let pool = Pool::builder().workers(1).build().unwrap();
        for _ in 0..10 {
            lock_across_inner_scopes(&pool);
        }
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn default_pools_suspend_waits_on_workers_and_on_the_caller() {
    within(60, "default fibers", || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Arc::new(Event::manual());
        let done = Counter::new();
        let g = gate.clone();
        pool.dispatch(&done, [move || g.wait()]);
        std::thread::sleep(Duration::from_millis(50));
        let g = gate.clone();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            g.set();
        });
        // The caller waits on the participant slot: its own stack suspends.
        pool.wait(&done);
        setter.join().unwrap();
        let stats = pool.stats();
        assert!(stats.workers[0].fiber_suspends > 0, "{stats:?}");
        assert!(stats.participant.fiber_suspends > 0, "{stats:?}");
    });
}
