//! `timer-storm`: 100,000 tasks, each sleeping a pseudo-random 0-50 ms
//! (the same deadlines for every implementation), then noting how late it
//! woke. The samples are the lateness of every wake (p50 as the median,
//! and p99); the run is timed until the last task is done. Checked: every
//! task woke, none before its deadline.
//!
//! - spindle: `spindle::time::sleep_until` (the workers drive the timers).
//! - tokio: `tokio::time::sleep_until` (its timer wheel, millisecond
//!   resolution).
//! - smol: `async_io::Timer::at` (async-io's reactor thread).

use crate::impls::{check, Bench, Pools};
use std::time::{Duration, Instant};

const TASKS: u64 = 100_000;
const SPAN_US: u64 = 50_000;

fn delay(i: u64) -> Duration {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    x ^= x >> 29;
    Duration::from_micros(x % SPAN_US)
}

/// Collects the lateness of every task; panics on an early wake.
fn finish(imp: &str, lateness: Vec<Duration>, samples: &mut Vec<Duration>) {
    check("timer-storm", imp, lateness.len() as u64, TASKS);
    samples.extend(lateness);
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    vec![
        Bench::latency("spindle", move |samples| {
            let start = Instant::now();
            let late = pools.spindle().block_on(|_| async {
                let base = Instant::now();
                let hs: Vec<_> = (0..TASKS)
                    .map(|i| {
                        spindle::spawn_async(async move {
                            let at = base + delay(i);
                            spindle::time::sleep_until(at).await;
                            let now = Instant::now();
                            assert!(now >= at, "woke early");
                            now - at
                        })
                    })
                    .collect();
                let mut late = Vec::with_capacity(TASKS as usize);
                for h in hs {
                    late.push(h.await.expect("task"));
                }
                late
            });
            finish("spindle", late, samples);
            start.elapsed()
        }),
        Bench::latency("tokio", move |samples| {
            let start = Instant::now();
            let late = pools.tokio().block_on(async {
                let base = tokio::time::Instant::now();
                let hs: Vec<_> = (0..TASKS)
                    .map(|i| {
                        tokio::spawn(async move {
                            let at = base + delay(i);
                            tokio::time::sleep_until(at).await;
                            let now = tokio::time::Instant::now();
                            assert!(now >= at, "woke early");
                            now - at
                        })
                    })
                    .collect();
                let mut late = Vec::with_capacity(TASKS as usize);
                for h in hs {
                    late.push(h.await.expect("task"));
                }
                late
            });
            finish("tokio", late, samples);
            start.elapsed()
        }),
        Bench::latency("smol", move |samples| {
            let start = Instant::now();
            let late = pools.smol(|ex| async move {
                let base = Instant::now();
                let hs: Vec<_> = (0..TASKS)
                    .map(|i| {
                        ex.spawn(async move {
                            let at = base + delay(i);
                            async_io::Timer::at(at).await;
                            let now = Instant::now();
                            assert!(now >= at, "woke early");
                            now - at
                        })
                    })
                    .collect();
                let mut late = Vec::with_capacity(TASKS as usize);
                for h in hs {
                    late.push(h.await);
                }
                late
            });
            finish("smol", late, samples);
            start.elapsed()
        }),
    ]
}
