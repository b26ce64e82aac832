#![cfg(not(loom))]
//! Main-thread jobs: `spawn_on_main` from workers, run by the thread that
//! built the pool in `run_main_jobs` or while it waits on the pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn main_jobs_run_on_the_owner_thread_only() {
    let pool = Arc::new(spindle::Pool::builder().workers(2).build().unwrap());
    let main = std::thread::current().id();
    let ran = Arc::new(AtomicUsize::new(0));
    let done = spindle::Counter::new();
    let p = pool.clone();
    let r = ran.clone();
    pool.dispatch(
        &done,
        (0..10).map(move |_| {
            let (p, r) = (p.clone(), r.clone());
            move || {
                p.spawn_on_main(move || {
                    assert_eq!(std::thread::current().id(), main);
                    r.fetch_add(1, Ordering::SeqCst);
                })
            }
        }),
    );
    pool.wait(&done);
    // Some may have run inside `wait` already; the rest run now.
    let now = pool.run_main_jobs().unwrap();
    assert!(now <= 10);
    assert_eq!(ran.load(Ordering::SeqCst), 10);
    assert_eq!(pool.run_main_jobs().unwrap(), 0);

    // Any other thread gets an error, and runs nothing.
    pool.spawn_on_main(|| {});
    let p2 = pool.clone();
    let err = std::thread::spawn(move || p2.run_main_jobs().unwrap_err())
        .join()
        .unwrap();
    assert!(matches!(err, spindle::Error::NotMainThread), "{err}");
    assert_eq!(pool.run_main_jobs().unwrap(), 1);
}

/// A job that needs the main thread to do something before it can finish,
/// while the main thread waits for that job: whether the job runs on a
/// worker (the main thread's `wait` runs the main job) or on the main
/// thread itself as the participant (its `Event` wait runs it), this
/// completes. A watchdog fails the test instead of hanging.
#[test]
fn waiting_main_thread_runs_main_jobs() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Miri's clock runs on executed instructions: 20 pools built and
        // dropped under it took more than 30 of its seconds.
        let limit = if cfg!(miri) { 300 } else { 30 };
        if rx.recv_timeout(Duration::from_secs(limit)).is_err() {
            eprintln!("main job never ran: the wait did not run main jobs");
            std::process::abort();
        }
    });
    for _ in 0..if cfg!(miri) { 5 } else { 20 } {
        let pool = Arc::new(spindle::Pool::builder().workers(1).build().unwrap());
        let done = spindle::Counter::new();
        let ev = Arc::new(spindle::Event::manual());
        let (p, e) = (pool.clone(), ev.clone());
        pool.dispatch(
            &done,
            [move || {
                let e2 = e.clone();
                p.spawn_on_main(move || e2.set());
                e.wait();
            }],
        );
        pool.wait(&done);
        assert!(ev.is_set());
    }
    tx.send(()).unwrap();
}

#[test]
fn main_job_panic_goes_to_the_handler_and_drop_runs_leftovers() {
    let panics = Arc::new(AtomicUsize::new(0));
    let p2 = panics.clone();
    let pool = spindle::Pool::builder()
        .workers(1)
        .panic_handler(move |_| {
            p2.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    pool.spawn_on_main(|| panic!("main job boom"));
    assert_eq!(pool.run_main_jobs().unwrap(), 1);
    assert_eq!(panics.load(Ordering::SeqCst), 1);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    pool.spawn_on_main(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    drop(pool);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "dropped on its thread: leftovers run"
    );
}
