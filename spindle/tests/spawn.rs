#![cfg(not(loom))]
//! Detached jobs and the panic handler.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use spindle::Pool;

#[test]
fn detached_jobs_run() {
    let p = Pool::builder().workers(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    for i in 0..100 {
        let tx = tx.clone();
        p.spawn(move || tx.send(i).unwrap());
    }
    let mut got: Vec<i32> = (0..100).map(|_| rx.recv().unwrap()).collect();
    got.sort();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[test]
fn spawn_from_inside_a_job_uses_the_same_pool() {
    let p = Pool::builder().workers(2).build().unwrap();
    let (tx, rx) = mpsc::channel();
    p.spawn(move || {
        for i in 0..10 {
            let tx = tx.clone();
            spindle::spawn(move || tx.send(i).unwrap());
        }
    });
    let mut got: Vec<i32> = (0..10).map(|_| rx.recv().unwrap()).collect();
    got.sort();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn panics_go_to_the_handler_and_the_pool_goes_on() {
    let handled = Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    let p = Pool::builder()
        .workers(1)
        .panic_handler(move |payload| {
            assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "detached boom");
            h.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    for _ in 0..5 {
        p.spawn(|| panic!("detached boom"));
    }
    drop(p); // runs every queued job
    assert_eq!(handled.load(Ordering::SeqCst), 5);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the global pool's workers outlive main by design, which Miri reports as a leak; .ci/sanitizers runs it alone with -Zmiri-ignore-leaks"
)]
fn global_pool_free_functions() {
    let (tx, rx) = mpsc::channel();
    spindle::spawn(move || tx.send(spindle::join(|| 1, || 2)).unwrap());
    assert_eq!(rx.recv().unwrap(), (1, 2));
    assert_eq!(
        spindle::scope(|s| {
            s.spawn(|_| ());
            5
        }),
        5
    );
    // Used, so it can no longer be configured.
    let err = spindle::Pool::builder().build_global().unwrap_err();
    assert!(matches!(err, spindle::Error::GlobalPoolExists), "{err}");
}
