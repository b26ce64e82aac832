//! Loom models of the sleep protocol (`README.md` beside this file names
//! the steps S1–S4 and P1–P3). Each model says which bug it would catch.
//!
//! Conventions: "work" is an atomic count published with a store (P1)
//! before `notify_work` (P2–P3), or real `JobRef`s in the real `Injector`;
//! a sleeper's `has_work` closure is its S3 re-check. A lost wake-up shows
//! as a deadlock (every thread parked), which loom reports as a failure.

use super::*;
use crate::facade::{AtomicBool, AtomicUsize};
use crate::job::{JobHeader, JobRef, Priority};
use crate::queue::injector::Injector;
use core::ptr::NonNull;
use loom::thread;

/// `(searching, sleeping)` now.
fn counts(sleep: &Sleep) -> (u64, u64) {
    let s = sleep.state.load(Ordering::SeqCst);
    (searching(s), sleeping(s))
}

/// Takes one unit of `work` if there is one.
fn take(work: &AtomicUsize) -> bool {
    let mut n = work.load(Ordering::Acquire);
    while n > 0 {
        match work.compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(m) => n = m,
        }
    }
    false
}

/// Waits (yielding to loom's scheduler) until `cond` holds.
fn spin_until(cond: impl Fn() -> bool) {
    while !cond() {
        thread::yield_now();
    }
}

unsafe fn nothing(_: NonNull<JobHeader>) {}

/// A `JobRef` to `header`, which the model never executes.
fn job_ref(header: &JobHeader) -> JobRef {
    // SAFETY: every header outlives the model's queues (they are dropped in
    // the same closure, after every thread is joined) and no job is run.
    unsafe { JobRef::new(NonNull::from(header), Priority::Normal) }
}

/// A job published from another thread while the worker goes to sleep
/// is never missed: the worker either sees it in S3 or is woken.
#[test]
fn notify_racing_sleep_is_not_lost() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(1));
        let work = Arc::new(AtomicUsize::new(0));
        let (s2, w2) = (sleep.clone(), work.clone());
        let publisher = thread::spawn(move || {
            w2.store(1, Ordering::Relaxed); // P1
            s2.notify_work(1);
        });
        sleep.start_searching();
        while work.load(Ordering::Relaxed) == 0 {
            sleep.sleep(0, || work.load(Ordering::Relaxed) != 0);
        }
        sleep.stop_searching(true);
        publisher.join().unwrap();
    });
}

/// A direct unpark (a latch) before the park is kept by the token.
#[test]
fn unpark_before_park_is_kept() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(1));
        let done = Arc::new(AtomicBool::new(false));
        let (s2, d2) = (sleep.clone(), done.clone());
        let setter = thread::spawn(move || {
            d2.store(true, Ordering::Release);
            s2.parker(0).unpark();
        });
        sleep.start_searching();
        while !done.load(Ordering::Acquire) {
            sleep.sleep(0, || done.load(Ordering::Acquire));
        }
        sleep.stop_searching(false);
        setter.join().unwrap();
    });
}

/// The publisher runs while the slot is already counted as searching, so
/// P3 sees `searching > 0` and wakes nobody (it may also come after S1 and
/// wake the slot). The slot must then find the work in its S3 re-check.
///
/// Catches: a sleeper that parks without re-checking after announcing
/// itself, or a missing S2/P2 fence (the store-load pair S1→S3 against
/// P1→P3): the work and the sleeper both go unseen, and the slot parks
/// forever.
#[test]
fn notify_passing_over_a_searcher_is_seen_in_recheck() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(1));
        let work = Arc::new(AtomicUsize::new(0));
        let ready = Arc::new(AtomicBool::new(false));
        let (s2, w2, r2) = (sleep.clone(), work.clone(), ready.clone());
        let publisher = thread::spawn(move || {
            spin_until(|| r2.load(Ordering::Acquire));
            w2.store(1, Ordering::Relaxed); // P1
            s2.notify_work(1);
        });
        sleep.start_searching();
        ready.store(true, Ordering::Release);
        while work.load(Ordering::Relaxed) == 0 {
            sleep.sleep(0, || work.load(Ordering::Relaxed) != 0);
        }
        sleep.stop_searching(true);
        publisher.join().unwrap();
        assert_eq!(counts(&sleep), (0, 0));
    });
}

