#![cfg(not(loom))]
//! Dropping a pool runs every queued job, joins every thread, and leaks
//! nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use spindle::Pool;

/// Threads of this process, from /proc (Linux).
fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Counts live instances: +1 when made, −1 when dropped.
struct Tracked(Arc<AtomicUsize>);
impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn drop_runs_every_queued_job_and_frees_them() {
    let sizes: &[usize] = if cfg!(miri) {
        &[0, 1, 100]
    } else {
        &[0, 1, 1000, 20_000]
    };
    for &pending in sizes {
        let ran = Arc::new(AtomicUsize::new(0));
        let live = Arc::new(AtomicUsize::new(0));
        let p = Pool::builder().workers(2).build().unwrap();
        for _ in 0..pending {
            let ran = ran.clone();
            live.fetch_add(1, Ordering::SeqCst);
            let t = Tracked(live.clone());
            p.spawn(move || {
                let _t = t;
                ran.fetch_add(1, Ordering::Relaxed);
            });
        }
        drop(p);
        assert_eq!(ran.load(Ordering::SeqCst), pending, "jobs lost at shutdown");
        assert_eq!(live.load(Ordering::SeqCst), 0, "job closures leaked");
    }
}

#[test]
fn drop_runs_jobs_spawned_by_jobs_during_shutdown() {
    let ran = Arc::new(AtomicUsize::new(0));
    let p = Pool::builder().workers(2).build().unwrap();
    for _ in 0..100 {
        let ran = ran.clone();
        p.spawn(move || {
            for _ in 0..10 {
                let ran = ran.clone();
                spindle::spawn(move || {
                    ran.fetch_add(1, Ordering::Relaxed);
                });
            }
        });
    }
    drop(p);
    assert_eq!(ran.load(Ordering::SeqCst), 1000);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "reads /proc, which Miri's isolation forbids; Miri itself fails a run that exits with threads left"
)]
fn threads_are_joined() {
    let Some(before) = thread_count() else {
        return; // not on Linux
    };
    for _ in 0..20 {
        let p = Pool::builder().workers(4).build().unwrap();
        p.install(|| spindle::join(|| 1, || 2));
        drop(p);
    }
    // Other tests of this binary may run threads concurrently; allow them.
    let after = thread_count().unwrap();
    assert!(after <= before + 8, "threads leaked: {before} -> {after}");
}

#[test]
fn pool_dropped_on_its_own_worker_does_not_deadlock() {
    let p = Arc::new(Pool::builder().workers(2).build().unwrap());
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let own = p.clone();
    p.spawn(move || {
        go_rx.recv().unwrap();
        // The last handle: the pool is dropped on one of its own workers.
        drop(own);
        done_tx.send(()).unwrap();
    });
    drop(p);
    go_tx.send(()).unwrap();
    done_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("dropping a pool on its own worker hung");
}

/// The last handle dropped inside a job while another worker waits for
/// that very job (in a scope): the drop must not wait for the waiting
/// worker to exit. It detaches; the last worker out finishes shutdown.
#[test]
fn last_handle_dropped_in_a_job_another_worker_waits_for() {
    for _ in 0..if cfg!(miri) { 2 } else { 20 } {
        let p = Arc::new(Pool::builder().workers(2).build().unwrap());
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let own = p.clone();
        p.spawn(move || {
            let started = std::sync::atomic::AtomicBool::new(false);
            spindle::scope(|s| {
                let started = &started;
                s.spawn(move |_| {
                    started.store(true, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    // The last handle: dropped on the worker that runs this
                    // job, while the scope's owner (the other worker) waits.
                    drop(own);
                });
                // Keep this worker from running the job itself.
                while !started.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
            });
            done_tx.send(()).unwrap();
        });
        drop(p);
        done_rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("dropping the last handle in a job another worker waits for hung");
    }
}
