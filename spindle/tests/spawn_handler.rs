#![cfg(not(loom))]
//! `Builder::spawn_handler`: pools whose workers run on threads the user
//! starts. The workload of the web tests (fork-join, a scope of 10,000
//! spawns, a counter batch, an async task, priorities, a panic as an
//! error) on named, counted threads; failures of the handler; workers
//! started late or never.

mod common;

use common::{fib, within};
use spindle::{Affinity, Counter, Error, Options, Pool, Priority, WorkerThread};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// Threads a test's handler started, and how many of them still run.
#[derive(Default)]
struct Threads {
    started: AtomicUsize,
    running: AtomicUsize,
    names: Mutex<Vec<String>>,
}

/// A handler that starts each worker on a `std::thread` of its own,
/// named `app-worker-{index}`, and counts them.
fn counting_handler(
    threads: Arc<Threads>,
) -> impl FnMut(WorkerThread) -> std::io::Result<()> + 'static {
    move |worker: WorkerThread| {
        let name = format!("app-worker-{}", worker.index());
        threads.names.lock().unwrap().push(name.clone());
        threads.started.fetch_add(1, Ordering::SeqCst);
        threads.running.fetch_add(1, Ordering::SeqCst);
        let t = threads.clone();
        std::thread::Builder::new()
            .name(name)
            .stack_size(worker.stack_size())
            .spawn(move || {
                worker.run();
                t.running.fetch_sub(1, Ordering::SeqCst);
            })?;
        Ok(())
    }
}

/// A pool of `workers` whose handler only keeps each `WorkerThread`, for
/// the test to start (or not) later.
fn stashed_pool(workers: usize) -> (Pool, Arc<Mutex<Vec<WorkerThread>>>) {
    let stash: Arc<Mutex<Vec<WorkerThread>>> = Arc::default();
    let s = stash.clone();
    let pool = Pool::builder()
        .workers(workers)
        .spawn_handler(move |worker| {
            s.lock().unwrap().push(worker);
            Ok(())
        })
        .build()
        .unwrap();
    (pool, stash)
}

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

