#![cfg(not(loom))]
//! The small API a rayon or tokio user reaches for first: where am I
//! (`current_num_threads`, `current_thread_index`), a job that returns a
//! value (`spawn_handle`), and errors and builders that print well.

mod common;

use std::collections::HashSet;
use std::error::Error as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use spindle::{Affinity, Options, Pool};

#[test]
fn thread_count_and_index_inside_a_pool() {
    common::within(60, "thread count and index", || {
        let pool = Pool::builder().workers(3).build().unwrap();
        assert_eq!(spindle::current_thread_index(), None);
        // The caller takes part as the participant: the last index.
        let (n, i) = pool.install(|| {
            (
                spindle::current_num_threads(),
                spindle::current_thread_index(),
            )
        });
        assert_eq!((n, i), (4, Some(3)));
        // Every worker reports its own index, all below the count.
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let (tx, rx) = mpsc::channel();
        for w in 0..3 {
            let seen = seen.clone();
            let tx = tx.clone();
            let only_w = Options::new().affinity(Affinity::worker(w));
            pool.spawn_with(only_w, move || {
                let i = spindle::current_thread_index().unwrap();
                assert_eq!(Some(i), spindle::worker_index());
                assert_eq!(spindle::current_num_threads(), 4);
                seen.lock().unwrap().insert(i);
                tx.send(()).unwrap();
            })
            .unwrap();
        }
        for _ in 0..3 {
            rx.recv().unwrap();
        }
        assert_eq!(*seen.lock().unwrap(), HashSet::from([0, 1, 2]));
    });
}

#[test]
fn a_nested_pool_reports_its_own_count() {
    common::within(60, "nested pool count", || {
        let outer = Pool::builder().workers(1).build().unwrap();
        let inner = Pool::builder().workers(2).build().unwrap();
        let counts = outer.install(|| {
            let here = spindle::current_num_threads();
            let there = inner.install(spindle::current_num_threads);
            (here, there)
        });
        assert_eq!(counts, (2, 3));
    });
}

#[test]
fn spawn_handle_returns_the_value() {
    common::within(60, "spawn_handle value", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let handles: Vec<_> = (0..100u64)
            .map(|i| pool.spawn_handle(move || i * 3))
            .collect();
        let sum: u64 = handles.into_iter().map(|h| h.join()).sum();
        assert_eq!(sum, 3 * 99 * 100 / 2);
        // From inside a job of the pool, and borrowing nothing.
        let nested = pool.install(|| spindle::spawn_handle(|| 5).join());
        assert_eq!(nested, 5);
        // Awaited.
        let h = pool.spawn_handle(|| String::from("async"));
        assert_eq!(pool.block_on(h).unwrap(), "async");
    });
}

#[test]
fn spawn_handle_join_reraises_the_panic() {
    common::within(60, "spawn_handle panic", || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let h = pool.spawn_handle(|| -> u32 { panic!("job boom") });
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.join()));
        let payload = caught.expect_err("the panic was lost");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"job boom"));

        let h = pool.spawn_handle(|| -> u32 { panic!("second") });
        let err = h.try_join().unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled());
        assert_eq!(err.into_panic().downcast_ref::<&str>(), Some(&"second"));
    });
}

#[test]
fn a_dropped_handle_detaches_and_its_panic_reaches_the_handler() {
    common::within(60, "detached handle", || {
        let handled = Arc::new(AtomicUsize::new(0));
        let h2 = handled.clone();
        let pool = Pool::builder()
            .workers(1)
            .panic_handler(move |_| {
                h2.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let r2 = ran.clone();
        drop(pool.spawn_handle(move || {
            r2.fetch_add(1, Ordering::SeqCst);
        }));
        drop(pool.spawn_handle(|| panic!("nobody joins")));
        // Detached jobs still run (a job not started by the time its pool
        // is dropped is cancelled, like a task: wait for them first).
        while ran.load(Ordering::SeqCst) == 0 || handled.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        drop(pool);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert_eq!(handled.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn spawn_handle_with_honours_affinity_and_rejects_bad_ones() {
    common::within(60, "spawn_handle_with", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let only_1 = Options::new().affinity(Affinity::worker(1));
        let h = pool
            .spawn_handle_with(only_1, spindle::worker_index)
            .unwrap();
        assert_eq!(h.join(), Some(1));
        let nowhere = Options::new().affinity(Affinity::worker(7));
        let err = pool.spawn_handle_with(nowhere, || ()).unwrap_err();
        assert!(
            matches!(err, spindle::Error::NoSuchWorker { worker: 7, .. }),
            "{err}"
        );
    });
}

#[test]
fn system_errors_are_the_source_not_repeated_in_the_message() {
    let io = std::io::Error::other("out of threads");
    let err = spindle::Error::Spawn(io);
    assert!(!err.to_string().contains("out of threads"), "{err}");
    assert_eq!(err.source().unwrap().to_string(), "out of threads");
}

#[test]
fn builders_print_their_settings() {
    let b = Pool::builder().workers(3).thread_name("x-").fibers(8);
    let shown = format!("{b:?}");
    for part in ["workers: Some(3)", "\"x-\"", "fibers: 8"] {
        assert!(shown.contains(part), "{shown}");
    }
}

#[test]
fn fiber_stack_size_is_checked_without_fibers_too() {
    let err = Pool::builder()
        .fibers(0)
        .fiber_stack_size(100)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, spindle::Error::FiberStackSize { value: 100, .. }),
        "{err}"
    );
}
