//! `graph-*`: Taskflow's benchmark shapes as task graphs of tiny nodes,
//! each node bumping its own visit counter (checked after every run: every
//! node exactly once per run). The graph is built once, outside timing;
//! each timed run is one run of it.
//!
//! - `graph-chain`: a chain of 65,536 nodes (pure scheduling latency);
//! - `graph-tree`: a complete binary tree of 2^16 - 1 nodes, each before
//!   its two children;
//! - `graph-wavefront`: a 256×256 grid, each cell after its left and top
//!   neighbours;
//! - `graph-random`: 2^15 nodes, each with 0–4 edges to random later
//!   nodes (fixed seed).
//!
//! Implementations:
//! - serial: the same countdowns run by one thread with a stack of ready
//!   nodes, no scheduler at all: the floor any scheduler of these shapes
//!   starts from (a node's own work plus its countdown updates);
//! - spindle: a `Graph` built once, `run_scoped` per run;
//! - rayon: written by hand as a rayon user would, the best way we know:
//!   one atomic countdown per node (reset at the start of every run,
//!   timed, as spindle's nodes re-arm theirs), a `scope`, and a node that
//!   finishes runs the first successor it makes ready inline and spawns
//!   the others;
//! - tokio: the same countdowns with a task per ready node (the first
//!   ready successor continues in the same task), the root awaiting a
//!   `Notify` when the last node finishes.

use crate::impls::{check, timed, Bench, Pools};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

/// A graph's shape: successors of each node, and predecessor counts.
pub struct Shape {
    succ: Vec<Vec<u32>>,
    preds: Vec<u32>,
    sources: Vec<u32>,
}

impl Shape {
    fn from_succ(succ: Vec<Vec<u32>>) -> Self {
        let mut preds = vec![0u32; succ.len()];
        for s in &succ {
            for &t in s {
                preds[t as usize] += 1;
            }
        }
        let sources = (0..succ.len() as u32)
            .filter(|&i| preds[i as usize] == 0)
            .collect();
        Shape {
            succ,
            preds,
            sources,
        }
    }

    fn chain(n: u32) -> Self {
        Self::from_succ(
            (0..n)
                .map(|i| if i + 1 < n { vec![i + 1] } else { vec![] })
                .collect(),
        )
    }

    fn tree(n: u32) -> Self {
        Self::from_succ(
            (0..n)
                .map(|i| {
                    [2 * i + 1, 2 * i + 2]
                        .into_iter()
                        .filter(|&c| c < n)
                        .collect()
                })
                .collect(),
        )
    }

    fn wavefront(side: u32) -> Self {
        Self::from_succ(
            (0..side * side)
                .map(|i| {
                    let (r, c) = (i / side, i % side);
                    let mut s = Vec::new();
                    if c + 1 < side {
                        s.push(i + 1);
                    }
                    if r + 1 < side {
                        s.push(i + side);
                    }
                    s
                })
                .collect(),
        )
    }

    fn random(n: u32, mut seed: u64) -> Self {
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        Self::from_succ(
            (0..n)
                .map(|i| {
                    let later = n - i - 1;
                    let k = if later == 0 { 0 } else { rand() % 5 };
                    let mut s: Vec<u32> = (0..k)
                        .map(|_| i + 1 + (rand() % u64::from(later)) as u32)
                        .collect();
                    s.sort_unstable();
                    s.dedup();
                    s
                })
                .collect(),
        )
    }

    fn len(&self) -> usize {
        self.succ.len()
    }
}

pub fn shape(workload: &str) -> Shape {
    match workload {
        "graph-chain" => Shape::chain(1 << 16),
        "graph-tree" => Shape::tree((1 << 16) - 1),
        "graph-wavefront" => Shape::wavefront(256),
        "graph-random" => Shape::random(1 << 15, 0x0005_eed0_fd46),
        other => unreachable!("not a graph workload: {other}"),
    }
}

/// Per-node visit counters, checked after each run.
struct Visits {
    counts: Vec<AtomicU32>,
    runs: AtomicU32,
}

impl Visits {
    fn new(n: usize) -> Self {
        Visits {
            counts: (0..n).map(|_| AtomicU32::new(0)).collect(),
            runs: AtomicU32::new(0),
        }
    }

    /// After a run (whose end ordered every node's visit before this):
    /// every node visited once more.
    fn check(&self, w: &str, imp: &str) {
        let runs = self.runs.fetch_add(1, Ordering::Relaxed) + 1;
        let wrong = self
            .counts
            .iter()
            .filter(|c| c.load(Ordering::Relaxed) != runs)
            .count();
        check(w, imp, wrong, 0);
    }
}

/// What a countdown-based run (rayon, tokio) shares.
struct Ctx {
    shape: Shape,
    remaining: Vec<AtomicU32>,
    visits: Arc<Visits>,
    left: AtomicUsize,
    done: tokio::sync::Notify,
}

impl Ctx {
    fn new(shape: Shape, visits: Arc<Visits>) -> Self {
        let remaining = shape.preds.iter().map(|&p| AtomicU32::new(p)).collect();
        Ctx {
            shape,
            remaining,
            visits,
            left: AtomicUsize::new(0),
            done: tokio::sync::Notify::new(),
        }
    }

