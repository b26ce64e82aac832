#![cfg(not(loom))]
//! Bugs with a one-line cause, each pinned by a test: waiters of one
//! counter in one task, the drop of a finished task's output, thread names
//! the OS refuses, and `JobError` crossing into `Send + Sync` errors.
//! (A panicking panic payload is in `panic_payload.rs`; `SpinLockGuard`
//! not being `Sync` for a `!Sync` value is a `compile_fail` doctest.)

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use common::within;
use spindle::{Counter, Event, JobError, Pool};

/// Two `wait_async` futures of one counter in one task (a `select`'s two
/// branches share the task's waker): dropping the loser must leave the
/// other one registered, so the count reaching zero still wakes it
/// although it is not polled again before then.
#[test]
fn dropping_one_counter_future_keeps_the_other_registered() {
    within(30, "second counter future", || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let counter = Counter::new();
        let gate = Arc::new(Event::manual());
        let g = gate.clone();
        pool.dispatch(&counter, [move || g.wait()]);
        pool.block_on(async {
            let mut kept = Box::pin(counter.wait_async());
            let mut lost = Some(Box::pin(counter.wait_async()));
            std::future::poll_fn(|cx| {
                if let Some(mut l) = lost.take() {
                    // One poll of the task: both pending, then the loser
                    // is dropped, and the task waits for a wake.
                    assert!(kept.as_mut().poll(cx).is_pending());
                    assert!(l.as_mut().poll(cx).is_pending());
                    drop(l);
                    let g = gate.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(20));
                        g.set();
                    });
                    return Poll::Pending;
                }
                kept.as_mut().poll(cx)
            })
            .await;
        });
        assert!(counter.is_done());
    });
}

struct PanicsOnDrop;
impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("the output's drop panicked");
    }
}

fn counting_pool(count: &Arc<AtomicUsize>) -> Pool {
    let c = count.clone();
    Pool::builder()
        .workers(1)
        .panic_handler(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap()
}

/// Dropping the handle of a finished task drops its output; a panic in
/// that drop goes to the pool's panic handler, not to the dropping thread.
#[test]
fn a_finished_outputs_drop_panic_goes_to_the_handler() {
    let handled = Arc::new(AtomicUsize::new(0));
    let pool = counting_pool(&handled);
    let h = pool.spawn_async(async { PanicsOnDrop });
    while !h.is_finished() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(h)));
    assert!(
        dropped.is_ok(),
        "the output's drop panic reached the handle's owner"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 1);
    // The pool goes on.
    assert_eq!(pool.spawn_async(async { 5 }).join().unwrap(), 5);
}

/// The same when the handle is dropped first: the worker that finishes the
/// task drops the output, and the panic goes to the handler.
#[test]
fn a_detached_outputs_drop_panic_goes_to_the_handler() {
    let handled = Arc::new(AtomicUsize::new(0));
    let pool = counting_pool(&handled);
    let gate = Arc::new(Event::manual());
    let g = gate.clone();
    let h = pool.spawn_async(async move {
        g.wait_async().await;
        PanicsOnDrop
    });
    drop(h);
    gate.set();
    let t0 = std::time::Instant::now();
    while handled.load(Ordering::SeqCst) == 0 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(handled.load(Ordering::SeqCst), 1);
    assert_eq!(pool.spawn_async(async { 5 }).join().unwrap(), 5);
}

/// A thread name the OS cannot take (an interior NUL) is an error from
/// `build`, not a panic.
#[test]
fn a_thread_name_with_a_nul_is_an_error() {
    let r = std::panic::catch_unwind(|| Pool::builder().thread_name("a\0b").build());
    let err = r.expect("build panicked").unwrap_err();
    assert!(err.to_string().contains("thread name"), "{err}");
}

/// `JobError` goes into `Box<dyn Error + Send + Sync>` (and so `anyhow`).
#[test]
fn job_error_is_send_and_sync() {
    fn boxed(e: JobError) -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(e)
    }
    let pool = Pool::builder().workers(1).build().unwrap();
    let err = pool
        .spawn_async(async { panic!("boom") })
        .join()
        .unwrap_err();
    let e = boxed(err);
    assert!(e.to_string().contains("boom"), "{e}");
    let e: Box<dyn std::error::Error + Send + Sync> = e;
    let back = e.downcast::<JobError>().unwrap();
    assert!(back.is_panic());
}
