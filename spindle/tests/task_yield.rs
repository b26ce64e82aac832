#![cfg(not(loom))]
//! Async tasks that give way: `yield_async` (behind all queued work, and
//! marked for its poller without a wake when the waker is the task's own)
//! and the cooperative budget for tasks that keep waking themselves.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

fn pool(workers: usize) -> spindle::Pool {
    spindle::Pool::builder().workers(workers).build().unwrap()
}

/// A future that wakes itself on every poll and never finishes until
/// `stop` is set (without `yield_async`: the budget must stop it from
/// starving the worker).
struct Spin(Arc<AtomicBool>);

impl Future for Spin {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[test]
fn yield_lets_another_task_run_on_one_worker() {
    let p = pool(1);
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = flag.clone();
    let spinner = p.spawn_async(async move {
        let mut n = 0u64;
        while !f2.load(Ordering::SeqCst) {
            spindle::yield_async().await;
            n += 1;
        }
        n
    });
    let setter = p.spawn_async(async move { flag.store(true, Ordering::SeqCst) });
    setter.join().unwrap();
    assert!(spinner.join().unwrap() >= 1);
}

/// tokio issue 4730: a task that keeps waking itself (no explicit yield)
/// must not starve the work queued behind it on its worker.
#[test]
fn self_waking_task_cannot_starve_its_worker() {
    let p = pool(1);
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let s2 = stop.clone();
    let spin = p.spawn_async(async move {
        // From inside the pool: the next task goes on this worker's deque,
        // under the spinning task.
        let tx2 = tx.clone();
        drop(spindle::spawn_async(async move { tx2.send(()).unwrap() }));
        Spin(s2).await;
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the task behind the spinner never ran");
    stop.store(true, Ordering::SeqCst);
    spin.join().unwrap();
}

/// A yield goes behind everything already queued on its worker: with one
/// worker, the three tasks queued before the yield all run before the
/// yielder resumes (not just the oldest one).
#[test]
fn yield_goes_behind_all_queued_work() {
    let p = pool(1);
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let o = order.clone();
    p.spawn_async(async move {
        let mut hs = Vec::new();
        for i in 1..=3 {
            let o = o.clone();
            hs.push(spindle::spawn_async(
                async move { o.lock().unwrap().push(i) },
            ));
        }
        spindle::yield_async().await;
        o.lock().unwrap().push(0);
        for h in hs {
            h.await.unwrap();
        }
    })
    .join()
    .unwrap();
    assert_eq!(*order.lock().unwrap(), vec![1, 2, 3, 0]);
}

/// A yield inside a task marks the task for its poller without waking it
/// (the waker is the task's own). A poll that yields and then, in the same
/// poll, runs other tasks nested on its thread (a blocking `join` helps)
/// must still be requeued: each nested poll keeps its own yield mark.
/// Also checks a yield through a foreign waker (a wrapper around the
/// task's), which must wake the task the ordinary way.
#[test]
fn yield_then_nested_polls_still_requeues_the_yielder() {
    /// Polls `yield_async` once (Pending), then joins a task that yields
    /// itself, nested in this poll; Ready on the next poll.
    struct YieldThenJoin {
        yielder: Option<Pin<Box<spindle::YieldAsync>>>,
        wrap_waker: bool,
    }
    impl Future for YieldThenJoin {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            let wrap = self.wrap_waker;
            let Some(y) = self.yielder.as_mut() else {
                return Poll::Ready(7);
            };
            let ready = if wrap {
                let foreign = std::task::Waker::from(Arc::new(Forward(cx.waker().clone())));
                y.as_mut()
                    .poll(&mut Context::from_waker(&foreign))
                    .is_ready()
            } else {
                y.as_mut().poll(cx).is_ready()
            };
            if ready {
                self.yielder = None;
                return Poll::Ready(7);
            }
            // Runs nested on this worker: the only one, and we hold it.
            let inner = spindle::spawn_async(async {
                for _ in 0..3 {
                    spindle::yield_async().await;
                }
                35
            });
            assert_eq!(inner.join().unwrap(), 35);
            Poll::Pending
        }
    }
    /// A waker of our own that forwards to the task's.
    struct Forward(std::task::Waker);
    impl std::task::Wake for Forward {
        fn wake(self: Arc<Self>) {
            self.0.wake_by_ref();
        }
    }

    for wrap_waker in [false, true] {
        let p = pool(1);
        let (tx, rx) = std::sync::mpsc::channel();
        drop(p.spawn_async(async move {
            let v = YieldThenJoin {
                yielder: Some(Box::pin(spindle::yield_async())),
                wrap_waker,
            }
            .await;
            tx.send(v).unwrap();
        }));
        let v = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the yielding task was never polled again");
        assert_eq!(v, 7, "wrap_waker={wrap_waker}");
    }
}
