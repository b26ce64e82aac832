#![cfg(not(loom))]
//! Thread hooks: `on_thread_start`, `on_thread_stop` and `thread_name_fn`.
//! Each hook runs once per worker, on that worker's thread, before its
//! first job and after its last; a panicking hook reaches the panic
//! handler and the worker still starts and stops; names come from the
//! name function, and a bad one fails the build.

mod common;

use common::within;
use spindle::{Error, Pool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What the hooks saw: (index, thread name, worker_index()) per call.
type Seen = Arc<Mutex<Vec<(usize, Option<String>, Option<usize>)>>>;

fn recorder(seen: Seen) -> impl Fn(usize) + Send + Sync + 'static {
    move |i| {
        let name = std::thread::current().name().map(str::to_owned);
        seen.lock()
            .unwrap()
            .push((i, name, spindle::worker_index()));
    }
}

#[test]
fn start_and_stop_hooks_run_once_per_worker_on_its_own_thread() {
    within(30, "start and stop hooks", || {
        let started: Seen = Default::default();
        let stopped: Seen = Default::default();
        let pool = Pool::builder()
            .workers(3)
            .thread_name_fn(|i| format!("physics-{}", 10 + i))
            .on_thread_start(recorder(started.clone()))
            .on_thread_stop(recorder(stopped.clone()))
            .build()
            .unwrap();
        // Every job on a worker runs after that worker's start hook.
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..3 {
            let tx = tx.clone();
            let started = started.clone();
            pool.spawn_with(
                spindle::Options::new().affinity(spindle::Affinity::worker(i)),
                move || {
                    let seen = started.lock().unwrap().iter().any(|s| s.0 == i);
                    tx.send(seen).unwrap();
                },
            )
            .unwrap();
        }
        for _ in 0..3 {
            assert!(
                rx.recv().unwrap(),
                "a job ran before its worker's start hook"
            );
        }
        assert!(stopped.lock().unwrap().is_empty(), "a stop hook ran early");
        drop(pool);
        for seen in [started, stopped] {
            let mut seen = seen.lock().unwrap().clone();
            seen.sort();
            let want: Vec<_> = (0..3)
                .map(|i| (i, Some(format!("physics-{}", 10 + i)), Some(i)))
                .collect();
            assert_eq!(seen, want);
        }
    });
}

#[test]
fn a_panicking_hook_goes_to_the_panic_handler_and_the_worker_still_runs() {
    within(30, "panicking hooks", || {
        let panics = Arc::new(Mutex::new(Vec::new()));
        let p = panics.clone();
        let stops = Arc::new(AtomicUsize::new(0));
        let s = stops.clone();
        let pool = Pool::builder()
            .workers(2)
            .panic_handler(move |payload| {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                p.lock().unwrap().push(msg);
            })
            .on_thread_start(|i| panic!("start hook {i}"))
            .on_thread_stop(move |i| {
                s.fetch_add(1, Ordering::SeqCst);
                panic!("stop hook {i}")
            })
            .build()
            .unwrap();
        // Both workers run jobs: fork-join on them, and one job pinned to each.
        assert_eq!(pool.install(|| spindle::join(|| 1, || 2)), (1, 2));
        for i in 0..2 {
            let h = pool
                .spawn_handle_with(
                    spindle::Options::new().affinity(spindle::Affinity::worker(i)),
                    spindle::worker_index,
                )
                .unwrap();
            assert_eq!(h.join(), Some(i));
        }
        drop(pool);
        assert_eq!(stops.load(Ordering::SeqCst), 2);
        let mut msgs = panics.lock().unwrap().clone();
        msgs.sort();
        assert_eq!(
            msgs,
            ["start hook 0", "start hook 1", "stop hook 0", "stop hook 1"]
        );
    });
}

#[test]
fn names_from_the_name_function_reach_a_spawn_handler_and_a_nul_fails_the_build() {
    let names = Arc::new(Mutex::new(Vec::new()));
    let n = names.clone();
    let pool = Pool::builder()
        .workers(2)
        .thread_name_fn(|i| format!("io-{}", i * 2))
        .spawn_handler(move |worker| {
            n.lock().unwrap().push(worker.name().to_owned());
            std::thread::Builder::new()
                .name(worker.name().to_owned())
                .spawn(move || worker.run())?;
            Ok(())
        })
        .build()
        .unwrap();
    assert_eq!(*names.lock().unwrap(), ["io-0", "io-2"]);
    drop(pool);

    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let err = Pool::builder()
        .workers(2)
        .thread_name_fn(move |i| {
            c.fetch_add(1, Ordering::SeqCst);
            if i == 1 {
                "bad\0name".to_owned()
            } else {
                "good".to_owned()
            }
        })
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::ThreadName { ref prefix } if prefix == "bad\0name"));
    assert!(err.to_string().contains("NUL"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
