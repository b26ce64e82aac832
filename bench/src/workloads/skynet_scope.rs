//! `skynet-scope`: the skynet tree of `skynet` (10 children per node down to
//! 1,000,000 leaves, leaf `i` returns `i`, the root's sum checked), where
//! every node opens a scope and spawns each of its 10 children as a job
//! writing its sum into its own slot. This measures spawned, heap-block
//! jobs and scope completion counting, where `skynet` measures joins.
//!
//! Implementations with a scope: spindle, rayon, forte; tokio spawns each
//! child as an async task and awaits the handles; serial is plain recursion.

use crate::impls::{check, timed, Bench, Pools};
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;

use super::skynet::{serial, EXPECTED, LEAVES};

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
    const W: &str = "skynet-scope";
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
        Bench::new("forte", || {
            let (r, t) = timed(|| pools.forte(|_| forte(0, black_box(LEAVES))));
            check(W, "forte", r, EXPECTED);
            t
        }),
        Bench::new("tokio", || {
            let (r, t) = timed(|| {
                pools.tokio().block_on(async {
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
