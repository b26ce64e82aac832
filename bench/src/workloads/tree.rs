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
use std::sync::OnceLock;
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

/// A tree built on first use: `root` builds it (and its expected sum)
/// once per process.
pub struct LazyTree {
    id: &'static str,
    layers: u32,
    cell: OnceLock<(&'static Node, u64)>,
}

impl LazyTree {
    pub fn new(id: &'static str, layers: u32) -> Self {
        LazyTree {
            id,
            layers,
            cell: OnceLock::new(),
        }
    }

    fn get(&self) -> (&'static Node, u64) {
        *self.cell.get_or_init(|| {
            let (tree, secs) = build(self.layers);
            crate::progress::line(&format!(
                "built the {} tree ({} layers) in {secs:.2} s",
                self.id, self.layers
            ));
            (tree, expected(tree))
        })
    }
}

/// One bench: each timed run sums the tree `reps` times back to back
/// (entering the pool each time) and reports the time of one sum.
fn bench<'a>(
    w: &'static str,
    name: &'static str,
    reps: u32,
    tree: &'a LazyTree,
    mut sum: impl FnMut(&'static Node) -> u64 + 'a,
) -> Bench<'a> {
    Bench::new(name, move || {
        let (root, want) = tree.get();
        let (total, t) = timed(|| (0..reps).fold(0u64, |acc, _| acc.wrapping_add(sum(root))));
        check(w, name, total, want.wrapping_mul(u64::from(reps)));
        t / reps
    })
}

pub fn benches<'a>(w: &'static str, pools: &'a Pools, tree: &'a LazyTree) -> Vec<Bench<'a>> {
    // A single sum of the small tree takes microseconds: too short to time
    // alone reliably, so its runs repeat it.
    let reps = if w == "tree-sum-small" { SMALL_REPS } else { 1 };
    let threads = pools.threads;
    let mut benches = vec![
        bench(w, "serial", reps, tree, move |root| serial(black_box(root))),
        bench(w, "spindle", reps, tree, move |root| {
            pools.spindle().run(move || spindle(black_box(root)))
        }),
        bench(w, "rayon", reps, tree, move |root| {
            pools.rayon().install(|| rayon(black_box(root)))
        }),
        bench(w, "chili", reps, tree, move |root| {
            pools.chili(|s| chili(s, black_box(root)))
        }),
        bench(w, "forte", reps, tree, move |root| {
            pools.forte(|fw| forte(fw, black_box(root)))
        }),
    ];
    // At one thread `spindle` hands each sum to the pool's one worker and
    // waits for it: a cross-thread wake-up per run of sums. This row is the
    // form a program's main thread uses instead: it takes part itself.
    if threads == 1 && w == "tree-sum-small" {
        benches.push(bench(w, "spindle-caller", reps, tree, move |root| {
            pools.spindle().install_here(|| spindle(black_box(root)))
        }));
    }
    if threads > 1 && w == "tree-sum" {
        benches.push(bench(w, "split", reps, tree, move |root| {
            split(black_box(root), threads)
        }));
    }
    benches
}
