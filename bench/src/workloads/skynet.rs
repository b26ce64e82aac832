//! `skynet`: the classic skynet benchmark. A node of size `size` > 1 has 10
//! children of size `size / 10`, down to 1,000,000 leaves; leaf `i` returns
//! `i` and every node returns the sum of its children, so the root returns
//! 0 + 1 + ... + 999,999 = 499,999,500,000 (checked). 1,111,111 nodes in
//! all, each one a job (leaves included).
//!
//! Each implementation uses its natural form:
//! - serial: plain recursion;
//! - spindle, rayon, forte: each node opens a scope, spawns its 10 children
//!   (each writing its sum into its own slot) and adds the slots up;
//! - chili (no spawn): each node splits its 10 children with a binary tree
//!   of joins;
//! - tokio: each node is an async task that spawns 10 child tasks and
//!   awaits them.

use crate::impls::{check, timed, Bench, Pools};
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;

const LEAVES: u64 = 1_000_000;
const EXPECTED: u64 = LEAVES * (LEAVES - 1) / 2;

#[inline(never)]
fn serial(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let child = size / 10;
    (0..10).map(|i| serial(num + i * child, child)).sum()
}

fn spindle(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let child = size / 10;
    let mut sums = [0u64; 10];
    spindle::scope(|s| {
        for (i, slot) in (0u64..).zip(sums.iter_mut()) {
            s.spawn(move |_| *slot = spindle(num + i * child, child));
        }
    });
    sums.iter().sum()
}

fn rayon(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let child = size / 10;
    let mut sums = [0u64; 10];
    rayon::scope(|s| {
        for (i, slot) in (0u64..).zip(sums.iter_mut()) {
            s.spawn(move |_| *slot = rayon(num + i * child, child));
        }
    });
    sums.iter().sum()
}

fn forte(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    let child = size / 10;
    let mut sums = [0u64; 10];
    // Spawned jobs get no worker handle; the free function finds it in a
    // thread local.
    forte::scope(|s| {
        for (i, slot) in (0u64..).zip(sums.iter_mut()) {
            s.spawn(move |_| *slot = forte(num + i * child, child));
        }
    });
    sums.iter().sum()
}

/// Sums children `lo..hi` of the node at `num` whose children have size
/// `child`, splitting the range with joins.
fn chili_children(s: &mut chili::Scope<'_>, num: u64, child: u64, lo: u64, hi: u64) -> u64 {
    if hi - lo == 1 {
        return chili(s, num + lo * child, child);
    }
    let mid = (lo + hi) / 2;
    // chili runs its second closure inline first: give it the lower half.
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

fn tokio(num: u64, size: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let child = size / 10;
        let handles: Vec<_> = (0..10)
            .map(|i| tokio::spawn(tokio(num + i * child, child)))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.expect("tokio task panicked");
        }
        sum
    })
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
            let (r, t) = timed(|| pools.spindle.run(|| spindle(0, black_box(LEAVES))));
            check(W, "spindle", r, EXPECTED);
            t
        }),
        Bench::new("rayon", || {
            let (r, t) = timed(|| pools.rayon.install(|| rayon(0, black_box(LEAVES))));
            check(W, "rayon", r, EXPECTED);
            t
        }),
        Bench::new("chili", || {
            let (r, t) = timed(|| pools.chili(|s| chili(s, 0, black_box(LEAVES))));
            check(W, "chili", r, EXPECTED);
            t
        }),
        Bench::new("forte", || {
            let (r, t) = timed(|| pools.forte(|_| forte(0, black_box(LEAVES))));
            check(W, "forte", r, EXPECTED);
            t
        }),
        Bench::new("tokio", || {
            let (r, t) = timed(|| {
                pools.tokio.block_on(async {
                    tokio::spawn(tokio(0, black_box(LEAVES)))
                        .await
                        .expect("tokio task panicked")
                })
            });
            check(W, "tokio", r, EXPECTED);
            t
        }),
    ]
}
