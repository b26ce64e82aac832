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

/// A frame loop's main thread lends its spare time to the pool: it runs
/// general jobs (not only main jobs) for about its budget, then returns.
#[test]
#[cfg_attr(miri, ignore = "timing: Miri's clock counts instructions")]
fn run_pending_runs_pool_jobs_on_the_main_thread_within_its_budget() {
    use std::time::Instant;

    let pool = spindle::Pool::builder().workers(1).build().unwrap();
    // Keep the one worker busy so queued jobs wait for a thread.
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    pool.spawn(move || {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    started_rx.recv().unwrap();

    let main = std::thread::current().id();
    let on_main = Arc::new(AtomicUsize::new(0));
    let counter = spindle::Counter::new();
    let jobs = 200;
    let m = on_main.clone();
    pool.dispatch(
        &counter,
        (0..jobs).map(move |_| {
            let m = m.clone();
            move || {
                if std::thread::current().id() == main {
                    m.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }),
    );
    let t = Instant::now();
    let ran = pool.run_pending(Duration::from_millis(20));
    let took = t.elapsed();
    // It ran jobs here, not all of them (200 ms of work), and returned
    // near its budget (one job of overrun, plus a slow machine's slack).
    assert!(ran >= 5, "ran {ran}");
    assert!(ran < jobs, "ran all {ran}");
    assert_eq!(on_main.load(Ordering::SeqCst), ran);
    assert!(took < Duration::from_millis(500), "took {took:?}");

    // With the worker released, the rest finishes; then there is nothing
    // to run and it returns at once.
    release_tx.send(()).unwrap();
    while !counter.is_done() {
        pool.run_pending(Duration::from_millis(5));
    }
    pool.wait(&counter);
    let t = Instant::now();
    assert_eq!(pool.run_pending(Duration::from_secs(10)), 0);
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn run_pending_runs_main_jobs_first() {
    let pool = spindle::Pool::builder().workers(1).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    pool.spawn_on_main(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert!(pool.run_pending(Duration::ZERO) >= 1);
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}
