//! `priority-latency`: how long an urgent job waits behind a flood.
//!
//! Each run queues a backlog of `Low` jobs of `LOW_US` µs each (spinning on
//! the clock), enough to keep all `T` workers busy for about
//! `1.2 × HIGHS` ms, then submits one `High` job every millisecond from the
//! bench thread, `HIGHS` of them. A sample is one `High` job's delay from
//! just before its submission to the start of its body. The report gives
//! the p50 (as the median), minimum and p99 of all samples of the timed
//! runs. Every run then waits until all of its jobs ran, and checks the
//! counts, so no implementation can skip the flood.
//!
//! - spindle: a pool of `T` workers; the flood with
//!   `spawn_with(Options::new().priority(Priority::Low))`, the urgent jobs
//!   with `Priority::High`, both from outside the pool. A `High` job waits
//!   for a worker to end its current `Low` job (priorities order picks;
//!   they do not preempt): bar p99 ≤ 2 × `LOW_US`.
//! - rayon: rayon has no priorities; both kinds go through
//!   `ThreadPool::spawn_fifo` on a pool of `T` threads, so an urgent job
//!   waits behind the backlog queued before it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::impls::{check, timed, Bench, Pools};

const W: &str = "priority-latency";
/// One `Low` job's length.
const LOW_US: u64 = 50;
/// Urgent jobs per run, one per millisecond.
const HIGHS: usize = 50;

/// Spins for `us` microseconds.
fn spin_for(us: u64) {
    let start = Instant::now();
    let d = Duration::from_micros(us);
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// `Low` jobs in one run's backlog for `threads` workers: 1.2 × the run's
/// length of work for each.
fn backlog(threads: usize) -> usize {
    threads * (HIGHS as u64 * 1000 * 12 / 10 / LOW_US) as usize
}

/// One run: `submit(low, job)` queues a job (`low` says which class);
/// pushes the urgent jobs' delays into `samples`.
fn run_one(
    threads: usize,
    samples: &mut Vec<Duration>,
    submit: &dyn Fn(bool, Box<dyn FnOnce() + Send>),
) -> Duration {
    let lows = backlog(threads);
    let done = Arc::new(AtomicUsize::new(0));
    let delays: Arc<Vec<AtomicU64>> = Arc::new((0..HIGHS).map(|_| AtomicU64::new(0)).collect());
    let ((), time) = timed(|| {
        for _ in 0..lows {
            let done = done.clone();
            submit(
                true,
                Box::new(move || {
                    spin_for(LOW_US);
                    done.fetch_add(1, Relaxed);
                }),
            );
        }
        let start = Instant::now();
        for i in 0..HIGHS {
            // Pace: one per millisecond from the start of the phase.
            let due = start + Duration::from_millis(i as u64 + 1);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let (done, delays) = (done.clone(), delays.clone());
            let submitted = Instant::now();
            submit(
                false,
                Box::new(move || {
                    let delay = submitted.elapsed().as_nanos() as u64;
                    delays[i].store(delay.max(1), Relaxed);
                    done.fetch_add(1, Relaxed);
                }),
            );
        }
        while done.load(Relaxed) < lows + HIGHS {
            std::thread::sleep(Duration::from_micros(200));
        }
    });
    check(W, "all jobs", done.load(Relaxed), lows + HIGHS);
    for d in delays.iter() {
        let ns = d.load(Relaxed);
        check(W, "urgent job ran", ns > 0, true);
        samples.push(Duration::from_nanos(ns));
    }
    time
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    let threads = pools.threads;
    let pool = spindle::Pool::builder()
        .workers(threads)
        .build()
        .expect("spindle pool");
    vec![
        Bench::latency("spindle", move |samples| {
            run_one(threads, samples, &|is_low, job| {
                let class = if is_low {
                    spindle::Priority::Low
                } else {
                    spindle::Priority::High
                };
                pool.spawn_placed(class, job);
            })
        }),
        Bench::latency("rayon", move |samples| {
            run_one(threads, samples, &|_, job| pools.rayon().spawn_fifo(job))
        }),
    ]
}
