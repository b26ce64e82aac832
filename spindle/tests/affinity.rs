#![cfg(not(loom))]
//! Per-job affinity: jobs run only on the workers of their set, on every
//! submission path and across shutdown; bad sets are refused at submit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use spindle::{Affinity, Counter, Error, Options, Pool, Priority};

fn only(workers: &[usize]) -> Options {
    Options::new().affinity(Affinity::workers(workers.iter().copied()))
}

/// Records a violation if the calling worker is not in `set`.
fn check(set: &[usize], bad: &AtomicUsize) {
    match spindle::worker_index() {
        Some(w) if set.contains(&w) => {}
        _ => {
            bad.fetch_add(1, Ordering::Relaxed);
        }
    }
}

const SETS: [&[usize]; 5] = [&[0], &[1], &[2, 3], &[0, 3], &[3]];

#[test]
fn jobs_run_only_on_their_workers() {
    let pool = Arc::new(Pool::builder().workers(4).build().unwrap());
    let bad = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = Counter::new();
    // Load on every worker meanwhile, so thieves are always looking.
    pool.dispatch(
        &counter,
        (0..if cfg!(miri) { 50 } else { 2000 }).map(|_| {
            || {
                std::hint::black_box((0..500).sum::<u64>());
            }
        }),
    );
    let (outside, inside, batch) = if cfg!(miri) {
        (20, 10, 5)
    } else {
        (400, 200, 100)
    };
    for i in 0..outside {
        let set = SETS[i % SETS.len()];
        let (bad, ran) = (bad.clone(), ran.clone());
        let priority = [Priority::High, Priority::Normal, Priority::Low][i % 3];
        pool.spawn_with(only(set).priority(priority), move || {
            check(set, &bad);
            ran.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    }
    // From inside: scope, join and nested spawns.
    let (b, r) = (bad.clone(), ran.clone());
    pool.install(move || {
        spindle::scope(|s| {
            for i in 0..inside {
                let set = SETS[i % SETS.len()];
                let (b, r) = (&b, &r);
                s.spawn_with(only(set), move |_| {
                    check(set, b);
                    r.fetch_add(1, Ordering::Relaxed);
                    let (b, r) = (b.clone(), r.clone());
                    let next = SETS[(i + 1) % SETS.len()];
                    spindle::spawn_with(only(next), move || {
                        check(next, &b);
                        r.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
                })
                .unwrap();
            }
            let ((), w) = spindle::join_with(only(&[2]), || {}, spindle::worker_index).unwrap();
            assert_eq!(w, Some(2));
        })
    });
    let c2 = Counter::new();
    let (b, r) = (bad.clone(), ran.clone());
    pool.dispatch_with(
        only(&[1, 2]),
        &c2,
        (0..batch).map(move |_| {
            let (b, r) = (b.clone(), r.clone());
            move || {
                check(&[1, 2], &b);
                r.fetch_add(1, Ordering::Relaxed);
            }
        }),
    )
    .unwrap();
    pool.wait(&c2);
    pool.wait(&counter);
    let t = std::time::Instant::now();
    while ran.load(Ordering::Relaxed) < outside + 2 * inside + batch {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "affine jobs did not all run"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(bad.load(Ordering::Relaxed), 0, "a job ran outside its set");
}

/// A task with an affinity is polled only on its workers, however often it
/// is woken and from wherever.
#[test]
fn tasks_are_polled_only_on_their_workers() {
    let pool = Pool::builder().workers(3).build().unwrap();
    let handles: Vec<_> = (0..if cfg!(miri) { 6 } else { 30 })
        .map(|i| {
            let w = i % 3;
            pool.spawn_async_with(only(&[w]), async move {
                let mut seen = Vec::new();
                for _ in 0..if cfg!(miri) { 4 } else { 20 } {
                    seen.push(spindle::worker_index());
                    spindle::yield_async().await;
                }
                (w, seen)
            })
            .unwrap()
        })
        .collect();
    for h in handles {
        let (w, seen) = h.join().unwrap();
        assert!(
            seen.iter().all(|&s| s == Some(w)),
            "task for {w} polled on {seen:?}"
        );
    }
}

#[test]
fn bad_sets_are_refused_at_submit() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let e = pool
        .spawn_with(only(&[0, 2]), move || {
            r.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NoSuchWorker {
                worker: 2,
                workers: 2
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("worker 2"), "{e}");
    assert!(matches!(
        pool.spawn_with(Options::new().affinity(Affinity::workers([])), || {}),
        Err(Error::EmptyAffinity)
    ));
    assert!(matches!(
        pool.spawn_with(Options::new().affinity(Affinity::cores([0])), || {}),
        Err(Error::AffinityNeedsPinning)
    ));
    let counter = Counter::new();
    let r = ran.clone();
    assert!(pool
        .dispatch_with(
            only(&[5]),
            &counter,
            (0..3).map(move |_| {
                let r = r.clone();
                move || {
                    r.fetch_add(1, Ordering::Relaxed);
                }
            })
        )
        .is_err());
    assert_eq!(
        counter.pending(),
        0,
        "a refused batch must not raise the counter"
    );
    assert!(pool.spawn_async_with(only(&[9]), async {}).is_err());
    assert!(pool.join_with(only(&[9]), || 1, || 2).is_err());
    pool.scope(|s| assert!(s.spawn_with(only(&[9]), |_| {}).is_err()));
    pool.wait(&counter);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(ran.load(Ordering::Relaxed), 0, "a refused job ran");
}

/// Jobs that queue affine work for other workers while the pool is being
/// dropped: every one of them runs, on its worker, before the drop returns.
#[test]
fn shutdown_runs_affine_work_queued_during_it() {
    const LINKS: usize = if cfg!(miri) { 5 } else { 50 };
    for round in 0..if cfg!(miri) { 2 } else { 30 } {
        let pool = Pool::builder().workers(3).build().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let bad = Arc::new(AtomicUsize::new(0));
        fn chain(left: usize, w: usize, ran: Arc<AtomicUsize>, bad: Arc<AtomicUsize>) {
            check(&[w], &bad);
            ran.fetch_add(1, Ordering::Relaxed);
            if left > 0 {
                let next = (w + 1) % 3;
                spindle::spawn_with(only(&[next]), move || chain(left - 1, next, ran, bad))
                    .unwrap();
            }
        }
        for w in 0..3 {
            let (ran, bad) = (ran.clone(), bad.clone());
            pool.spawn_with(only(&[w]), move || chain(LINKS, w, ran, bad))
                .unwrap();
        }
        drop(pool);
        assert_eq!(
            ran.load(Ordering::Relaxed),
            3 * (LINKS + 1),
            "round {round}: affine jobs lost"
        );
        assert_eq!(
            bad.load(Ordering::Relaxed),
            0,
            "round {round}: ran outside its set"
        );
    }
}

/// `Affinity::cores` on a pinned pool stands for the worker on that core.
#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(miri, ignore = "calls sched_setaffinity and sched_getcpu")]
fn cores_name_pinned_workers() {
    let pool = Pool::builder()
        .workers(1)
        .pin_workers(true)
        .build()
        .unwrap();
    // Worker 0's core: the one it runs on (it is pinned there).
    let (tx, rx) = std::sync::mpsc::channel();
    pool.spawn(move || {
        // SAFETY: no preconditions.
        tx.send(unsafe { libc::sched_getcpu() }).unwrap();
    });
    let core = rx.recv().unwrap();
    assert!(core >= 0);
    let (tx, rx) = std::sync::mpsc::channel();
    pool.spawn_with(
        Options::new().affinity(Affinity::cores([core as usize])),
        move || tx.send(spindle::worker_index()).unwrap(),
    )
    .unwrap();
    assert_eq!(rx.recv().unwrap(), Some(0));
    let other = if core == 0 { 1 } else { 0 };
    assert!(matches!(
        pool.spawn_with(Options::new().affinity(Affinity::cores([other])), || {}),
        Err(Error::NoWorkerOnCore { .. })
    ));
}