    fn reset(&self) {
        for (r, &p) in self.remaining.iter().zip(&self.shape.preds) {
            r.store(p, Ordering::Relaxed);
        }
        self.left.store(self.shape.len(), Ordering::Relaxed);
    }

    /// Runs node `i`; returns how many successors it made ready, after
    /// handing all but the first to `spawn` and the first to `first`.
    #[inline]
    fn visit(&self, i: u32, mut spawn: impl FnMut(u32)) -> Option<u32> {
        self.visits.counts[i as usize].fetch_add(1, Ordering::Relaxed);
        let mut next = None;
        for &t in &self.shape.succ[i as usize] {
            if self.remaining[t as usize].fetch_sub(1, Ordering::AcqRel) == 1 {
                if next.is_none() {
                    next = Some(t);
                } else {
                    spawn(t);
                }
            }
        }
        next
    }
}

/// One run by one thread: the countdowns and a stack of ready nodes.
fn serial_run(ctx: &Ctx, stack: &mut Vec<u32>) {
    ctx.reset();
    stack.extend_from_slice(&ctx.shape.sources);
    while let Some(mut i) = stack.pop() {
        while let Some(next) = ctx.visit(i, |t| stack.push(t)) {
            i = next;
        }
    }
}

fn rayon_visit<'s>(s: &rayon::Scope<'s>, ctx: &'s Ctx, mut i: u32) {
    while let Some(next) = ctx.visit(i, |t| s.spawn(move |s| rayon_visit(s, ctx, t))) {
        i = next;
    }
}

fn rayon_run(ctx: &Ctx) {
    ctx.reset();
    rayon::scope(|s| {
        for &src in &ctx.shape.sources {
            s.spawn(move |s| rayon_visit(s, ctx, src));
        }
    });
}

fn tokio_visit(ctx: Arc<Ctx>, mut i: u32) {
    loop {
        let next = ctx.visit(i, |t| {
            let ctx = ctx.clone();
            drop(tokio::spawn(async move { tokio_visit(ctx, t) }));
        });
        if ctx.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            ctx.done.notify_one();
        }
        match next {
            Some(t) => i = t,
            None => return,
        }
    }
}

async fn tokio_run(ctx: Arc<Ctx>) {
    ctx.reset();
    for &src in &ctx.shape.sources {
        let ctx = ctx.clone();
        drop(tokio::spawn(async move { tokio_visit(ctx, src) }));
    }
    ctx.done.notified().await;
}

/// The spindle graph of `shape`, each node bumping its counter.
fn spindle_graph(
    pool: &spindle::Pool,
    shape: &Shape,
    visits: &Arc<Visits>,
) -> spindle::Graph<'static> {
    let g = pool.graph();
    let nodes: Vec<_> = (0..shape.len())
        .map(|i| {
            let visits = visits.clone();
            g.node(String::new(), move || {
                visits.counts[i].fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    for (i, s) in shape.succ.iter().enumerate() {
        for &t in s {
            nodes[i].precedes(nodes[t as usize]);
        }
    }
    drop(nodes);
    g.build().expect("an acyclic graph")
}

pub fn benches<'a>(w: &'static str, pools: &'a Pools) -> Vec<Bench<'a>> {
    // Each bench builds its graph on its first (warm-up) run.
    let mut spindle_state: Option<(Arc<spindle::Graph<'static>>, Arc<Visits>)> = None;
    let mut rayon_state: Option<Arc<Ctx>> = None;
    let mut tokio_state: Option<Arc<Ctx>> = None;
    let mut serial_state: Option<(Ctx, Vec<u32>)> = None;
    vec![
        Bench::new("serial", move || {
            let (ctx, stack) = serial_state.get_or_insert_with(|| {
                let shape = shape(w);
                let visits = Arc::new(Visits::new(shape.len()));
                (Ctx::new(shape, visits), Vec::new())
            });
            let ((), t) = timed(|| serial_run(ctx, stack));
            ctx.visits.check(w, "serial");
            t
        }),
        Bench::new("spindle", move || {
            let (graph, visits) = spindle_state.get_or_insert_with(|| {
                let shape = shape(w);
                let visits = Arc::new(Visits::new(shape.len()));
                let graph = spindle_graph(pools.spindle().pool(), &shape, &visits);
                (Arc::new(graph), visits)
            });
            let g = graph.clone();
            let ((), t) = timed(|| pools.spindle().run(move || g.run_scoped()));
            visits.check(w, "spindle");
            t
        }),
        Bench::new("rayon", move || {
            let ctx = rayon_state.get_or_insert_with(|| {
                let shape = shape(w);
                let visits = Arc::new(Visits::new(shape.len()));
                Arc::new(Ctx::new(shape, visits))
            });
            let ((), t) = timed(|| pools.rayon().install(|| rayon_run(ctx)));
            ctx.visits.check(w, "rayon");
            t
        }),
        Bench::new("tokio", move || {
            let ctx = tokio_state.get_or_insert_with(|| {
                let shape = shape(w);
                let visits = Arc::new(Visits::new(shape.len()));
                Arc::new(Ctx::new(shape, visits))
            });
            let c = ctx.clone();
            let ((), t) = timed(|| pools.tokio().block_on(tokio_run(c)));
            // `left` reached zero after every visit, then the notify.
            ctx.visits.check(w, "tokio");
            t
        }),
    ]
}
