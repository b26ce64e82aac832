//! `tree-sum` / `tree-sum-small`: sum the values of a balanced binary tree of
//! heap nodes, one join per node (leaves included, joining two empty
//! children). `tree-sum` has 2^24 - 1 nodes, `tree-sum-small` 2^10 - 1 =
//! 1023. Checked against `n (n + 1) / 2` (values are 1..=n). A sum of the
//! small tree takes microseconds, so each timed run of `tree-sum-small`
//! performs 1000 sums back to back (entering the pool for each one, as a
//! lone sum would) and reports the time of one sum.
//!
//! At 2+ threads `tree-sum` also has a `split` row: the ceiling a perfect
//! scheduler could reach (see [`split`]).
//!
//! At 1 thread, `spindle` hands every sum to the pool's one worker and the
//! bench thread waits (see `impls.rs`), so `tree-sum-small` there measures
//! that cross-thread hand-off and wake-up more than the joins;
//! `spindle-caller` (1 thread only) is the form a program's main thread
//! uses: `Pool::install` from the caller, which sums itself (the worker may
//! steal, so up to two threads run).
//!
//! Each tree is built once per process, outside timing, and shared by every
//! implementation and thread count (it is leaked, so it is `'static`).
//! Nodes are allocated in pre-order, parent then left subtree then right.
//!
//! Visiting order matters a lot here (allocation order decides memory
//! locality: on a 2-core test machine it alone changed the serial time 3-5x),
//! so every implementation, serial included, visits the LEFT subtree first:
//! serial sums left before right; rayon and spindle run their first join
//! closure inline, so it gets the left child; chili and forte run their
//! second closure inline, so that one gets the left child.

use crate::impls::{check, timed, Bench, Pools};
use std::hint::black_box;
use std::time::Instant;

pub const BIG_LAYERS: u32 = 24;
pub const SMALL_LAYERS: u32 = 10;
/// Sums per timed run of `tree-sum-small` (one per run for `tree-sum`).
const SMALL_REPS: u32 = 1000;

