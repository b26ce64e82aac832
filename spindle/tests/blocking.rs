#![cfg(not(loom))]
//! `spawn_blocking`: calls run on threads apart from the workers, bounded
//! in number, ending after their keep-alive; a panic comes back as the
//! handle's error; blocking calls do not stall the workers.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::within;
use spindle::{Error, Pool};

/// Blocking calls run off the workers: with both workers' worth of
/// blocking (100 calls sleeping 10 ms), CPU jobs on the workers still
/// finish as fast as without them (well within 2x here; the bench row
/// `blocking-mix` measures it).
///
/// Catches: blocking calls run as ordinary jobs on the workers (then the
/// 100 sleeps take 500 ms on 2 workers and the CPU jobs wait behind them).
#[test]
#[cfg_attr(
    miri,
    ignore = "blocking threads outlive their pool by the keep-alive, which Miri reports as a leak; .ci/sanitizers runs these with -Zmiri-ignore-leaks"
)]
fn blocking_calls_do_not_stall_the_workers() {
    within(60, "blocking mix", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let calls = if cfg!(miri) { 4 } else { 100 };
        let handles: Vec<_> = (0..calls)
            .map(|_| {
                pool.spawn_blocking(|| {
                    std::thread::sleep(Duration::from_millis(10));
                    spindle::worker_index()
                })
            })
            .collect();
        // CPU work meanwhile: a fork-join sum.
        fn sum(lo: u64, hi: u64) -> u64 {
            if hi - lo < 1000 {
                return (lo..hi).sum();
            }
            let mid = (lo + hi) / 2;
            let (a, b) = spindle::join(|| sum(lo, mid), || sum(mid, hi));
            a + b
        }
        let n: u64 = if cfg!(miri) { 1 << 12 } else { 1 << 22 };
        let t = Instant::now();
        let s = pool.install(|| sum(0, n));
        let cpu = t.elapsed();
        assert_eq!(s, n * (n - 1) / 2);
        for h in handles {
            // Never on a worker.
            assert_eq!(h.join().unwrap(), None);
        }
        // Miri's clock measures the interpreter, not the schedule.
        assert!(
            cfg!(miri) || cpu < Duration::from_millis(400),
            "CPU work took {cpu:?}"
        );
    });
}

/// At most `max_blocking_threads` calls run at once; the rest queue and
/// all of them run.
#[test]
#[cfg_attr(
    miri,
    ignore = "blocking threads outlive their pool by the keep-alive, which Miri reports as a leak; .ci/sanitizers runs these with -Zmiri-ignore-leaks"
)]
fn the_thread_cap_holds() {
    within(60, "cap", || {
        let pool = Pool::builder()
            .workers(1)
            .max_blocking_threads(3)
            .build()
            .unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let (running, most) = (running.clone(), most.clone());
                pool.spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let got: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(got, (0..20).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!((1..=3).contains(&most), "{most} at once");
        assert!(pool.__blocking_threads() <= 3);
    });
}

/// Idle blocking threads exit after the keep-alive.
#[test]
#[cfg_attr(
    miri,
    ignore = "blocking threads outlive their pool by the keep-alive, which Miri reports as a leak; .ci/sanitizers runs these with -Zmiri-ignore-leaks"
)]
fn idle_threads_exit_after_the_keep_alive() {
    within(60, "keep-alive", || {
        let pool = Pool::builder()
            .workers(1)
            .blocking_keep_alive(Duration::from_millis(20))
            .build()
            .unwrap();
        // While a call runs, its thread is counted (after it, the count
        // may already be back to zero on a slow machine).
        let p = pool.clone();
        let during = pool
            .spawn_blocking(move || {
                std::thread::sleep(Duration::from_millis(5));
                p.__blocking_threads()
            })
            .join()
            .unwrap();
        assert!(during >= 1);
        let t = Instant::now();
        while pool.__blocking_threads() > 0 {
            assert!(t.elapsed() < Duration::from_secs(5), "threads never exited");
            std::thread::sleep(Duration::from_millis(5));
        }
    });
}

/// A panicking call comes back as the handle's panic; the thread that ran
/// it goes on with the next call.
#[test]
#[cfg_attr(
    miri,
    ignore = "blocking threads outlive their pool by the keep-alive, which Miri reports as a leak; .ci/sanitizers runs these with -Zmiri-ignore-leaks"
)]
fn a_panic_comes_back_as_the_handles_error() {
    within(30, "panic", || {
        let pool = Pool::builder()
            .workers(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let bad = pool.spawn_blocking(|| -> u32 { panic!("disk on fire") });
        let good = pool.spawn_blocking(|| 5u32);
        let err = bad.join().unwrap_err();
        assert!(err.is_panic());
        let msg = err.into_panic();
        assert_eq!(msg.downcast_ref::<&str>(), Some(&"disk on fire"));
        assert_eq!(good.join().unwrap(), 5);
    });
}

/// Awaited from a task, and from the free function inside a pool.
#[test]
#[cfg_attr(
    miri,
    ignore = "blocking threads outlive their pool by the keep-alive, which Miri reports as a leak; .ci/sanitizers runs these with -Zmiri-ignore-leaks"
)]
fn awaited_from_a_task() {
    within(30, "task", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let h = pool.spawn_async(async {
            let a = spindle::spawn_blocking(|| 20).await.unwrap();
            let b = spindle::spawn_blocking(|| 22).await.unwrap();
            a + b
        });
        assert_eq!(h.join().unwrap(), 42);
    });
}

/// `max_blocking_threads(0)` is refused.
#[test]
fn zero_blocking_threads_is_an_error() {
    let err = Pool::builder().max_blocking_threads(0).build().unwrap_err();
    assert!(matches!(err, Error::ZeroBlockingThreads));
    assert_eq!(
        err.to_string(),
        "max_blocking_threads must be at least 1, got 0"
    );
}
