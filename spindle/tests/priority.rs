#![cfg(not(loom))]
//! Priority classes: picks take `High` before `Normal` before `Low`, on
//! every submission path, and lower classes still progress under a flood
//! (the fairness bound of `spindle::FAIR_PERIOD`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use spindle::{Counter, Options, Pool, Priority, FAIR_PERIOD};

fn opts(p: Priority) -> Options {
    Options::new().priority(p)
}

/// Occupies the pool's only worker until the returned sender is used (or
/// dropped), so that work can be queued behind it.
fn block_worker(pool: &Pool) -> mpsc::Sender<()> {
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    pool.spawn(move || {
        started_tx.send(()).unwrap();
        let _ = go_rx.recv();
    });
    started_rx.recv().unwrap();
    go_tx
}

/// Every class queued from outside behind a busy worker: the picks follow
/// the classes, with exactly the fairness picks of the documented bound.
#[test]
fn injected_jobs_run_by_class_with_fair_picks() {
    let pool = Pool::builder().workers(1).build().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let gate = block_worker(&pool);
    const EACH: usize = 30;
    // Submitted lowest first, so arrival order alone would be wrong.
    for p in [Priority::Low, Priority::Normal, Priority::High] {
        for _ in 0..EACH {
            let order = order.clone();
            pool.spawn_with(opts(p), move || order.lock().unwrap().push(p))
                .unwrap();
        }
    }
    drop(gate);
    // Wait from outside without running anything (a helping caller
    // would take jobs itself).
    while order.lock().unwrap().len() < 3 * EACH {
        std::thread::sleep(Duration::from_millis(1));
    }
    let order = order.lock().unwrap().clone();
    let count = |range: std::ops::Range<usize>, p| order[range].iter().filter(|&&q| q == p).count();
    // While `High` work remains, a worker gives at most 2 of every
    // FAIR_PERIOD picks to other classes.
    let last_high = order.iter().rposition(|&p| p == Priority::High).unwrap();
    let fair = FAIR_PERIOD as usize;
    assert!(
        last_high < EACH + 2 * (EACH + fair - 1) / (fair - 2) + 2,
        "High finished late, at pick {last_high}: {order:?}"
    );
    // Before `Normal` runs out (about 2 * EACH picks), `Low` gets exactly
    // its fairness picks: one per FAIR_PERIOD, give or take the phase.
    let window = 2 * EACH;
    let lows = count(0..window, Priority::Low);
    let expect = window / fair;
    assert!(
        (expect.saturating_sub(1)..=expect + 1).contains(&lows),
        "{lows} Low picks in the first {window} (expected about {expect}): {order:?}"
    );
    // And the mean position orders the classes.
    let mean = |p| {
        order
            .iter()
            .enumerate()
            .filter(|(_, &q)| q == p)
            .map(|(i, _)| i)
            .sum::<usize>()
            / EACH
    };
    assert!(mean(Priority::High) < mean(Priority::Normal));
    assert!(mean(Priority::Normal) < mean(Priority::Low));
}

/// Jobs a worker queues on its own deques: the `High` one runs first.
#[test]
fn own_queue_takes_high_first() {
    let pool = Pool::builder().workers(1).build().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = mpsc::channel();
    let o = order.clone();
    pool.spawn(move || {
        for i in 0..10 {
            let o = o.clone();
            spindle::spawn_with(opts(Priority::Low), move || {
                o.lock().unwrap().push(("low", i))
            })
            .unwrap();
        }
        for i in 0..10 {
            let o = o.clone();
            spindle::spawn(move || o.lock().unwrap().push(("normal", i)));
        }
        let o2 = o.clone();
        spindle::spawn_with(opts(Priority::High), move || {
            o2.lock().unwrap().push(("high", 0));
        })
        .unwrap();
        done_tx.send(()).unwrap();
    });
    done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // Own deques pop newest first within a class, so wait for all 21.
    let t = Instant::now();
    while order.lock().unwrap().len() < 21 {
        assert!(t.elapsed() < Duration::from_secs(10), "jobs did not run");
        std::thread::sleep(Duration::from_millis(1));
    }
    let order = order.lock().unwrap().clone();
    let high = order.iter().position(|e| e.0 == "high").unwrap();
    // The first pick after the spawner may be a fairness pick, at most one.
    assert!(high <= 1, "High ran at pick {high}: {order:?}");
    // Of the Low jobs, only fairness picks (one in FAIR_PERIOD) may run
    // before the Normal ones are done: at most 2 in these 21 picks.
    let last_normal = order.iter().rposition(|e| e.0 == "normal").unwrap();
    let early_lows = order[..last_normal].iter().filter(|e| e.0 == "low").count();
    assert!(
        early_lows <= 2,
        "{early_lows} Low jobs ran before Normal ones: {order:?}"
    );
}

