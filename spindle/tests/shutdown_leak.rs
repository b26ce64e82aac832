#![cfg(not(loom))]
//! Dropping a pool with 0, 1, 10^3 and 10^5 jobs pending, over and over:
//! every job runs exactly once and its closure is dropped exactly once, and
//! the heap is back to where it was (live bytes counted by a global
//! allocator). One test in this binary, so no other test's allocations are
//! counted.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicU8, Ordering};
use std::sync::Arc;

use spindle::{Counter, Pool};

struct Counting;

/// Bytes allocated and not yet freed, by anyone in the process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How often each job ran, and how often its closure was dropped.
struct Ledger {
    ran: Vec<AtomicU8>,
    dropped: Vec<AtomicU8>,
}

/// Owned by a job's closure: counts the drop of the closure.
struct Ticket(Arc<Ledger>, usize);
impl Ticket {
    fn run(&self) {
        self.0.ran[self.1].fetch_add(1, Ordering::Relaxed);
    }
}
impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.dropped[self.1].fetch_add(1, Ordering::Relaxed);
    }
}

/// Builds a pool, leaves `pending` jobs queued in every place a job can
/// wait (the injector, from outside; the workers' deques, spawned by a job;
/// a dispatched batch), drops the pool, and checks the ledger.
fn cycle(pending: usize) {
    let ledger = Arc::new(Ledger {
        ran: (0..pending).map(|_| AtomicU8::new(0)).collect(),
        dropped: (0..pending).map(|_| AtomicU8::new(0)).collect(),
    });
    let pool = Pool::builder().workers(2).build().unwrap();
    let third = pending / 3;
    // From outside: detached jobs through the injector.
    for id in 0..third {
        let t = Ticket(ledger.clone(), id);
        pool.spawn(move || t.run());
    }
    // A dispatched batch (its counter is never waited on).
    let counter = Counter::new();
    pool.dispatch(
        &counter,
        (third..2 * third).map(|id| {
            let t = Ticket(ledger.clone(), id);
            move || t.run()
        }),
    );
    // From a job: detached jobs onto a worker's own deque.
    let l = ledger.clone();
    pool.spawn(move || {
        for id in 2 * third..pending {
            let t = Ticket(l.clone(), id);
            spindle::spawn(move || t.run());
        }
    });
    drop(pool);
    let bad = |v: &[AtomicU8]| v.iter().filter(|x| x.load(Ordering::SeqCst) != 1).count();
    assert_eq!(
        bad(&ledger.ran),
        0,
        "{pending} pending: jobs not run exactly once"
    );
    assert_eq!(
        bad(&ledger.dropped),
        0,
        "{pending} pending: closures not dropped exactly once"
    );
    assert!(counter.is_done());
}

#[test]
fn dropping_pools_with_pending_jobs_runs_each_once_and_leaks_nothing() {
    let sizes: &[usize] = if cfg!(miri) {
        &[0, 1, 30]
    } else {
        &[0, 1, 1_000, 100_000]
    };
    let rounds = if cfg!(miri) { 1 } else { 3 };
    // Warm-up: thread-local parkers, std's lazily built statics.
    cycle(10);
    // Live bytes added by each round. A leak per job or per pool grows the
    // heap in every round; a one-off lazy initialisation somewhere in the
    // runtime would show up in one round only. So the round that grew the
    // least must not have grown at all.
    let mut growth = Vec::new();
    for _ in 0..rounds {
        let before = LIVE.load(Ordering::SeqCst);
        for &pending in sizes {
            cycle(pending);
        }
        growth.push(LIVE.load(Ordering::SeqCst) - before);
    }
    let least = *growth.iter().min().unwrap();
    assert_eq!(least, 0, "bytes leaked in every round: {growth:?}");
    if growth.iter().any(|&g| g != 0) {
        eprintln!("note: one-off heap growth in some rounds: {growth:?}");
    }
    let jobs: usize = sizes.iter().sum::<usize>() * rounds;
    common::report(&[("stress_jobs", jobs), ("leaked_bytes", least as usize)]);
}
