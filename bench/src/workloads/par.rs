//! The data-parallel workloads, each against rayon's equivalent and the
//! serial std code:
//!
//! - `par-sort`: 10^7 random u64 sorted unstably (`par::sort_unstable`,
//!   rayon's `par_sort_unstable`, std's `sort_unstable`);
//! - `par-sort-stable`: the same input sorted stably (`par::sort`,
//!   `par_sort`, std's `sort`);
//! - `par-sum`: the sum of 10^8 u32 in a `Vec` (`par::sum`, `par_iter().sum()`,
//!   `iter().sum()`);
//! - `par-map`: 10^7 f64 mapped through `ln(sqrt(x) + 1)` into a new `Vec`
//!   (`par::map`, `par_iter().map().collect()`, `iter().map().collect()`);
//! - `par-for-uneven`: 10^5 iterations whose cost grows with the square
//!   of the index (a Mandelbrot-style loop of up to 6000 steps at a point
//!   inside the set), as a parallel `for_each` over the index range.
//!
//! At 2+ threads `par-sum` and `par-for-uneven` also have a `split` row,
//! the ceiling: the work cut into equal shares (equal cost, for the
//! uneven loop) run by plain scoped threads, no scheduler at all.
//!
//! Inputs are made once per process (seeded, so every implementation sorts
//! the same numbers); a sort copies its input before the clock starts.
//! Every result is checked: sorts against std's sorted copy, sums and maps
//! against the serial value.

use crate::impls::{check, timed, Bench, Pools};
use rayon::prelude::*;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

const SORT_LEN: usize = 10_000_000;
const SUM_LEN: usize = 100_000_000;
const MAP_LEN: usize = 10_000_000;
const UNEVEN_LEN: u64 = 100_000;
const UNEVEN_MAX_STEPS: u64 = 6000;

/// Inputs shared by every implementation and thread count of a process,
/// made the first time a bench needs them (in a warm-up run).
/// They are leaked (`'static`), as `Spindle::run` needs, like the trees.
pub struct ParData {
    sort_input: OnceLock<&'static (Vec<u64>, Vec<u64>)>,
    sum_input: OnceLock<&'static (Vec<u32>, u32)>,
    map_input: OnceLock<&'static (Vec<f64>, f64)>,
    uneven_total: OnceLock<u64>,
}

impl ParData {
    pub fn new() -> Self {
        ParData {
            sort_input: OnceLock::new(),
            sum_input: OnceLock::new(),
            map_input: OnceLock::new(),
            uneven_total: OnceLock::new(),
        }
    }

    /// The unsorted numbers and their sorted copy.
    fn sort(&self) -> &'static (Vec<u64>, Vec<u64>) {
        self.sort_input.get_or_init(|| {
            let mut x = 0x9E37_79B9_7F4A_7C15u64;
            let v: Vec<u64> = (0..SORT_LEN)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            Box::leak(Box::new((v, sorted)))
        })
    }

    fn sum(&self) -> &'static (Vec<u32>, u32) {
        self.sum_input.get_or_init(|| {
            let v: Vec<u32> = (0..SUM_LEN as u32).map(|i| i % 8).collect();
            let total = v.iter().sum();
            Box::leak(Box::new((v, total)))
        })
    }

    fn map(&self) -> &'static (Vec<f64>, f64) {
        self.map_input.get_or_init(|| {
            let v: Vec<f64> = (0..MAP_LEN).map(|i| i as f64 * 0.5).collect();
            let check = v.iter().map(|&x| map_one(x)).sum();
            Box::leak(Box::new((v, check)))
        })
    }

    fn uneven(&self) -> u64 {
        *self
            .uneven_total
            .get_or_init(|| (0..UNEVEN_LEN).map(uneven_one).sum())
    }
}

#[inline]
fn map_one(x: f64) -> f64 {
    (x.sqrt() + 1.0).ln()
}

