#![cfg(not(loom))]
#![cfg(any(unix, windows))]
//! Timers: never early, late by little, cancelled on drop, driven by the
//! pool's own workers (no thread of their own), and dropped with the pool.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::within;
use spindle::time::{interval, sleep, sleep_until, timeout};
use spindle::Pool;

/// The tests of this file one at a time: one of them counts the process's
/// descriptors and threads.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

/// Polls `f` once: whether it was ready.
fn poll_once<F: Future + Unpin>(f: &mut F) -> bool {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(f).poll(&mut cx).is_ready()
}

/// Many tasks sleeping random times: none wakes early, and the 99th
/// percentile of lateness is small.
///
/// Catches: a driver that fires timers before their deadline, or sleeps
/// through them.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn many_sleeps_are_never_early_and_rarely_late() {
    let _serial = serial();
    within(60, "many sleeps", || {
        let pool = pool(2);
        let n = if cfg!(miri) { 20 } else { 2000 };
        let handles: Vec<_> = (0..n)
            .map(|i| {
                pool.spawn_async(async move {
                    let d = Duration::from_micros((i as u64 * 7919) % 50_000);
                    let deadline = Instant::now() + d;
                    sleep_until(deadline).await;
                    let now = Instant::now();
                    assert!(now >= deadline, "woke before its deadline");
                    now - deadline
                })
            })
            .collect();
        let mut late: Vec<Duration> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        late.sort();
        let p99 = late[late.len() * 99 / 100];
        // Generous for a loaded 2-core CI machine; typical is about 1 ms.
        assert!(p99 < Duration::from_millis(30), "p99 lateness {p99:?}");
    });
}

/// A timer fires while the only worker never goes idle (a stream of
/// short jobs keeps it busy): busy workers fire due timers too.
///
/// Catches: timers fired only by a worker about to sleep: the sleep below
/// would wait for the stream to end (2 s).
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn timers_fire_while_every_worker_is_busy() {
    let _serial = serial();
    within(60, "busy timers", || {
        let pool = pool(1);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Each job respawns itself until `stop`, for 2 s at most.
        let start = Instant::now();
        common::keep_busy(&pool, stop.clone());
        let h = pool.spawn_async(async {
            sleep(Duration::from_millis(10)).await;
            Instant::now()
        });
        let fired = h.join().unwrap();
        stop.store(true, Ordering::Relaxed);
        let took = fired - start;
        assert!(took >= Duration::from_millis(10));
        assert!(took < Duration::from_secs(1), "fired after {took:?}");
    });
}

/// `timeout`: the output if it comes in time, `Elapsed` otherwise (and the
/// slow future is dropped then).
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn timeout_returns_output_or_elapsed() {
    let _serial = serial();
    within(30, "timeout", || {
        let pool = pool(2);
        let fast = pool.block_on(timeout(Duration::from_secs(10), async { 5 }));
        assert_eq!(fast, Ok(5));
        let dropped = Arc::new(AtomicUsize::new(0));
        struct OnDrop(Arc<AtomicUsize>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let guard = OnDrop(dropped.clone());
        let slow = pool.block_on(timeout(Duration::from_millis(20), async move {
            let _g = guard;
            sleep(Duration::from_secs(3600)).await;
            1
        }));
        let err = slow.unwrap_err();
        assert_eq!(err.to_string(), "deadline has elapsed");
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        // `Elapsed` goes into the usual error boxes.
        let _: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    });
}

/// A `Duration` past the clock's range waits "forever" instead of
/// panicking on overflow; a deadline in the past is ready at once.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn far_future_and_past_deadlines() {
    let _serial = serial();
    within(30, "far future", || {
        let pool = pool(1);
        let r = pool.block_on(timeout(Duration::from_millis(10), sleep(Duration::MAX)));
        assert!(r.is_err());
        let past = Instant::now() - Duration::from_millis(5);
        let mut s = sleep_until(past);
        assert!(poll_once(&mut s));
        assert!(s.is_elapsed());
    });
}

/// Timers dropped before they fire leave nothing in the driver, even a
/// million of them.
///
/// Catches: cancellation by marking only (entries kept until their
/// deadline, here an hour away): the count stays at a million.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn dropped_timers_leave_nothing_behind() {
    let _serial = serial();
    within(120, "dropped timers", || {
        let pool = pool(1);
        let n = if cfg!(miri) { 100 } else { 1_000_000 };
        let queued = pool.install(|| {
            let mut timers: Vec<_> = (0..n)
                .map(|i| sleep(Duration::from_secs(3600 + i as u64 % 1000)))
                .collect();
            for t in &mut timers {
                assert!(!poll_once(t));
            }
            let queued = spindle::time::__timers_queued();
            drop(timers);
            (queued, spindle::time::__timers_queued())
        });
        assert_eq!(queued, (n, 0));
    });
}

/// `interval`: the first tick at once, then one per period; a late
/// consumer skips the missed ticks instead of bursting.
///
/// Catches (besides bursts): a timer added while the driving worker
/// sleeps with no earlier deadline, without notifying it: the one
/// worker sleeps forever in the driver and the second tick never comes.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn interval_ticks_and_skips_missed_ones() {
    let _serial = serial();
    within(30, "interval", || {
        let pool = pool(1);
        pool.block_on(async {
            let period = Duration::from_millis(5);
            let mut every = interval(period);
            let t0 = every.tick().await;
            let t1 = every.tick().await;
            let t2 = every.tick().await;
            assert!(t1 - t0 >= period && t2 - t1 >= period);
            // Fall 4 periods behind: the next tick is the next multiple.
            std::thread::sleep(period * 4);
            let late = every.tick().await;
            let next = every.tick().await;
            assert!(next - late >= period / 2, "burst after a late tick");
        });
    });
}

