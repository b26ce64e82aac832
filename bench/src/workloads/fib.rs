//! `fib`: naive recursive Fibonacci, fib(30), with NO sequential cutoff:
//! `fib(n) = n` for `n < 2`, else `join(fib(n - 1), fib(n - 2))`. About 1.3
//! million joins of almost no work each, so this measures the raw cost of a
//! join. Checked against 832040.
//!
//! Every implementation runs `fib(n - 1)` inline first and exposes
//! `fib(n - 2)` to thieves (rayon and spindle run their first closure
//! inline, chili and forte their second).

use crate::impls::{check, timed, Bench, Pools};
use std::hint::black_box;

const N: u64 = 30;
const EXPECTED: u64 = 832_040;

#[inline(never)]
fn serial(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    serial(n - 1) + serial(n - 2)
}

fn spindle(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = spindle::join(|| spindle(n - 1), || spindle(n - 2));
    a + b
}

fn rayon(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = rayon::join(|| rayon(n - 1), || rayon(n - 2));
    a + b
}

fn chili(s: &mut chili::Scope<'_>, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    // chili runs its second closure inline first.
    let (b, a) = s.join(|s| chili(s, n - 2), |s| chili(s, n - 1));
    a + b
}

fn forte(w: &forte::Worker, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    // forte runs its second closure inline first.
    let (b, a) = w.join(|w| forte(w, n - 2), |w| forte(w, n - 1));
    a + b
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    const W: &str = "fib";
    vec![
        Bench::new("serial", || {
            let (r, t) = timed(|| serial(black_box(N)));
            check(W, "serial", r, EXPECTED);
            t
        }),
        Bench::new("spindle", || {
            let (r, t) = timed(|| pools.spindle().run(|| spindle(black_box(N))));
            check(W, "spindle", r, EXPECTED);
            t
        }),
        Bench::new("rayon", || {
            let (r, t) = timed(|| pools.rayon().install(|| rayon(black_box(N))));
            check(W, "rayon", r, EXPECTED);
            t
        }),
        Bench::new("chili", || {
            let (r, t) = timed(|| pools.chili(|s| chili(s, black_box(N))));
            check(W, "chili", r, EXPECTED);
            t
        }),
        Bench::new("forte", || {
            let (r, t) = timed(|| pools.forte(|w| forte(w, black_box(N))));
            check(W, "forte", r, EXPECTED);
            t
        }),
    ]
}