/// The waker claims the slot (`ASLEEP → CLAIMED`) while the sleeper, having
/// seen the work in S3 (or been unparked), unregisters itself. The sleeper
/// must come back counted as exactly one searcher and no sleeper, whoever
/// did the transition.
///
/// Catches: a waker that publishes `AWAKE` before moving the counts, or a
/// sleeper that does not wait out `CLAIMED` (the bug loom found before
/// `CLAIMED` existed): the sleeper returns with the counts not yet moved,
/// and its `stop_searching` underflows `searching`.
#[test]
fn claim_during_unregister_leaves_counts_right() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(1));
        let work = Arc::new(AtomicUsize::new(0));
        let (s2, w2) = (sleep.clone(), work.clone());
        let publisher = thread::spawn(move || {
            w2.store(1, Ordering::Release); // P1
            s2.notify_work(1);
        });
        sleep.start_searching();
        loop {
            sleep.sleep(0, || work.load(Ordering::Acquire) != 0);
            // Only this slot exists: after any return from `sleep` it is
            // the one searcher and nobody sleeps.
            assert_eq!(counts(&sleep), (1, 0), "sleep returned with stale counts");
            if take(&work) {
                break;
            }
        }
        sleep.stop_searching(true);
        publisher.join().unwrap();
        assert_eq!(counts(&sleep), (0, 0));
    });
}

/// Two slots parked, one `notify_work(1)`: exactly one is claimed and
/// woken, the other stays asleep until shutdown; once both leave, both
/// counts are back to zero.
///
/// Catches: a `wake` that ignores its count (wakes both: the sleeping
/// count drops to 0) or claims none (the publisher waits forever for a
/// wake-up), and count transitions that do not balance.
#[test]
fn one_notify_wakes_exactly_one_of_two_sleepers() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(2));
        let stop = Arc::new(AtomicBool::new(false));
        let woken = Arc::new(AtomicUsize::new(0));
        let sleepers: Vec<_> = (0..2)
            .map(|i| {
                let (s, stop, woken) = (sleep.clone(), stop.clone(), woken.clone());
                thread::spawn(move || {
                    s.start_searching();
                    s.sleep(i, || stop.load(Ordering::Acquire));
                    if !stop.load(Ordering::Acquire) {
                        woken.fetch_add(1, Ordering::SeqCst);
                    }
                    s.stop_searching(false);
                })
            })
            .collect();
        // Both announced (S1); their S3 re-checks see no work either way.
        spin_until(|| counts(&sleep).1 == 2);
        sleep.notify_work(1);
        assert_eq!(counts(&sleep).1, 1, "notify_work(1) claimed != 1 sleeper");
        spin_until(|| woken.load(Ordering::SeqCst) == 1);
        assert_eq!(counts(&sleep).1, 1, "the other sleeper left");
        stop.store(true, Ordering::Release);
        sleep.wake_all();
        for t in sleepers {
            t.join().unwrap();
        }
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert_eq!(counts(&sleep), (0, 0));
    });
}

/// Two slots parked, one `notify_work(2)`: both are claimed and woken.
///
/// Catches: a `wake` that stops after the first claim or caps the count
/// wrongly (the second sleeper never wakes: deadlock), or that claims a
/// slot without unparking it.
#[test]
fn notify_two_wakes_both_sleepers() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(2));
        let sleepers: Vec<_> = (0..2)
            .map(|i| {
                let s = sleep.clone();
                thread::spawn(move || {
                    s.start_searching();
                    s.sleep(i, || false);
                    s.stop_searching(false);
                })
            })
            .collect();
        spin_until(|| counts(&sleep).1 == 2);
        sleep.notify_work(2);
        assert_eq!(counts(&sleep).1, 0, "notify_work(2) left a sleeper");
        for t in sleepers {
            t.join().unwrap();
        }
        assert_eq!(counts(&sleep), (0, 0));
    });
}

/// Shutdown: `wake_all` races two slots on their way to sleep. Nobody
/// stays asleep: each slot sees the flag in S3 or is woken.
///
/// Catches: a `wake_all` without its fence (the flag store and the state
/// load reorder against S1/S3), or one that skips slots; the left-over
/// slot parks forever.
#[test]
fn wake_all_racing_sleep_leaves_nobody_asleep() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(2));
        let terminate = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let (s, t) = (sleep.clone(), terminate.clone());
                thread::spawn(move || {
                    s.start_searching();
                    while !t.load(Ordering::Acquire) {
                        s.sleep(i, || t.load(Ordering::Acquire));
                    }
                    s.stop_searching(false);
                })
            })
            .collect();
        terminate.store(true, Ordering::Release);
        sleep.wake_all();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(counts(&sleep), (0, 0));
    });
}

