#![cfg(not(loom))]
//! `Pool::current` and `Pool` as a cloneable handle.

mod common;

use common::within;
use spindle::Pool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn current_is_the_pool_of_the_calling_job_and_none_elsewhere() {
    within(30, "current", || {
        assert!(Pool::current().is_none());
        let (a, b) = (
            Pool::builder().workers(2).build().unwrap(),
            Pool::builder().workers(1).build().unwrap(),
        );
        // In a job, a task, and on the participant slot (install).
        let in_job = a.spawn_handle(Pool::current).join().expect("in a job");
        assert!(in_job.same_pool(&a) && !in_job.same_pool(&b));
        let in_task = a.block_on(a.spawn_async(async { Pool::current() }));
        assert!(in_task.unwrap().expect("in a task").same_pool(&a));
        let in_install = b.install(Pool::current).expect("in install");
        assert!(in_install.same_pool(&b));
        // A job of `a` calling into `b` is `b`'s there and `a`'s after.
        let (inner, outer) = a.install(|| (b.install(Pool::current), Pool::current()));
        assert!(inner.unwrap().same_pool(&b));
        assert!(outer.unwrap().same_pool(&a));
        // Back outside.
        assert!(Pool::current().is_none());
    });
}

#[test]
fn a_clone_keeps_the_pool_running_and_the_last_handle_shuts_it_down() {
    within(30, "clone", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let clone = pool.clone();
        assert!(clone.same_pool(&pool));
        drop(pool);
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        assert_eq!(
            clone.join(|| 1, move || r.fetch_add(1, Ordering::SeqCst)),
            (1, 0)
        );
        let counter = spindle::Counter::new();
        let r = ran.clone();
        clone.dispatch(
            &counter,
            (0..10).map(move |_| {
                let r = r.clone();
                move || {
                    r.fetch_add(1, Ordering::SeqCst);
                }
            }),
        );
        clone.wait(&counter);
        assert_eq!(ran.load(Ordering::SeqCst), 11);
        drop(clone); // the last handle: joins the workers
    });
}

/// A job that submits more work through `Pool::current` while the pool's
/// other handles are dropped: its handle is the last, dropped inside the
/// pool's own job, which detaches instead of joining itself.
#[test]
fn the_last_handle_can_be_one_a_job_got_from_current() {
    within(30, "last handle in a job", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let gate = Arc::new(std::sync::Barrier::new(2));
        let g = gate.clone();
        pool.spawn(move || {
            let me = Pool::current().expect("in a job");
            g.wait(); // the outside handle is dropped meanwhile
            g.wait();
            let (a, b) = me.join(|| 2, || 3);
            tx.send(a + b).unwrap();
            drop(me);
        });
        gate.wait();
        drop(pool);
        gate.wait();
        assert_eq!(rx.recv().unwrap(), 5);
    });
}
