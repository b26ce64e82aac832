//! `skynet`: the classic skynet benchmark. A node of size `size` > 1 has 10
//! children of size `size / 10`, down to 1,000,000 leaves; leaf `i` returns
//! `i` and every node returns the sum of its children, so the root returns
//! 0 + 1 + ... + 999,999 = 499,999,500,000 (checked). 1,111,111 nodes.
//!
//! Every pool implementation runs the same algorithm: a node splits its 10
//! children with a balanced binary tree of joins (9 joins per node, about
//! 10 million in all), running the lower half inline and exposing the upper
//! half to thieves. `skynet-scope` is the same tree with one scope and 10
//! spawned jobs per node.

use crate::impls::{check, timed, Bench, Pools};
use std::hint::black_box;

pub const LEAVES: u64 = 1_000_000;
pub const EXPECTED: u64 = LEAVES * (LEAVES - 1) / 2;

#[inline(never)]
pub fn serial(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let child = size / 10;
    (0..10).map(|i| serial(num + i * child, child)).sum()
}

/// Sums children `lo..hi` of a node at `num` whose children have size
/// `child`. spindle and rayon run their first closure inline.
fn spindle_children(num: u64, child: u64, lo: u64, hi: u64) -> u64 {
    if hi - lo == 1 {
        return spindle(num + lo * child, child);
    }
    let mid = (lo + hi) / 2;
    let (lower, upper) = spindle::join(
        || spindle_children(num, child, lo, mid),
        || spindle_children(num, child, mid, hi),
    );
    lower + upper
}

fn spindle(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    spindle_children(num, size / 10, 0, 10)
}

fn rayon_children(num: u64, child: u64, lo: u64, hi: u64) -> u64 {
    if hi - lo == 1 {
        return rayon(num + lo * child, child);
    }
    let mid = (lo + hi) / 2;
    let (lower, upper) = rayon::join(
        || rayon_children(num, child, lo, mid),
        || rayon_children(num, child, mid, hi),
    );
    lower + upper
}

fn rayon(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    rayon_children(num, size / 10, 0, 10)
}

/// chili and forte run their second closure inline: it gets the lower half.
fn chili_children(s: &mut chili::Scope<'_>, num: u64, child: u64, lo: u64, hi: u64) -> u64 {
    if hi - lo == 1 {
        return chili(s, num + lo * child, child);
    }
    let mid = (lo + hi) / 2;
    let (upper, lower) = s.join(
        |s| chili_children(s, num, child, mid, hi),
        |s| chili_children(s, num, child, lo, mid),
    );
    lower + upper
}

fn chili(s: &mut chili::Scope<'_>, num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    chili_children(s, num, size / 10, 0, 10)
}

fn forte_children(w: &forte::Worker, num: u64, child: u64, lo: u64, hi: u64) -> u64 {
    if hi - lo == 1 {
        return forte(w, num + lo * child, child);
    }
    let mid = (lo + hi) / 2;
    let (upper, lower) = w.join(
        |w| forte_children(w, num, child, mid, hi),
        |w| forte_children(w, num, child, lo, mid),
    );
    lower + upper
}

fn forte(w: &forte::Worker, num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    forte_children(w, num, size / 10, 0, 10)
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    const W: &str = "skynet";
    vec![
        Bench::new("serial", || {
            let (r, t) = timed(|| serial(0, black_box(LEAVES)));
            check(W, "serial", r, EXPECTED);
            t
        }),
        Bench::new("spindle", || {
            let (r, t) = timed(|| pools.spindle().run(|| spindle(0, black_box(LEAVES))));
            check(W, "spindle", r, EXPECTED);
            t
        }),
        Bench::new("rayon", || {
            let (r, t) = timed(|| pools.rayon().install(|| rayon(0, black_box(LEAVES))));
            check(W, "rayon", r, EXPECTED);
            t
        }),
        Bench::new("chili", || {
            let (r, t) = timed(|| pools.chili(|s| chili(s, 0, black_box(LEAVES))));
            check(W, "chili", r, EXPECTED);
            t
        }),
        Bench::new("forte", || {
            let (r, t) = timed(|| pools.forte(|w| forte(w, 0, black_box(LEAVES))));
            check(W, "forte", r, EXPECTED);
            t
        }),
    ]
}
