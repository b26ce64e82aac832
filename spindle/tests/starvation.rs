#![cfg(not(loom))]
//! Tasks that wake each other cannot starve older queued work: a hundred
//! pairs of tasks ping-ponging through auto-reset events, queued on one
//! worker after a task that only wants to be polled once, must let that
//! task run within a bounded number of wakes (see `spindle::FAIR_LOCAL`).
//! And that fairness does not turn a tree of spawned tasks breadth-first.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use common::within;
use spindle::{Event, Pool};

const PAIRS: usize = if cfg!(miri) { 4 } else { 100 };

/// Starts `PAIRS` ping-pong pairs and one older task from a job on a
/// worker (so all of them sit on that worker's deque, the old task at its
/// far end), and returns how many ping-pong polls ran before the old task
/// was polled.
fn polls_before_the_old_task(workers: usize) -> u64 {
    let pool = Arc::new(Pool::builder().workers(workers).build().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel();
    {
        let (stop, polls) = (stop.clone(), polls.clone());
        pool.spawn(move || {
            // The old task: records how many ping-pong polls came first.
            let p = polls.clone();
            drop(spindle::spawn_async(async move {
                tx.send(p.load(Ordering::SeqCst)).unwrap();
            }));
            for _ in 0..PAIRS {
                let ping = Arc::new(Event::auto());
                let pong = Arc::new(Event::auto());
                let (ping2, pong2, stop2, polls2) =
                    (ping.clone(), pong.clone(), stop.clone(), polls.clone());
                drop(spindle::spawn_async(async move {
                    while !stop2.load(Ordering::Relaxed) {
                        ping2.set();
                        pong2.wait_async().await;
                        polls2.fetch_add(1, Ordering::SeqCst);
                    }
                    ping2.set();
                }));
                let stop3 = stop.clone();
                drop(spindle::spawn_async(async move {
                    while !stop3.load(Ordering::Relaxed) {
                        ping.wait_async().await;
                        pong.set();
                    }
                    pong.set();
                }));
            }
        });
    }
    let before = rx.recv().unwrap();
    stop.store(true, Ordering::SeqCst);
    before
}

/// The bound the docs promise, with room for the pairs' own start-up
/// polls: every job waiting on a worker's deque is picked within
/// `FAIR_LOCAL` wakes per job ahead of it (each ping-pong poll here is one
/// wake), and the old task has at most the pairs' tasks (two per pair)
/// ahead of it.
fn bound() -> u64 {
    (spindle::FAIR_LOCAL as u64) * (2 * PAIRS as u64 + 1) + 2 * PAIRS as u64
}

#[test]
fn ping_pong_pairs_do_not_starve_an_older_task_on_one_worker() {
    let n = within(60, "old task under ping-pong, 1 worker", || {
        polls_before_the_old_task(1)
    });
    assert!(
        n <= bound(),
        "{n} ping-pong polls before the old task (bound {})",
        bound()
    );
}

#[test]
fn ping_pong_pairs_do_not_starve_an_older_task_on_two_workers() {
    let n = within(60, "old task under ping-pong, 2 workers", || {
        polls_before_the_old_task(2)
    });
    assert!(
        n <= bound(),
        "{n} ping-pong polls before the old task (bound {})",
        bound()
    );
}

#[test]
fn ping_pong_pairs_do_not_starve_an_older_task_on_four_workers() {
    let n = within(60, "old task under ping-pong, 4 workers", || {
        polls_before_the_old_task(4)
    });
    assert!(
        n <= bound(),
        "{n} ping-pong polls before the old task (bound {})",
        bound()
    );
}

/// A task node of a 10-ary tree `depth` deep: spawns its children, awaits
/// them in order, returns the number of leaves.
fn task_tree(depth: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            return 1;
        }
        let children: Vec<_> = (0..10)
            .map(|_| spindle::spawn_async(task_tree(depth - 1)))
            .collect();
        let mut leaves = 0;
        for child in children {
            leaves += child.await.unwrap();
        }
        leaves
    })
}

/// A tree of tasks on one worker is run newest first, as a tree of jobs
/// is: parents woken by their children do not trigger fairness picks
/// while the tree keeps spawning, so the worker's deque holds about
/// depth × width tasks and never spills to the global queue. (Picking the
/// oldest task every few wakes opened every top-level subtree at once:
/// 311,818 spills for a 10-ary tree six deep.)
#[test]
fn a_tree_of_tasks_on_one_worker_runs_newest_first() {
    let depth = if cfg!(miri) { 2 } else { 5 };
    let pool = Pool::builder().workers(1).build().unwrap();
    let (tx, rx) = mpsc::channel();
    drop(pool.spawn_async(async move {
        tx.send(task_tree(depth).await).unwrap();
    }));
    assert_eq!(rx.recv().unwrap(), 10u64.pow(depth));
    let stats = pool.stats().total();
    // The root task comes in through the global queue; nothing else does.
    assert!(stats.injector_pops <= 1, "{stats:?}");
}

/// Two jobs that wake each other through auto-reset events with blocking
/// waits: each wait suspends its fiber and switches straight to the
/// other, which the wake made ready. Queued on one worker after an older
/// job, they must let it run within `FAIR_LOCAL` wakes (each round trip
/// here is two), although the worker loop itself never gets a turn
/// unless a fairness pick sends a wait to it.
#[test]
#[cfg_attr(
    miri,
    ignore = "needs fibers, which Miri cannot run: without them two jobs waiting on each other on one worker deadlock (the helping wait buries the other)"
)]
fn fibers_that_wake_each_other_do_not_starve_an_older_job() {
    let rounds = within(60, "old job under fiber ping-pong", || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel();
        let (stop1, count1) = (stop.clone(), count.clone());
        pool.spawn(move || {
            let seen = count1.clone();
            spindle::spawn(move || tx.send(seen.load(Ordering::SeqCst)).unwrap());
            let (ping, pong) = (Arc::new(Event::auto()), Arc::new(Event::auto()));
            let (ping2, pong2, stop2) = (ping.clone(), pong.clone(), stop1.clone());
            spindle::spawn(move || {
                while !stop1.load(Ordering::Relaxed) {
                    ping.set();
                    pong.wait();
                    count1.fetch_add(1, Ordering::SeqCst);
                }
                ping.set();
            });
            spindle::spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    ping2.wait();
                    pong2.set();
                }
                pong2.set();
            });
        });
        let rounds = rx.recv().unwrap();
        stop.store(true, Ordering::SeqCst);
        rounds
    });
    assert!(
        rounds <= u64::from(spindle::FAIR_LOCAL),
        "{rounds} round trips before the old job (bound {})",
        spindle::FAIR_LOCAL
    );
}