/// A sleep awaited outside every pool uses the global pool's driver.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn sleep_outside_every_pool() {
    let _serial = serial();
    within(30, "outside", || {
        let start = Instant::now();
        futures_lite::future::block_on(sleep(Duration::from_millis(15)));
        assert!(start.elapsed() >= Duration::from_millis(15));
    });
}

/// Threads of this process.
#[cfg(target_os = "linux")]
fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// The threads of this process: (id, name).
#[cfg(target_os = "linux")]
fn threads() -> Vec<(String, String)> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = std::fs::read_to_string(e.path().join("comm")).ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                name.trim().to_owned(),
            ))
        })
        .collect()
}

/// A thread the test harness runs a test on (named after the test, cut to
/// 15 bytes), or a `within` watchdog's.
#[cfg(target_os = "linux")]
fn is_harness_thread(name: &str) -> bool {
    const TESTS: &[&str] = &[
        "many_sleeps_are_never_early_and_rarely_late",
        "timers_fire_while_every_worker_is_busy",
        "timeout_returns_output_or_elapsed",
        "far_future_and_past_deadlines",
        "dropped_timers_leave_nothing_behind",
        "interval_ticks_and_skips_missed_ones",
        "sleep_outside_every_pool",
        "no_timer_thread_and_pool_drop_cleans_up",
        "a_timer_wake_keeps_the_tasks_affinity",
    ];
    name.starts_with("within") || TESTS.iter().any(|t| t.starts_with(name))
}

/// The workers drive the timers: no thread is started for them; and a
/// pool dropped with tasks asleep on timers drops each of those futures
/// once and closes its event queue (no descriptor left open).
///
/// Catches: a timer thread (one more thread); tasks parked on timers
/// leaked at shutdown; the driver's descriptors kept open.
#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn no_timer_thread_and_pool_drop_cleans_up() {
    let _serial = serial();
    within(60, "pool drop with timers", || {
        let fds_before = count("/proc/self/fd");
        let pool = Pool::builder().workers(2).build().unwrap();
        let threads_before = threads();
        let dropped = Arc::new(AtomicUsize::new(0));
        struct OnDrop(Arc<AtomicUsize>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        for _ in 0..100 {
            let g = OnDrop(dropped.clone());
            pool.spawn_async(async move {
                let _g = g;
                sleep(Duration::from_secs(3600)).await;
            });
        }
        // Let every task reach its sleep.
        std::thread::sleep(Duration::from_millis(50));
        // Threads started since, other than the test harness's own (it
        // starts the next tests' threads, which wait for `serial`).
        let started: Vec<String> = threads()
            .into_iter()
            .filter(|(tid, name)| {
                !threads_before.iter().any(|(t, _)| t == tid) && !is_harness_thread(name)
            })
            .map(|(_, name)| name)
            .collect();
        assert!(started.is_empty(), "timers started threads: {started:?}");
        drop(pool);
        assert_eq!(dropped.load(Ordering::SeqCst), 100);
        let fds_after = count("/proc/self/fd");
        assert!(fds_after <= fds_before, "fds {fds_before} -> {fds_after}");
    });
}

/// A task woken by a timer keeps its affinity: it is polled again on its
/// worker.
///
/// Catches: driver wakes queued as plain jobs on the driving worker,
/// whatever the task's placement.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn a_timer_wake_keeps_the_tasks_affinity() {
    let _serial = serial();
    within(30, "affinity", || {
        let pool = pool(2);
        for _ in 0..20 {
            let opts = spindle::Options::new().affinity(spindle::Affinity::worker(1));
            let h = pool
                .spawn_async_with(opts, async {
                    sleep(Duration::from_millis(2)).await;
                    spindle::worker_index()
                })
                .unwrap();
            assert_eq!(h.join().unwrap(), Some(1));
        }
    });
}

/// Without fibers, a wait parks its thread instead of suspending; timers
/// still fire while every thread of the pool waits (the waits drive the
/// event queue too), whoever held the driver a moment before.
///
/// Catches: only the loop's sleep driving the timers: with `fibers(0)` a
/// job waiting (parked) for a task that sleeps on a timer, on a worker
/// whose loop never sleeps again, can hang.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn timers_fire_while_every_thread_waits_without_fibers() {
    let _serial = serial();
    within(60, "waits without fibers", || {
        let pool = Pool::builder().workers(2).fibers(0).build().unwrap();
        for round in 0..20u64 {
            let done = spindle::Counter::new();
            // One job per thread (2 workers and the caller): every thread
            // ends up waiting.
            let all_in = Arc::new(std::sync::Barrier::new(3));
            let jobs = (0..3).map(|k| {
                let all_in = all_in.clone();
                move || {
                    all_in.wait();
                    // Each job waits, parked, for a timer task.
                    let h = spindle::spawn_async(async move {
                        // Long enough that every wait has parked by then.
                        sleep(Duration::from_millis(5 + 3 * k)).await;
                        k
                    });
                    assert_eq!(h.join().unwrap(), k);
                }
            });
            pool.dispatch(&done, jobs);
            // The caller waits too (participant slot, no fibers).
            pool.wait(&done);
            assert!(round < 20);
        }
    });
}