/// A heap-allocated binary tree node.
pub struct Node {
    value: u64,
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

fn build_rec(layers: u32, next: &mut u64) -> Option<Box<Node>> {
    if layers == 0 {
        return None;
    }
    *next += 1;
    // Allocate the parent first, then its left and right subtrees.
    let mut node = Box::new(Node {
        value: *next,
        left: None,
        right: None,
    });
    node.left = build_rec(layers - 1, next);
    node.right = build_rec(layers - 1, next);
    Some(node)
}

/// Builds (and leaks) a full tree of `layers` layers; also returns the
/// seconds it took.
pub fn build(layers: u32) -> (&'static Node, f64) {
    let start = Instant::now();
    let mut next = 0;
    let root = build_rec(layers, &mut next).expect("at least one layer");
    (Box::leak(root), start.elapsed().as_secs_f64())
}

fn expected(root: &Node) -> u64 {
    // Values are 1..=n with n = 2^layers - 1; find n from the depth.
    let mut layers = 0;
    let mut node = Some(root);
    while let Some(n) = node {
        layers += 1;
        node = n.left.as_deref();
    }
    let n = (1u64 << layers) - 1;
    n * (n + 1) / 2
}

#[inline(never)]
fn serial(node: &Node) -> u64 {
    let left = node.left.as_deref().map_or(0, serial);
    let right = node.right.as_deref().map_or(0, serial);
    node.value + left + right
}

fn spindle(node: &Node) -> u64 {
    let (left, right) = spindle::join(
        || node.left.as_deref().map_or(0, spindle),
        || node.right.as_deref().map_or(0, spindle),
    );
    node.value + left + right
}

fn rayon(node: &Node) -> u64 {
    let (left, right) = rayon::join(
        || node.left.as_deref().map_or(0, rayon),
        || node.right.as_deref().map_or(0, rayon),
    );
    node.value + left + right
}

fn chili(s: &mut chili::Scope<'_>, node: &Node) -> u64 {
    // chili runs its second closure inline first: give it the left child.
    let (right, left) = s.join(
        |s| node.right.as_deref().map_or(0, |n| chili(s, n)),
        |s| node.left.as_deref().map_or(0, |n| chili(s, n)),
    );
    node.value + left + right
}

fn forte(w: &forte::Worker, node: &Node) -> u64 {
    // forte runs its second closure inline first: give it the left child.
    let (right, left) = w.join(
        |w| node.right.as_deref().map_or(0, |n| forte(w, n)),
        |w| node.left.as_deref().map_or(0, |n| forte(w, n)),
    );
    node.value + left + right
}

/// The ceiling for `threads` threads: no scheduler at all. The tree is cut
/// into its `2^d >= threads` subtrees at depth `d`, dealt out in equal
/// contiguous shares to `threads` plain scoped threads that sum them
/// serially (the caller takes the first share; the few nodes above depth
/// `d` are summed by the caller too). For a power-of-two thread count the
/// shares are exactly equal, so this is what a perfect, free fork-join
/// could reach on this machine (thread start-up included, microseconds).
fn split(root: &Node, threads: usize) -> u64 {
    let mut depth = 0;
    while (1usize << depth) < threads {
        depth += 1;
    }
    let mut above = 0;
    let mut level = vec![root];
    for _ in 0..depth {
        let mut next = Vec::with_capacity(level.len() * 2);
        for n in level {
            above += n.value;
            next.extend(n.left.as_deref());
            next.extend(n.right.as_deref());
        }
        level = next;
    }
    let share = level.len().div_ceil(threads);
    let mut shares = level.chunks(share.max(1));
    let first = shares.next().unwrap_or(&[]);
    std::thread::scope(|s| {
        let others: Vec<_> = shares
            .map(|c| s.spawn(move || c.iter().map(|n| serial(n)).sum::<u64>()))
            .collect();
        let mine: u64 = first.iter().map(|n| serial(n)).sum();
        above
            + mine
            + others
                .into_iter()
                .map(|h| h.join().expect("split thread"))
                .sum::<u64>()
    })
}

/// One bench: each timed run sums the tree `reps` times back to back
/// (entering the pool each time) and reports the time of one sum.
fn bench<'a>(
    w: &'static str,
    name: &'static str,
    reps: u32,
    want: u64,
    mut sum: impl FnMut() -> u64 + 'a,
) -> Bench<'a> {
    Bench::new(name, move || {
        let (total, t) = timed(|| (0..reps).fold(0u64, |acc, _| acc.wrapping_add(sum())));
        check(w, name, total, want.wrapping_mul(u64::from(reps)));
        t / reps
    })
}

pub fn benches<'a>(w: &'static str, pools: &'a Pools, root: &'static Node) -> Vec<Bench<'a>> {
    let want = expected(root);
    // A single sum of the small tree takes microseconds: too short to time
    // alone reliably, so its runs repeat it.
    let reps = if w == "tree-sum-small" { SMALL_REPS } else { 1 };
    let threads = pools.threads;
    let mut benches = vec![
        bench(w, "serial", reps, want, move || serial(black_box(root))),
        bench(w, "spindle", reps, want, move || {
            pools.spindle.run(move || spindle(black_box(root)))
        }),
        bench(w, "rayon", reps, want, move || {
            pools.rayon.install(|| rayon(black_box(root)))
        }),
        bench(w, "chili", reps, want, move || {
            pools.chili(|s| chili(s, black_box(root)))
        }),
        bench(w, "forte", reps, want, move || {
            pools.forte(|fw| forte(fw, black_box(root)))
        }),
    ];
    // At one thread `spindle` hands each sum to the pool's one worker and
    // waits for it: a cross-thread wake-up per run of sums. This row is the
    // form a program's main thread uses instead: it takes part itself.
    if threads == 1 && w == "tree-sum-small" {
        benches.push(bench(w, "spindle-caller", reps, want, move || {
            pools.spindle.install_here(|| spindle(black_box(root)))
        }));
    }
    if threads > 1 && w == "tree-sum" {
        benches.push(bench(w, "split", reps, want, move || {
            split(black_box(root), threads)
        }));
    }
    benches
}
