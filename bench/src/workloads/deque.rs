//! The deque micro-benchmarks: spindle's Chase-Lev deque (`spindle::deque`)
//! against `crossbeam-deque` (a LIFO `Worker`). Both move one word per item:
//! spindle a `NonNull<u64>`, crossbeam a `&'static u64`, each pointing into
//! the same pre-allocated, leaked array of values `1..=N`. Every popped or
//! stolen item is dereferenced and its value summed; count and sum are
//! checked, so each item must be taken exactly once.
//!
//! Batches hold at most 32 items, so crossbeam's buffer (64 slots at least)
//! never resizes and spindle's fixed capacity (64) is never hit.
//!
//! - `deque-pushpop` (1 thread): 32,768 rounds of 32 pushes then 32 pops,
//!   i.e. 1,048,576 push+pop pairs by the owner, no thief.
//! - `deque-steal` (2 threads): the owner pushes 1,048,576 items in batches
//!   of 32, popping its deque empty after each batch, while a thief thread
//!   steals from the other end the whole time. The thief is started before
//!   the clock and released with a barrier; the time ends when it has been
//!   joined.

use crate::impls::{check, timed, Bench};
use crossbeam_deque::Steal as CbSteal;
use spindle::deque::Steal as SpSteal;
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

const BATCH: usize = 32;
const ITEMS: usize = 1 << 20;
const SPINDLE_CAPACITY: usize = 64;
const PUSHPOP: &str = "deque-pushpop";

/// Values `1..=BATCH` for the push/pop bench.
fn batch_values() -> &'static [u64] {
    static VALUES: OnceLock<Vec<u64>> = OnceLock::new();
    VALUES.get_or_init(|| (1..=BATCH as u64).collect())
}

/// Values `1..=ITEMS` for the steal bench.
fn item_values() -> &'static [u64] {
    static VALUES: OnceLock<Vec<u64>> = OnceLock::new();
    VALUES.get_or_init(|| (1..=ITEMS as u64).collect())
}

/// Reads a value through a deque item pointer.
fn read(p: NonNull<u64>) -> u64 {
    // SAFETY: every item points into a leaked, never-mutated `Vec<u64>`
    // (`batch_values` / `item_values`), so it is valid and aligned forever.
    unsafe { *p.as_ptr() }
}

fn pushpop_spindle() -> u64 {
    let values = batch_values();
    let (worker, _stealer) = spindle::deque::new::<u64>(SPINDLE_CAPACITY);
    let mut sum = 0;
    for _ in 0..ITEMS / BATCH {
        for v in values {
            let p = NonNull::from(black_box(v));
            assert!(worker.push(p).is_ok(), "spindle deque full");
        }
        for _ in 0..BATCH {
            sum += read(worker.pop().expect("spindle deque empty too early"));
        }
    }
    sum
}

fn pushpop_crossbeam() -> u64 {
    let values = batch_values();
    let worker = crossbeam_deque::Worker::<&'static u64>::new_lifo();
    let mut sum = 0;
    for _ in 0..ITEMS / BATCH {
        for v in values {
            worker.push(black_box(v));
        }
        for _ in 0..BATCH {
            sum += *worker.pop().expect("crossbeam deque empty too early");
        }
    }
    sum
}

/// `(count, sum)` of the items one side took.
type Taken = (usize, u64);

/// Shared skeleton of the steal bench: `owner` runs on this thread, `thief`
/// on a second one; both get the `done` flag the owner sets once it has
/// pushed everything and found its deque empty. Returns the owner's and the
/// thief's tallies and the time from the barrier to the thief's join.
fn steal_run(
    owner: impl FnOnce(&AtomicBool) -> Taken,
    thief: impl FnOnce(&AtomicBool) -> Taken + Send,
) -> (Taken, Taken, Duration) {
    let done = AtomicBool::new(false);
    let barrier = Barrier::new(2);
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            barrier.wait();
            thief(&done)
        });
        barrier.wait();
        let start = Instant::now();
        let mine = owner(&done);
        let theirs = handle.join().expect("thief panicked");
        (mine, theirs, start.elapsed())
    })
}

fn steal_spindle() -> (Taken, Taken, Duration) {
    let values = item_values();
    let (worker, stealer) = spindle::deque::new::<u64>(SPINDLE_CAPACITY);
    steal_run(
        move |done| {
            let (mut count, mut sum) = (0, 0);
            for chunk in values.chunks(BATCH) {
                for v in chunk {
                    assert!(worker.push(NonNull::from(v)).is_ok(), "spindle deque full");
                }
                while let Some(p) = worker.pop() {
                    count += 1;
                    sum += read(p);
                }
            }
            done.store(true, Ordering::Release);
            (count, sum)
        },
        move |done| {
            let (mut count, mut sum) = (0, 0);
            loop {
                match stealer.steal() {
                    SpSteal::Success(p) => {
                        count += 1;
                        sum += read(p);
                    }
                    SpSteal::Retry => {}
                    SpSteal::Empty if done.load(Ordering::Acquire) => break,
                    SpSteal::Empty => std::hint::spin_loop(),
                }
            }
            (count, sum)
        },
    )
}

fn steal_crossbeam() -> (Taken, Taken, Duration) {
    let values = item_values();
    let worker = crossbeam_deque::Worker::<&'static u64>::new_lifo();
    let stealer = worker.stealer();
    steal_run(
        move |done| {
            let (mut count, mut sum) = (0, 0);
            for chunk in values.chunks(BATCH) {
                for v in chunk {
                    worker.push(v);
                }
                while let Some(v) = worker.pop() {
                    count += 1;
                    sum += *v;
                }
            }
            done.store(true, Ordering::Release);
            (count, sum)
        },
        move |done| {
            let (mut count, mut sum) = (0, 0);
            loop {
                match stealer.steal() {
                    CbSteal::Success(v) => {
                        count += 1;
                        sum += *v;
                    }
                    CbSteal::Retry => {}
                    CbSteal::Empty if done.load(Ordering::Acquire) => break,
                    CbSteal::Empty => std::hint::spin_loop(),
                }
            }
            (count, sum)
        },
    )
}

/// Checks that the owner and the thief together took every item once.
fn check_steal(imp: &str, (mine, theirs, time): (Taken, Taken, Duration)) -> Duration {
    let n = ITEMS as u64;
    check(
        "deque-steal",
        imp,
        (mine.0 + theirs.0, mine.1 + theirs.1),
        (ITEMS, n * (n + 1) / 2),
    );
    time
}

/// The thread count a deque workload uses and its benches.
pub fn benches(workload: &str) -> (usize, Vec<Bench<'static>>) {
    let b = BATCH as u64;
    let pushpop_sum = (ITEMS / BATCH) as u64 * (b * (b + 1) / 2);
    match workload {
        "deque-pushpop" => (
            1,
            vec![
                Bench::new("spindle", move || {
                    let (r, t) = timed(pushpop_spindle);
                    check(PUSHPOP, "spindle", r, pushpop_sum);
                    t
                }),
                Bench::new("crossbeam-deque", move || {
                    let (r, t) = timed(pushpop_crossbeam);
                    check(PUSHPOP, "crossbeam-deque", r, pushpop_sum);
                    t
                }),
            ],
        ),
        "deque-steal" => (
            2,
            vec![
                Bench::new("spindle", || check_steal("spindle", steal_spindle())),
                Bench::new("crossbeam-deque", || {
                    check_steal("crossbeam-deque", steal_crossbeam())
                }),
            ],
        ),
        other => unreachable!("not a deque workload: {other}"),
    }
}