/// The ramp-up rule: two jobs are published while one slot searches and
/// the other is asleep, so P3 wakes nobody. The searcher takes one job and,
/// as the last searcher to find work, must wake the sleeper for the other
/// (`stop_searching(found_work = true)`).
///
/// Catches: a `stop_searching` that does not wake (or tests the count
/// after its own decrement): the second job stays queued with its only
/// possible taker parked.
#[test]
fn last_searcher_finding_work_wakes_a_sleeper() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(2));
        let jobs = Arc::new(AtomicUsize::new(0));
        let (s2, j2) = (sleep.clone(), jobs.clone());
        let sleeper = thread::spawn(move || {
            s2.start_searching();
            while !take(&j2) {
                s2.sleep(0, || j2.load(Ordering::Acquire) > 0);
            }
            s2.stop_searching(true);
        });
        // Slot 1 (this thread) searches; wait for slot 0's S1.
        sleep.start_searching();
        spin_until(|| counts(&sleep).1 == 1);
        jobs.store(2, Ordering::Release); // P1
        sleep.notify_work(2);
        assert!(take(&jobs), "the searcher finds a job");
        sleep.stop_searching(true);
        sleeper.join().unwrap();
        assert_eq!(jobs.load(Ordering::SeqCst), 0);
        assert_eq!(counts(&sleep), (0, 0));
    });
}

/// S5: a job is published while slot 1 searches and slot 0 sleeps, so P3
/// wakes nobody; then slot 1 leaves the search without taking it (its
/// wait ended). As the last searcher it must re-check and wake the
/// sleeper, which takes the job.
///
/// Catches: a `stop_searching_idle` without the re-check (the job stays
/// queued with its only taker parked: loom reports the deadlock), or with
/// the re-check before the decrement's fence (a publisher between them is
/// missed by both).
#[test]
fn last_searcher_leaving_without_work_wakes_a_sleeper_for_it() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(2));
        let jobs = Arc::new(AtomicUsize::new(0));
        let (s2, j2) = (sleep.clone(), jobs.clone());
        let sleeper = thread::spawn(move || {
            s2.start_searching();
            while !take(&j2) {
                s2.sleep(0, || j2.load(Ordering::Acquire) > 0);
            }
            s2.stop_searching(true);
        });
        let publisher = {
            let (s3, j3) = (sleep.clone(), jobs.clone());
            thread::spawn(move || {
                j3.store(1, Ordering::Release); // P1
                s3.notify_work(1);
            })
        };
        // Slot 1 searches, then leaves without work.
        sleep.start_searching();
        let j = jobs.clone();
        sleep.stop_searching_idle(|| j.load(Ordering::Acquire) > 0);
        publisher.join().unwrap();
        sleeper.join().unwrap();
        assert_eq!(jobs.load(Ordering::SeqCst), 0);
    });
}

/// An outside thread (no slot, never counted) submits through the real
/// injector (`push`, then `notify_work`, as `Pool::spawn` does from outside)
/// while the pool's only slot goes to sleep re-checking `is_empty`.
///
/// Catches: a publisher path that skips P2 (the injector's `len` store
/// and the publisher's load of the sleep state reorder against S1/S3), or
/// an injector whose `len` is not yet visible to the relaxed `is_empty` of
/// S3 when `push` returns: the slot parks with the job queued.
#[test]
fn outside_publisher_via_injector_wakes_the_slot() {
    loom::model(|| {
        let header = Arc::new(JobHeader::new(nothing));
        let sleep = Arc::new(Sleep::new(1));
        let inj = Arc::new(Injector::new());
        let (s2, i2, h2) = (sleep.clone(), inj.clone(), header.clone());
        let outside = thread::spawn(move || {
            i2.push(job_ref(&h2));
            s2.notify_work(1);
        });
        sleep.start_searching();
        let got = loop {
            if let Some(job) = inj.pop() {
                break job;
            }
            sleep.sleep(0, || !inj.is_empty());
        };
        sleep.stop_searching(true);
        assert_eq!(got, job_ref(&header));
        outside.join().unwrap();
        assert!(inj.is_empty());
    });
}

