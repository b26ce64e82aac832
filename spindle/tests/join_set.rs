#![cfg(not(loom))]
//! `JoinSet` and `AbortHandle`: results in finishing order, abort on drop,
//! panics and cancellations as errors, and the handles' reference counts
//! right in every drop order.

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::within;
use spindle::{JoinSet, Pool};

fn pool() -> Pool {
    Pool::builder().workers(2).build().unwrap()
}

struct OnDrop(Arc<AtomicUsize>);
impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Results come in the order the tasks finish, not the order spawned.
#[cfg(any(unix, windows))]
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn results_come_in_finishing_order() {
    within(30, "order", || {
        let pool = pool();
        let got = pool.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..5u64 {
                set.spawn(async move {
                    spindle::time::sleep(Duration::from_millis(20 * (5 - i))).await;
                    i
                });
            }
            assert_eq!(set.len(), 5);
            let mut got = Vec::new();
            while let Some(r) = set.join_next().await {
                got.push(r.unwrap());
            }
            assert!(set.is_empty());
            got
        });
        assert_eq!(got, vec![4, 3, 2, 1, 0]);
    });
}

/// Dropping the set aborts what is still in it: every future is dropped.
///
/// Catches: a drop that only detaches (the tasks wait forever and their
/// futures are never dropped).
#[test]
fn dropping_the_set_aborts_its_tasks() {
    within(30, "drop", || {
        let pool = pool();
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..50 {
            let g = OnDrop(dropped.clone());
            set.spawn_on(
                async move {
                    let _g = g;
                    pending::<()>().await
                },
                &pool,
            );
        }
        drop(set);
        let t = Instant::now();
        while dropped.load(Ordering::SeqCst) < 50 {
            assert!(t.elapsed() < Duration::from_secs(10), "tasks not aborted");
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// `abort_all`: each task's result is then a cancellation, and a panic is
/// the task's error; `join_next` gives `None` once all are taken.
#[test]
fn abort_all_and_panics_come_back_as_errors() {
    within(30, "errors", || {
        let pool = pool();
        pool.block_on(async {
            let mut set: JoinSet<u32> = JoinSet::new();
            for _ in 0..10 {
                set.spawn(pending());
            }
            set.abort_all();
            let mut cancelled = 0;
            while let Some(r) = set.join_next().await {
                assert!(r.unwrap_err().is_cancelled());
                cancelled += 1;
            }
            assert_eq!(cancelled, 10);
            set.spawn(async { panic!("boom") });
            let err = set.join_next().await.unwrap().unwrap_err();
            assert!(err.is_panic());
            assert!(set.join_next().await.is_none());
        });
    });
}

/// Many tasks drain, every result once.
#[test]
fn many_tasks_every_result_once() {
    within(60, "many", || {
        let pool = pool();
        let n = if cfg!(miri) { 50 } else { 20_000 };
        let sum = pool.block_on(async move {
            let mut set = JoinSet::new();
            for i in 0..n as u64 {
                set.spawn(async move {
                    if i % 3 == 0 {
                        spindle::yield_async().await;
                    }
                    i
                });
            }
            let mut sum = 0;
            while let Some(r) = set.join_next().await {
                sum += r.unwrap();
            }
            sum
        });
        assert_eq!(sum, (n as u64) * (n as u64 - 1) / 2);
    });
}

/// `AbortHandle` aborts from another thread, reports `is_finished`, and
/// the task is freed in either drop order of the two handles (Miri checks
/// the frees).
#[test]
fn abort_handle_from_another_thread() {
    within(30, "abort handle", || {
        let pool = pool();
        let h = pool.spawn_async(pending::<()>());
        let a = h.abort_handle();
        std::thread::spawn(move || a.abort()).join().unwrap();
        assert!(h.join().unwrap_err().is_cancelled());

        // AbortHandle outlives the JoinHandle, and the other way round.
        let h = pool.spawn_async(async { 3 });
        let a = h.abort_handle();
        assert_eq!(h.join().unwrap(), 3);
        assert!(a.is_finished());
        a.abort(); // too late: nothing happens
        drop(a);
        let h = pool.spawn_async(async { 4 });
        drop(h.abort_handle());
        assert_eq!(h.join().unwrap(), 4);
    });
}