/// A flood of `High` jobs that resubmit themselves on every worker never
/// stops `Low` (or `Normal`) work from finishing.
#[test]
#[cfg_attr(
    miri,
    ignore = "a time-bounded flood; too slow to mean anything under Miri"
)]
fn low_progresses_under_a_high_flood() {
    let pool = Arc::new(Pool::builder().workers(2).build().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    fn flood(pool: Arc<Pool>, stop: Arc<AtomicBool>) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let p = pool.clone();
        pool.spawn_with(opts(Priority::High), move || {
            std::hint::black_box((0..200).sum::<u64>());
            flood(p, stop)
        })
        .unwrap();
    }
    for _ in 0..8 {
        flood(pool.clone(), stop.clone());
    }
    let done = Arc::new(AtomicUsize::new(0));
    for p in [Priority::Low, Priority::Normal] {
        for _ in 0..100 {
            let done = done.clone();
            pool.spawn_with(opts(p), move || {
                done.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
        }
    }
    let t = Instant::now();
    while done.load(Ordering::Relaxed) < 200 {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "starved: {} of 200 lower-class jobs ran under a High flood",
            done.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Relaxed);
}

/// Each submission path carries its priority: with the worker busy, a
/// `High` submission made after `Low` ones runs before them.
#[test]
fn every_path_carries_priority() {
    let pool = Pool::builder().workers(1).build().unwrap();
    let log = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let (done_tx, done_rx) = mpsc::channel();
    let l = log.clone();
    pool.spawn(move || {
        // Inside a job (so `scope`, `join` and tasks queue on this worker).
        spindle::scope(|s| {
            for _ in 0..3 {
                let l = l.clone();
                s.spawn_with(opts(Priority::Low), move |_| l.lock().unwrap().push("low"))
                    .unwrap();
            }
            let l2 = l.clone();
            s.spawn_with(opts(Priority::High), move |_| {
                l2.lock().unwrap().push("scope")
            })
            .unwrap();
            let l3 = l.clone();
            // `join_with`: `a` runs here first; `b` (High) must run before
            // the Low jobs when the wait looks for work.
            spindle::join_with(
                opts(Priority::High),
                || {},
                move || l3.lock().unwrap().push("join"),
            )
            .unwrap();
        });
        done_tx.send(()).unwrap();
    });
    done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let log = log.lock().unwrap().clone();
    let pos = |n| log.iter().position(|&e| e == n).unwrap();
    assert!(pos("join") < 2 && pos("scope") < 2, "{log:?}");

    // `dispatch_with` and `spawn_async_with` from outside, behind a busy
    // worker.
    let log = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let gate = block_worker(&pool);
    let counter = Counter::new();
    let l = log.clone();
    pool.dispatch_with(
        opts(Priority::Low),
        &counter,
        (0..3).map(move |_| {
            let l = l.clone();
            move || l.lock().unwrap().push("low")
        }),
    )
    .unwrap();
    let l = log.clone();
    pool.dispatch_with(
        opts(Priority::High),
        &counter,
        [move || l.lock().unwrap().push("batch")],
    )
    .unwrap();
    let l = log.clone();
    let task = pool
        .spawn_async_with(opts(Priority::High), async move {
            l.lock().unwrap().push("task");
        })
        .unwrap();
    drop(gate);
    task.join().unwrap();
    pool.wait(&counter);
    let log = log.lock().unwrap().clone();
    let pos = |n| log.iter().position(|&e| e == n).unwrap();
    // One fairness pick may come first.
    assert!(pos("batch") < 3 && pos("task") < 3, "{log:?}");
}