/// Iteration `i` of the uneven loop: `z = z^2 + c` at a point inside the
/// Mandelbrot set (so it never escapes) for a number of steps that grows
/// with `i^2`; returns a digest of the final `z`.
#[inline(never)]
fn uneven_one(i: u64) -> u64 {
    let steps = 1 + i * i * UNEVEN_MAX_STEPS / (UNEVEN_LEN * UNEVEN_LEN);
    let (cr, ci) = (black_box(-0.5f64), black_box(0.3f64));
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for _ in 0..steps {
        let t = zr * zr - zi * zi + cr;
        zi = 2.0 * zr * zi + ci;
        zr = t;
    }
    ((zr.abs() + zi.abs()) * 1000.0) as u64 + steps
}

fn check_sorted(workload: &str, imp: &str, got: &[u64], want: &[u64]) {
    check(workload, imp, got.len(), want.len());
    if got != want {
        panic!("WRONG RESULT: {workload}/{imp} did not sort its input");
    }
}

fn check_map(workload: &str, imp: &str, got: &[f64], want: f64) {
    check(workload, imp, got.len(), MAP_LEN);
    let sum: f64 = got.iter().sum();
    check(workload, imp, sum.to_bits(), want.to_bits());
}

/// Times `sort` on a fresh copy of the input (copied outside the clock).
fn sort_run(
    data: &ParData,
    workload: &'static str,
    imp: &'static str,
    sort: impl FnOnce(Vec<u64>) -> (Vec<u64>, Duration),
) -> Duration {
    let (input, sorted) = data.sort();
    let (v, t) = sort(input.clone());
    check_sorted(workload, imp, &v, sorted);
    t
}

pub fn benches<'a>(workload: &'static str, pools: &'a Pools, data: &'a ParData) -> Vec<Bench<'a>> {
    let mut benches = peers(workload, pools, data);
    let threads = pools.threads;
    if threads > 1 && workload == "par-sum" {
        benches.push(Bench::new("split", move || {
            let (v, want) = data.sum();
            let (s, t) = timed(|| split_sum(black_box(v), threads));
            check(workload, "split", s, *want);
            t
        }));
    }
    if threads > 1 && workload == "par-for-uneven" {
        benches.push(Bench::new("split", move || {
            let want = data.uneven();
            let (total, t) = timed(|| split_uneven(threads));
            check(workload, "split", total, want);
            t
        }));
    }
    benches
}

