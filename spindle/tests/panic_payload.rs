#![cfg(not(loom))]
//! A panic payload whose own `Drop` panics does not take the process
//! down: wherever spindle drops a payload (after the panic handler, or a
//! second panic of a batch), it drops it under `catch_unwind`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use spindle::{Counter, Pool};

struct Bomb;
impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the payload's drop panicked");
    }
}

#[test]
fn a_detached_jobs_bomb_payload_is_dropped_safely() {
    // The default handler prints and drops the payload.
    let pool = Pool::builder().workers(1).build().unwrap();
    pool.spawn(|| std::panic::panic_any(Bomb));
    let (tx, rx) = mpsc::channel();
    pool.spawn(move || tx.send(7).unwrap());
    assert_eq!(rx.recv().unwrap(), 7);
}

#[test]
fn a_handler_that_drops_a_bomb_payload_is_survived() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let pool = Pool::builder()
        .workers(1)
        .panic_handler(move |p| {
            s.fetch_add(1, Ordering::SeqCst);
            drop(p);
        })
        .build()
        .unwrap();
    pool.spawn(|| std::panic::panic_any(Bomb));
    let (tx, rx) = mpsc::channel();
    pool.spawn(move || tx.send(7).unwrap());
    assert_eq!(rx.recv().unwrap(), 7);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[test]
fn the_second_bomb_of_a_batch_is_dropped_safely() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let c = Counter::new();
    pool.dispatch(&c, (0..4).map(|_| || std::panic::panic_any(Bomb)));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.wait(&c)));
    // The first payload comes back to the waiter; dropping it is ours.
    let payload = r.unwrap_err();
    assert!(payload.is::<Bomb>());
    std::mem::forget(payload);
}