#[test]
fn the_pool_runs_every_kind_of_work_on_the_handlers_threads() {
    let threads = Arc::new(Threads::default());
    let t = threads.clone();
    within(120, "custom spawner workload", move || {
        let pool = Pool::builder()
            .workers(3)
            .spawn_handler(counting_handler(t.clone()))
            .build()
            .unwrap();
        assert_eq!(t.started.load(Ordering::SeqCst), 3);
        assert_eq!(
            *t.names.lock().unwrap(),
            ["app-worker-0", "app-worker-1", "app-worker-2"]
        );

        // Each worker runs on the thread the handler gave it.
        for w in 0..3 {
            let name = pool
                .spawn_handle_with(Options::new().affinity(Affinity::worker(w)), thread_name)
                .unwrap()
                .join();
            assert_eq!(name, format!("app-worker-{w}"));
        }

        // Fork-join.
        let n = if cfg!(miri) { 10 } else { 25 };
        let expect = if cfg!(miri) { 55 } else { 75_025 };
        assert_eq!(pool.install(|| fib(n)), expect);

        // A scope with 10,000 spawns.
        let spawns = if cfg!(miri) { 100 } else { 10_000 };
        let sum = AtomicUsize::new(0);
        pool.scope(|s| {
            for i in 0..spawns {
                let sum = &sum;
                s.spawn(move |_| {
                    sum.fetch_add(i, Ordering::Relaxed);
                });
            }
        });
        assert_eq!(sum.load(Ordering::Relaxed), spawns * (spawns - 1) / 2);

        // A counter batch.
        let counter = Counter::new();
        let hits = Arc::new(AtomicUsize::new(0));
        pool.dispatch(
            &counter,
            (0..100).map(|_| {
                let hits = hits.clone();
                move || {
                    hits.fetch_add(1, Ordering::Relaxed);
                }
            }),
        );
        pool.wait(&counter);
        assert_eq!(hits.load(Ordering::Relaxed), 100);

        // An async task, awaited.
        let task = pool.spawn_async(async { fib(15) });
        assert_eq!(pool.block_on(task).unwrap(), 610);

        // Priorities: one worker picks, one job at a time, from Low jobs
        // and a High one queued after them (all in its mailbox; the other
        // workers are held). The High one comes within its first two
        // picks: the fairness rule lets one pick in 16 start from Low.
        // (Released together, several workers would run them in
        // parallel, and the order they finish in would say nothing.)
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut releases = Vec::new();
        let (ready_tx, ready_rx) = mpsc::channel();
        for w in 0..3 {
            let (release, held) = mpsc::channel::<()>();
            releases.push(release);
            let ready_tx = ready_tx.clone();
            pool.spawn_with(Options::new().affinity(Affinity::worker(w)), move || {
                ready_tx.send(()).unwrap();
                let _ = held.recv();
            })
            .unwrap();
        }
        for _ in 0..3 {
            ready_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        }
        let done = Counter::new();
        for (p, tag) in [
            (Priority::Low, "low"),
            (Priority::Low, "low"),
            (Priority::Low, "low"),
            (Priority::High, "high"),
        ] {
            let order = order.clone();
            let options = Options::new().priority(p).affinity(Affinity::worker(0));
            pool.dispatch_with(options, &done, [move || order.lock().unwrap().push(tag)])
                .unwrap();
        }
        releases[0].send(()).unwrap();
        pool.wait(&done);
        let order = order.lock().unwrap().clone();
        assert_eq!(order.len(), 4);
        assert!(order[..2].contains(&"high"), "{order:?}");
        for release in &releases[1..] {
            release.send(()).unwrap();
        }

        // A panic comes back as an error.
        let err = pool
            .block_on(pool.spawn_async(async { panic!("boom in a worker") }))
            .unwrap_err();
        assert!(err.is_panic());

        // Dropping the pool waits until every worker left its thread's
        // `run`.
        drop(pool);
    });
    // `within` returned after the drop: the handler's threads may still be
    // finishing their last line after `run`; give them a moment.
    for _ in 0..600 {
        if threads.running.load(Ordering::SeqCst) == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(threads.running.load(Ordering::SeqCst), 0);
}

#[test]
fn dropping_the_pool_returns_only_after_every_worker_left_run() {
    let left = Arc::new(AtomicUsize::new(0));
    let l = left.clone();
    let pool = Pool::builder()
        .workers(2)
        .spawn_handler(move |worker| {
            let l = l.clone();
            std::thread::spawn(move || {
                worker.run();
                l.fetch_add(1, Ordering::SeqCst);
            });
            Ok(())
        })
        .build()
        .unwrap();
    // Work still queued at the drop runs first.
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let ran = ran.clone();
        pool.spawn(move || {
            std::thread::sleep(Duration::from_micros(100));
            ran.fetch_add(1, Ordering::SeqCst);
        });
    }
    within(60, "drop of a custom-spawned pool", move || drop(pool));
    assert_eq!(ran.load(Ordering::SeqCst), 100);
    // `run` has returned on both threads (the increment right after it
    // may still be on its way).
    for _ in 0..600 {
        if left.load(Ordering::SeqCst) == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(left.load(Ordering::SeqCst), 2);
}

#[test]
fn a_handler_error_fails_the_build_and_stops_the_started_workers() {
    let threads = Arc::new(Threads::default());
    let mut inner = counting_handler(threads.clone());
    let err = Pool::builder()
        .workers(3)
        .spawn_handler(move |worker| {
            if worker.index() == 2 {
                return Err(std::io::Error::other("no more threads here"));
            }
            inner(worker)
        })
        .build()
        .unwrap_err();
    assert!(matches!(&err, Error::Spawn(e) if e.to_string() == "no more threads here"));
    assert_eq!(threads.started.load(Ordering::SeqCst), 2);
    for _ in 0..600 {
        if threads.running.load(Ordering::SeqCst) == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        threads.running.load(Ordering::SeqCst),
        0,
        "started workers stopped"
    );
}

#[test]
fn workers_started_after_build_take_the_work_queued_before() {
    // As on the web: the handler only posts the worker somewhere, and it
    // starts later.
    let (pool, stash) = stashed_pool(2);
    let (tx, rx) = mpsc::channel();
    for i in 0..10 {
        let tx = tx.clone();
        pool.spawn(move || tx.send(i).unwrap());
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(50)).is_err(),
        "no worker yet"
    );
    let workers: Vec<_> = stash.lock().unwrap().drain(..).collect();
    assert_eq!(workers.len(), 2);
    let threads: Vec<_> = workers
        .into_iter()
        .map(|w| std::thread::spawn(move || w.run()))
        .collect();
    let mut got: Vec<i32> = (0..10)
        .map(|_| rx.recv_timeout(Duration::from_secs(60)).unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    within(60, "drop after late start", move || drop(pool));
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_worker_dropped_unrun_leaves_the_pool_a_worker_short_but_working() {
    let pool = Pool::builder()
        .workers(2)
        .spawn_handler(|worker| {
            if worker.index() == 1 {
                drop(worker);
                return Ok(());
            }
            std::thread::spawn(move || worker.run());
            Ok(())
        })
        .build()
        .unwrap();
    within(60, "a worker short", move || {
        assert_eq!(pool.install(|| fib(18)), 2584);
        let r = pool.spawn_handle(|| 7).join();
        assert_eq!(r, 7);
        drop(pool);
    });
}

#[test]
fn run_on_a_thread_that_runs_a_worker_panics_and_the_pool_still_shuts_down() {
    let (pool, stash) = stashed_pool(1);
    let other = Pool::builder().workers(1).build().unwrap();
    let worker = stash.lock().unwrap().pop().unwrap();
    let err = other
        .spawn_handle(move || worker.run())
        .try_join()
        .unwrap_err();
    assert!(err.is_panic());
    let message = err.to_string();
    assert!(
        message.contains("already runs a pool's worker"),
        "{message}"
    );
    // The worker counts as never run: the pool has none, and its drop
    // does not wait for one.
    within(60, "drop with its only worker refused", move || drop(pool));
}

#[test]
fn a_pool_that_does_not_wait_on_drop_returns_at_once_and_still_runs_its_jobs() {
    let pool = Pool::builder()
        .workers(1)
        .drop_waits(false)
        .build()
        .unwrap();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    let (started_tx, started_rx) = mpsc::channel();
    pool.spawn(move || {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        done_tx.send("first").unwrap();
    });
    let done = done_tx_clone_for_queued(&pool);
    started_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    // The worker is busy until `go`: a waiting drop would hang here.
    within(10, "a drop that does not wait", move || drop(pool));
    go_tx.send(()).unwrap();
    assert_eq!(
        done_rx.recv_timeout(Duration::from_secs(60)).unwrap(),
        "first"
    );
    // The job queued behind it ran too, after the drop returned.
    assert_eq!(
        done.recv_timeout(Duration::from_secs(60)).unwrap(),
        "queued"
    );
}

/// Queues a job on `pool` and returns where it reports.
fn done_tx_clone_for_queued(pool: &Pool) -> mpsc::Receiver<&'static str> {
    let (tx, rx) = mpsc::channel();
    pool.spawn(move || tx.send("queued").unwrap());
    rx
}
