#![cfg(not(loom))]
//! Fibers in a pool: waits that suspend, resume on the same worker, the
//! lock-while-waiting pattern of rayon issue #592, yields, the fallback
//! when every fiber is in use, and shutdown with suspended fibers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use spindle::{Counter, Event, Mutex, Pool};

/// Runs `f` on a helper thread; fails the test (instead of hanging it) if
/// it takes longer than `secs`.
fn within<R: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(r) => r,
        Err(_) => panic!("{what}: no progress in {secs} s (deadlock?)"),
    }
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = spindle::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn joins_suspend_when_their_half_is_stolen_and_results_are_right() {
    fn spin(d: Duration) {
        let until = std::time::Instant::now() + d;
        while std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
    }
    let pool = Pool::builder().workers(2).fibers(16).build().unwrap();
    for _ in 0..20 {
        assert_eq!(pool.install(|| fib(24)), 46368);
    }
    // A second half much longer than the first: an idle worker takes it
    // (hidden halves are never out of an idle thread's reach), and the
    // caller, done with the first half long before, must wait for it.
    // Counted over every slot: the caller's participant slot has fibers.
    for _ in 0..5 {
        let (a, b) = pool.install(|| {
            spindle::join(
                || spin(Duration::from_millis(2)),
                || spin(Duration::from_millis(30)),
            )
        });
        assert_eq!((a, b), ((), ()));
    }
    let total = pool.stats().total();
    assert!(total.stolen > 0, "nothing was stolen: {total:?}");
    assert!(total.fiber_suspends > 0, "no wait suspended: {total:?}");
    assert!(total.fiber_switches >= total.fiber_suspends, "{total:?}");
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn a_waiting_job_resumes_on_its_own_thread_with_its_thread_locals() {
    thread_local! {
        static MARK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    let pool = Pool::builder().workers(2).fibers(8).build().unwrap();
    let ok = Arc::new(AtomicUsize::new(0));
    let done = Counter::new();
    for round in 0..50 {
        let gate = Arc::new(Event::manual());
        let inner = Counter::new();
        let jobs = (0..8).map(|i| {
            let (gate, ok, pool_inner) = (gate.clone(), ok.clone(), inner.clone());
            move || {
                let id = std::thread::current().id();
                let mark = round * 100 + i + 1;
                MARK.with(|m| m.set(mark));
                let addr = MARK.with(|m| m as *const _ as usize);
                gate.wait();
                let _ = &pool_inner;
                assert_eq!(std::thread::current().id(), id, "resumed on another thread");
                assert_eq!(MARK.with(|m| m as *const _ as usize), addr);
                // Another fiber on this worker may have set MARK meanwhile;
                // the address check is what guards against a stale TLS
                // base. Set it again and read it back through the switch.
                MARK.with(|m| m.set(mark));
                spindle::yield_now();
                assert_eq!(std::thread::current().id(), id);
                ok.fetch_add(1, Ordering::Relaxed);
            }
        });
        pool.dispatch(&done, jobs);
        std::thread::sleep(Duration::from_millis(1));
        gate.set();
        pool.wait(&done);
        let _ = inner;
    }
    assert_eq!(ok.load(Ordering::Relaxed), 50 * 8);
}

/// rayon issue #592: a job takes a lock and then waits for nested work
/// that another worker took; while it waits, its worker picks up another
/// job that wants the same lock. Without fibers that job runs on top of
/// the first one's frame and blocks the thread, so the first can never
/// release the lock (with `fibers(0)` this test hangs). With fibers the
/// first job's fiber is suspended, the second suspends on the lock, and
/// both finish.
#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn holding_a_lock_across_nested_work_does_not_deadlock() {
    within(60, "lock across nested work", || {
        let pool = Pool::builder().workers(2).fibers(8).build().unwrap();
        let lock = Arc::new(Mutex::new(0u64));
        for round in 0..20u64 {
            let (tx, rx) = mpsc::channel();
            let l = lock.clone();
            pool.spawn(move || {
                let mut g = l.lock();
                spindle::scope(|s| {
                    // Nested work that the other worker steals (it is idle),
                    // and that takes a while.
                    s.spawn(|_| std::thread::sleep(Duration::from_millis(10)));
                    std::thread::sleep(Duration::from_millis(3));
                    // A job that wants the lock, queued on this worker: the
                    // scope's wait below picks it up.
                    let (l2, tx2) = (l.clone(), tx.clone());
                    spindle::spawn(move || {
                        *l2.lock() += 1;
                        tx2.send(()).unwrap();
                    });
                });
                *g += 10;
                drop(g);
                tx.send(()).unwrap();
            });
            rx.recv().unwrap();
            rx.recv().unwrap();
            assert_eq!(*lock.lock(), (round + 1) * 11);
        }
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn mutex_counts_right_under_contention_from_jobs_and_threads() {
    within(60, "mutex contention", || {
        let pool = Arc::new(Pool::builder().workers(2).fibers(8).build().unwrap());
        let m = Arc::new(Mutex::new(0usize));
        let outside: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        let done = Counter::new();
        pool.dispatch(
            &done,
            (0..400).map(|_| {
                let m = m.clone();
                move || {
                    for _ in 0..100 {
                        let mut g = m.lock();
                        *g += 1;
                        if (*g).is_multiple_of(97) {
                            spindle::yield_now(); // hold it across a switch
                        }
                    }
                }
            }),
        );
        pool.wait(&done);
        for t in outside {
            t.join().unwrap();
        }
        assert_eq!(*m.lock(), 2 * 20_000 + 400 * 100);
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn auto_reset_event_releases_one_waiter_per_set() {
    within(60, "auto-reset event", || {
        let pool = Pool::builder().workers(2).fibers(16).build().unwrap();
        let ev = Arc::new(Event::auto());
        let passed = Arc::new(AtomicUsize::new(0));
        let done = Counter::new();
        pool.dispatch(
            &done,
            (0..10).map(|_| {
                let (ev, passed) = (ev.clone(), passed.clone());
                move || {
                    ev.wait();
                    passed.fetch_add(1, Ordering::SeqCst);
                }
            }),
        );
        for i in 1..=10 {
            ev.set();
            // Each set lets exactly one more through (eventually).
            let t = std::time::Instant::now();
            while passed.load(Ordering::SeqCst) < i {
                assert!(
                    t.elapsed() < Duration::from_secs(10),
                    "set {i} released nobody"
                );
                std::thread::yield_now();
            }
            std::thread::sleep(Duration::from_millis(2));
            assert_eq!(
                passed.load(Ordering::SeqCst),
                i,
                "one set released two waiters"
            );
        }
        pool.wait(&done);
        assert!(!ev.is_set());
    });
}

#[test]
fn manual_event_from_outside_threads_and_reset() {
    let ev = Arc::new(Event::manual());
    assert!(!ev.try_wait());
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let ev = ev.clone();
            std::thread::spawn(move || ev.wait())
        })
        .collect();
    std::thread::sleep(Duration::from_millis(10));
    ev.set();
    for w in waiters {
        w.join().unwrap();
    }
    assert!(ev.is_set() && ev.try_wait());
    ev.reset();
    assert!(!ev.is_set());
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn yield_lets_another_job_run_before_coming_back() {
    let pool = Pool::builder().workers(1).fibers(4).build().unwrap();
    for _ in 0..100 {
        let (tx, rx) = mpsc::channel();
        // `spawn`, not `install`: the job must run on the worker (the
        // thread calling `install` borrows a slot without fibers).
        pool.spawn(move || {
            let seen = spindle::scope(|s| {
                let other_ran = Arc::new(AtomicBool::new(false));
                let o = other_ran.clone();
                s.spawn(move |_| o.store(true, Ordering::SeqCst));
                // The spawned job is in our deque; a yield must let it run.
                spindle::yield_now();
                other_ran.load(Ordering::SeqCst)
            });
            tx.send(seen).unwrap();
        });
        assert!(
            rx.recv().unwrap(),
            "yield_now returned before the pending job ran"
        );
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn every_fiber_suspended_falls_back_to_helping_and_finishes() {
    within(60, "fallback", || {
        // One fiber per worker: the second waiter on a worker finds none
        // free and must help instead of deadlocking.
        let pool = Pool::builder().workers(1).fibers(1).build().unwrap();
        let gate = Arc::new(Event::manual());
        let done = Counter::new();
        pool.dispatch(
            &done,
            (0..4).map(|_| {
                let gate = gate.clone();
                move || gate.wait()
            }),
        );
        std::thread::sleep(Duration::from_millis(20));
        gate.set();
        pool.wait(&done);
        let fallbacks: u64 = pool.stats().workers.iter().map(|w| w.fiber_fallbacks).sum();
        assert!(fallbacks > 0, "{:?}", pool.stats());
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn dropping_the_pool_waits_for_suspended_fibers() {
    within(60, "shutdown", || {
        let finished = Arc::new(AtomicUsize::new(0));
        {
            let pool = Pool::builder().workers(2).fibers(8).build().unwrap();
            let gate = Arc::new(Event::manual());
            for _ in 0..6 {
                let (gate, f) = (gate.clone(), finished.clone());
                pool.spawn(move || {
                    gate.wait();
                    f.fetch_add(1, Ordering::SeqCst);
                });
            }
            // Set from a job queued after the waiters.
            let g = gate.clone();
            pool.spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                g.set();
            });
        }
        assert_eq!(finished.load(Ordering::SeqCst), 6);
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn a_panic_on_a_fiber_reaches_the_joiner() {
    let pool = Pool::builder().workers(2).fibers(8).build().unwrap();
    for _ in 0..50 {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| {
                spindle::join(
                    || fib(15),
                    || {
                        let _ = fib(10);
                        panic!("boom on a fiber");
                    },
                )
            })
        }));
        let err = r.expect_err("the panic was lost");
        assert_eq!(err.downcast_ref::<&str>(), Some(&"boom on a fiber"));
    }
}

#[test]
fn bad_fiber_settings_are_errors() {
    let e = Pool::builder().fiber_stack_size(100).build().unwrap_err();
    assert!(e.to_string().contains("fiber stack size"), "{e}");
    let e = Pool::builder()
        .fibers(spindle::MAX_FIBERS + 1)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("fibers"), "{e}");
}

/// With `fiber_float_env(true)`, a job that changed the rounding mode and
/// then suspended gets it back when it resumes, and the job that ran on
/// its worker meanwhile saw the default.
#[cfg(target_arch = "x86_64")]
#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn float_env_follows_the_job_across_a_suspension() {
    use std::arch::asm;
    fn read_mxcsr() -> u32 {
        let mut v = 0u32;
        // SAFETY: stmxcsr stores 4 bytes to the given address.
        unsafe { asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack)) };
        v
    }
    fn write_mxcsr(v: u32) {
        // SAFETY: ldmxcsr loads a valid control value (reserved bits 0).
        unsafe { asm!("ldmxcsr [{}]", in(reg) &v, options(nostack)) };
    }
    const TOWARD_ZERO: u32 = 0x6000;
    let pool = Arc::new(
        Pool::builder()
            .workers(1)
            .fiber_float_env(true)
            .build()
            .unwrap(),
    );
    let event = Arc::new(Event::manual());
    let (tx, rx) = mpsc::channel();
    let (started_tx, started_rx) = mpsc::channel();
    let (e, tx1) = (event.clone(), tx.clone());
    pool.spawn(move || {
        started_tx.send(()).unwrap();
        let default = read_mxcsr();
        write_mxcsr(default | TOWARD_ZERO);
        e.wait(); // suspends: the next job runs on this worker meanwhile
        let mine = read_mxcsr();
        write_mxcsr(default);
        tx1.send(("waiter", mine & TOWARD_ZERO)).unwrap();
    });
    // The one worker runs the waiter first; this job runs once it waits.
    started_rx.recv().unwrap();
    let e = event.clone();
    pool.spawn(move || {
        tx.send(("other", read_mxcsr() & TOWARD_ZERO)).unwrap();
        e.set();
    });
    let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
    got.sort();
    assert_eq!(got, [("other", 0), ("waiter", TOWARD_ZERO)]);
    assert!(
        pool.stats().total().fiber_suspends >= 1,
        "the wait did not suspend"
    );
}