/// The serial, spindle and rayon rows of `workload`.
fn peers<'a>(workload: &'static str, pools: &'a Pools, data: &'a ParData) -> Vec<Bench<'a>> {
    match workload {
        "par-sort" => vec![
            Bench::new("serial", move || {
                sort_run(data, workload, "serial", |mut v| {
                    let ((), t) = timed(|| v.sort_unstable());
                    (v, t)
                })
            }),
            Bench::new("spindle", move || {
                sort_run(data, workload, "spindle", |mut v| {
                    pools.spindle().run(move || {
                        let ((), t) = timed(|| spindle::par::sort_unstable(&mut v));
                        (v, t)
                    })
                })
            }),
            Bench::new("rayon", move || {
                sort_run(data, workload, "rayon", |mut v| {
                    let ((), t) = timed(|| pools.rayon().install(|| v.par_sort_unstable()));
                    (v, t)
                })
            }),
        ],
        "par-sort-stable" => vec![
            Bench::new("serial", move || {
                sort_run(data, workload, "serial", |mut v| {
                    let ((), t) = timed(|| v.sort());
                    (v, t)
                })
            }),
            Bench::new("spindle", move || {
                sort_run(data, workload, "spindle", |mut v| {
                    pools.spindle().run(move || {
                        let ((), t) = timed(|| spindle::par::sort(&mut v));
                        (v, t)
                    })
                })
            }),
            Bench::new("rayon", move || {
                sort_run(data, workload, "rayon", |mut v| {
                    let ((), t) = timed(|| pools.rayon().install(|| v.par_sort()));
                    (v, t)
                })
            }),
        ],
        "par-sum" => vec![
            Bench::new("serial", move || {
                let (v, want) = data.sum();
                let (s, t) = timed(|| black_box(v).iter().sum::<u32>());
                check(workload, "serial", s, *want);
                t
            }),
            Bench::new("spindle", move || {
                let (v, want) = data.sum();
                let (s, t) = pools
                    .spindle()
                    .run(move || timed(|| spindle::par::sum::<_, u32>(black_box(v))));
                check(workload, "spindle", s, *want);
                t
            }),
            Bench::new("rayon", move || {
                let (v, want) = data.sum();
                let (s, t) = timed(|| {
                    pools
                        .rayon()
                        .install(|| black_box(v).par_iter().sum::<u32>())
                });
                check(workload, "rayon", s, *want);
                t
            }),
        ],
        "par-map" => vec![
            Bench::new("serial", move || {
                let (v, want) = data.map();
                let (out, t) = timed(|| {
                    black_box(v)
                        .iter()
                        .map(|&x| map_one(x))
                        .collect::<Vec<f64>>()
                });
                check_map(workload, "serial", &out, *want);
                t
            }),
            Bench::new("spindle", move || {
                let (v, want) = data.map();
                let (out, t) = pools
                    .spindle()
                    .run(move || timed(|| spindle::par::map(black_box(v), |&x| map_one(x))));
                check_map(workload, "spindle", &out, *want);
                t
            }),
            Bench::new("rayon", move || {
                let (v, want) = data.map();
                let (out, t) = timed(|| {
                    pools.rayon().install(|| {
                        black_box(v)
                            .par_iter()
                            .map(|&x| map_one(x))
                            .collect::<Vec<f64>>()
                    })
                });
                check_map(workload, "rayon", &out, *want);
                t
            }),
        ],
        "par-for-uneven" => vec![
            Bench::new("serial", move || {
                let want = data.uneven();
                let total = AtomicU64::new(0);
                let ((), t) = timed(|| {
                    for i in 0..black_box(UNEVEN_LEN) {
                        total.fetch_add(uneven_one(i), Ordering::Relaxed);
                    }
                });
                check(workload, "serial", total.into_inner(), want);
                t
            }),
            Bench::new("spindle", move || {
                let want = data.uneven();
                let (total, t) = pools.spindle().run(move || {
                    let total = AtomicU64::new(0);
                    let ((), t) = timed(|| {
                        spindle::par::for_each(0..black_box(UNEVEN_LEN), |i| {
                            total.fetch_add(uneven_one(i), Ordering::Relaxed);
                        })
                    });
                    (total.into_inner(), t)
                });
                check(workload, "spindle", total, want);
                t
            }),
            Bench::new("rayon", move || {
                let want = data.uneven();
                let total = AtomicU64::new(0);
                let ((), t) = timed(|| {
                    pools.rayon().install(|| {
                        (0..black_box(UNEVEN_LEN)).into_par_iter().for_each(|i| {
                            total.fetch_add(uneven_one(i), Ordering::Relaxed);
                        })
                    })
                });
                check(workload, "rayon", total.into_inner(), want);
                t
            }),
        ],
        other => unreachable!("not a par workload: {other}"),
    }
}

/// The `par-sum` ceiling: `threads` plain threads each sum an equal share.
fn split_sum(v: &[u32], threads: usize) -> u32 {
    let share = v.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = v
            .chunks(share)
            .map(|c| s.spawn(move || c.iter().sum::<u32>()))
            .collect();
        parts
            .into_iter()
            .map(|h| h.join().expect("split thread"))
            .sum()
    })
}

/// The `par-for-uneven` ceiling: the cost of iteration `i` grows as
/// `i^2`, so the work before `i` as `i^3`; share `k` of `threads` ends at
/// `n * ((k + 1) / threads)^(1/3)`, equal work for plain threads.
fn split_uneven(threads: usize) -> u64 {
    let n = black_box(UNEVEN_LEN);
    let cut = |k: usize| ((k as f64 / threads as f64).cbrt() * n as f64).round() as u64;
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|k| {
                let (lo, hi) = (cut(k), if k + 1 == threads { n } else { cut(k + 1) });
                s.spawn(move || (lo..hi).map(uneven_one).sum::<u64>())
            })
            .collect();
        parts
            .into_iter()
            .map(|h| h.join().expect("split thread"))
            .sum()
    })
}