/// The worker loop's shutdown rule (`worker/main_loop.rs`), modelled with
/// the real `Injector` and `Sleep` and an `AtomicBool` terminate flag,
/// because the pool itself is not built under loom: read the flag *before*
/// scanning the queues, and leave only if that scan found nothing. Returns
/// how many jobs this worker ran.
fn worker_loop(slot: usize, sleep: &Sleep, inj: &Injector, terminate: &AtomicBool) -> usize {
    let mut ran = 0;
    let mut searching = false;
    loop {
        let terminating = terminate.load(Ordering::Acquire);
        if inj.pop().is_some() {
            if searching {
                sleep.stop_searching(true);
                searching = false;
            }
            ran += 1;
            continue;
        }
        if !searching {
            sleep.start_searching();
            searching = true;
        }
        if terminating {
            break;
        }
        sleep.sleep(slot, || {
            !inj.is_empty() || terminate.load(Ordering::Acquire)
        });
    }
    if searching {
        sleep.stop_searching(false);
    }
    ran
}

/// Shutdown racing a submission: this thread submits a job through the
/// injector and then terminates the pool (store the flag, `wake_all`), as
/// a pool dropped right after `spawn` does. Models the protocol with the
/// real queue and sleep types (see `worker_loop`): the job pushed before
/// the flag is always run, and the worker exits.
///
/// Catches: a worker that reads the flag after its scan (it can see the
/// flag but not the job, and leave it queued), and a terminate that does
/// not wake a parked worker (deadlock).
#[test]
fn shutdown_runs_job_submitted_before_terminate() {
    loom::model(|| {
        let header = Arc::new(JobHeader::new(nothing));
        let sleep = Arc::new(Sleep::new(1));
        let inj = Arc::new(Injector::new());
        let terminate = Arc::new(AtomicBool::new(false));
        let (s2, i2, t2) = (sleep.clone(), inj.clone(), terminate.clone());
        let worker = thread::spawn(move || worker_loop(0, &s2, &i2, &t2));
        inj.push(job_ref(&header));
        sleep.notify_work(1);
        terminate.store(true, Ordering::Release);
        sleep.wake_all();
        assert_eq!(worker.join().unwrap(), 1, "the queued job was not run");
        assert!(inj.is_empty());
        assert_eq!(counts(&sleep), (0, 0));
    });
}

/// As above with two workers: the job runs exactly once, both exit, and
/// the counts end at zero. Models the protocol with the real queue and
/// sleep types.
///
/// Catches: the same shutdown bugs, plus a job taken twice or by nobody
/// when two workers race for it during shutdown.
#[test]
fn shutdown_with_two_workers_runs_the_job_once() {
    loom::model(|| {
        let header = Arc::new(JobHeader::new(nothing));
        let sleep = Arc::new(Sleep::new(2));
        let inj = Arc::new(Injector::new());
        let terminate = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let (s, q, t) = (sleep.clone(), inj.clone(), terminate.clone());
                thread::spawn(move || worker_loop(i, &s, &q, &t))
            })
            .collect();
        inj.push(job_ref(&header));
        sleep.notify_work(1);
        terminate.store(true, Ordering::Release);
        sleep.wake_all();
        let ran: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(ran, 1);
        assert_eq!(counts(&sleep), (0, 0));
    });
}

/// Work only slot 1 may take (an affine job in its mailbox) is published
/// while slot 0 is searching: `notify_slot` must wake slot 1 whoever else
/// searches, and slot 1's re-check must see the work if it comes first.
///
/// Catches: publishing affine work with `notify_work` (it sees a searcher,
/// slot 0, and wakes nobody, but slot 0 cannot take the job: slot 1 parks
/// forever), and a `notify_slot` without its P2 fence.
#[test]
fn notify_slot_wakes_its_slot_past_other_searchers() {
    loom::model(|| {
        let sleep = Arc::new(Sleep::new(2));
        let mailbox = Arc::new(AtomicUsize::new(0));
        sleep.start_searching(); // slot 0, searching throughout
        let (s2, m2) = (sleep.clone(), mailbox.clone());
        let owner = thread::spawn(move || {
            s2.start_searching(); // slot 1
            while m2.load(Ordering::Relaxed) == 0 {
                s2.sleep(1, || m2.load(Ordering::Relaxed) != 0);
            }
            s2.stop_searching(true);
        });
        mailbox.store(1, Ordering::Relaxed); // P1
        sleep.notify_slot(1);
        owner.join().unwrap();
        sleep.stop_searching(false);
        assert_eq!(counts(&sleep), (0, 0));
    });
}
