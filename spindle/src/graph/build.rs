//! Building a task graph: nodes and edges recorded by a [`GraphBuilder`],
//! checked by [`GraphBuilder::build`] (cycles, foreign nodes, options
//! against the pool) and laid out flat for the runs.

use core::cell::RefCell;
use core::marker::PhantomData;

use super::exec::{GraphInner, NodeSpec, Work};
use super::node_fn::NodeFn;
use super::Graph;
use crate::error::Error;
use crate::facade::Arc;
use crate::options::{Options, Priority};
use crate::pool::registry::Registry;
use crate::sync::countdown::MAX_PREDECESSORS;

/// Records the nodes and edges of a task graph; [`build`](Self::build)
/// checks them and returns the [`Graph`]. Made by
/// [`Pool::graph`](crate::Pool::graph); see [`Graph`] for the guide.
///
/// `'env` is the lifetime of what the nodes borrow: a graph whose nodes
/// borrow from the caller's stack runs with
/// [`Graph::run_scoped`], one whose nodes own their data (`'static`) may
/// also run detached with [`Graph::run`].
pub struct GraphBuilder<'env> {
    registry: Arc<Registry>,
    state: RefCell<State<'env>>,
}

struct State<'env> {
    nodes: Vec<Pending<'env>>,
    /// The first edge made with a node of another builder, reported by
    /// `build`.
    foreign: Option<String>,
}

/// A node as recorded, before the checks.
struct Pending<'env> {
    name: String,
    work: Work<'env>,
    options: Options,
    main_thread: bool,
    successors: Vec<u32>,
}

/// A node of a [`GraphBuilder`], to give edges and options to. Cheap to
/// copy; valid while its builder is borrowed.
#[derive(Clone, Copy)]
pub struct NodeRef<'b, 'env> {
    builder: &'b GraphBuilder<'env>,
    index: u32,
}

impl<'env> GraphBuilder<'env> {
    pub(crate) fn new(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            state: RefCell::new(State {
                nodes: Vec::new(),
                foreign: None,
            }),
        }
    }

    /// Adds a node that calls `f` once per run of the graph.
    ///
    /// `f` is `Fn`, not `FnOnce`: a graph is built once and run many times.
    /// It may use [`join`](crate::join), [`scope`](crate::scope) or run
    /// another graph inside: the node's successors start only when all of
    /// that is done.
    pub fn node(
        &self,
        name: impl Into<String>,
        f: impl Fn() + Send + Sync + 'env,
    ) -> NodeRef<'_, 'env> {
        self.push(name.into(), Work::Call(NodeFn::new(f)))
    }

    /// Adds a node that runs the future `f()` makes, to completion, once
    /// per run: an async step in a graph (an awaited read, a channel, a
    /// timer of another crate). While the future is pending the node's
    /// thread runs other work (with fibers its fiber suspends; without,
    /// it runs other jobs), as in [`Pool::block_on`](crate::Pool::block_on).
    /// The future stays on the thread that runs the node, so it need not
    /// be `Send`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let pool = spindle::Pool::builder().workers(1).build()?;
    /// let ready = Arc::new(spindle::Event::manual());
    /// let g = pool.graph();
    /// let r = ready.clone();
    /// let wait = g.task("wait", move || {
    ///     let r = r.clone();
    ///     async move { r.wait_async().await }
    /// });
    /// let r = ready.clone();
    /// let signal = g.node("signal", move || r.set());
    /// let after = g.node("after", || {});
    /// after.succeeds(&[wait, signal]);
    /// g.build()?.run_scoped();
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn task<F, Fut>(&self, name: impl Into<String>, f: F) -> NodeRef<'_, 'env>
    where
        F: Fn() -> Fut + Send + Sync + 'env,
        Fut: core::future::Future<Output = ()> + 'env,
    {
        let registry = self.registry.clone();
        self.node(name, move || {
            crate::pool::handle::with_local(&registry, |_| crate::task::block::run_here(f()));
        })
    }

    /// Adds a node that calls `f(i)` for every `i` in `0..n` per run, in
    /// parallel (the range split in halves with `join` down to single
    /// indices, so idle threads take parts of it), like one
    /// [`dispatch`](crate::Pool::dispatch) of `n` jobs. The node is done
    /// when every call has returned.
    pub fn batch(
        &self,
        name: impl Into<String>,
        n: usize,
        f: impl Fn(usize) + Send + Sync + 'env,
    ) -> NodeRef<'_, 'env> {
        self.push(name.into(), Work::Batch(n, Box::new(f)))
    }

    fn push(&self, name: String, work: Work<'env>) -> NodeRef<'_, 'env> {
        let mut state = self.state.borrow_mut();
        let index = u32::try_from(state.nodes.len()).expect("spindle: more than 2^32 graph nodes");
        state.nodes.push(Pending {
            name,
            work,
            options: Options::new(),
            main_thread: false,
            successors: Vec::new(),
        });
        NodeRef {
            builder: self,
            index,
        }
    }

    /// How many nodes so far.
    pub fn len(&self) -> usize {
        self.state.borrow().nodes.len()
    }

    /// True before the first node.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks the graph and lays it out for running. Nothing runs here.
    ///
    /// # Errors
    ///
    /// - [`Error::GraphCycle`] if the edges form a cycle (naming its nodes);
    /// - [`Error::ForeignNode`] if an edge joins a node of another builder;
    /// - an affinity error if a node's [`Options`] cannot be honoured by
    ///   the pool (as at any submission);
    /// - [`Error::TooManyPredecessors`] past 2^31 - 1 edges into one node.
    pub fn build(self) -> Result<Graph<'env>, Error> {
        let state = self.state.into_inner();
        if let Some(node) = state.foreign {
            return Err(Error::ForeignNode { node });
        }
        let nodes = state.nodes;
        let mut preds = vec![0u32; nodes.len()];
        let mut successors: Vec<Vec<u32>> = Vec::with_capacity(nodes.len());
        for n in &nodes {
            let mut s = n.successors.clone();
            s.sort_unstable();
            s.dedup();
            for &t in &s {
                preds[t as usize] += 1;
                if preds[t as usize] > MAX_PREDECESSORS {
                    return Err(Error::TooManyPredecessors {
                        node: nodes[t as usize].name.clone(),
                    });
                }
            }
            successors.push(s);
        }
        if let Some(cycle) = find_cycle(&successors, &preds) {
            return Err(Error::GraphCycle {
                nodes: cycle.iter().map(|&i| nodes[i].name.clone()).collect(),
            });
        }
        let mut specs = Vec::with_capacity(nodes.len());
        for (i, n) in nodes.into_iter().enumerate() {
            let placement = self.registry.place(&n.options)?;
            specs.push(NodeSpec {
                name: n.name,
                work: n.work,
                placement,
                main_thread: n.main_thread,
                predecessors: preds[i],
                successors: core::mem::take(&mut successors[i]),
            });
        }
        Ok(Graph {
            inner: GraphInner::new(self.registry, specs),
            _env: PhantomData,
        })
    }
}

impl core::fmt::Debug for GraphBuilder<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GraphBuilder")
            .field("nodes", &self.len())
            .finish_non_exhaustive()
    }
}

impl<'b, 'env> NodeRef<'b, 'env> {
    /// `self` must finish before `other` starts. Returns `self`, to chain.
    ///
    /// An edge to a node of another builder makes
    /// [`build`](GraphBuilder::build) fail with [`Error::ForeignNode`].
    pub fn precedes(self, other: NodeRef<'_, 'env>) -> Self {
        if !core::ptr::eq(self.builder, other.builder) {
            let mut state = self.builder.state.borrow_mut();
            if state.foreign.is_none() {
                state.foreign = Some(other.name());
            }
            return self;
        }
        self.builder.state.borrow_mut().nodes[self.index as usize]
            .successors
            .push(other.index);
        self
    }

    /// Every node of `others` must finish before `self` starts. Returns
    /// `self`, to chain.
    pub fn succeeds(self, others: &[NodeRef<'_, 'env>]) -> Self {
        for o in others {
            o.precedes(self);
        }
        self
    }

    /// The node's priority and affinity (checked by
    /// [`build`](GraphBuilder::build)).
    pub fn options(self, options: Options) -> Self {
        self.builder.state.borrow_mut().nodes[self.index as usize].options = options;
        self
    }

    /// The node's priority class (default `Normal`).
    pub fn priority(self, priority: Priority) -> Self {
        self.builder.state.borrow_mut().nodes[self.index as usize]
            .options
            .priority = priority;
        self
    }

    /// The node runs on the thread that built the pool, like
    /// [`Pool::spawn_on_main`](crate::Pool::spawn_on_main): when that thread
    /// waits on the run (or on anything of the pool) or calls
    /// [`Pool::run_main_jobs`](crate::Pool::run_main_jobs). A run with such
    /// a node finishes only if that thread does one of these.
    pub fn on_main_thread(self) -> Self {
        self.builder.state.borrow_mut().nodes[self.index as usize].main_thread = true;
        self
    }

    /// The name given at creation.
    pub fn name(&self) -> String {
        self.builder.state.borrow().nodes[self.index as usize]
            .name
            .clone()
    }
}

impl core::fmt::Debug for NodeRef<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NodeRef")
            .field("index", &self.index)
            .field("name", &self.name())
            .finish()
    }
}

/// One cycle of the graph, as node indices in edge order, if it has one:
/// Kahn's removal of nodes whose predecessors are all removed; a graph is
/// acyclic exactly when every node goes.
fn find_cycle(successors: &[Vec<u32>], preds: &[u32]) -> Option<Vec<usize>> {
    let n = successors.len();
    let mut left = preds.to_vec();
    let mut ready: Vec<usize> = (0..n).filter(|&i| left[i] == 0).collect();
    let mut removed = vec![false; n];
    let mut count = 0;
    while let Some(i) = ready.pop() {
        removed[i] = true;
        count += 1;
        for &s in &successors[i] {
            left[s as usize] -= 1;
            if left[s as usize] == 0 {
                ready.push(s as usize);
            }
        }
    }
    if count == n {
        return None;
    }
    // Every node not removed has a predecessor not removed (else its count
    // would have reached zero): walking predecessors among them never stops,
    // so it repeats a node, and the repeat closes a cycle.
    let mut pred_of = vec![usize::MAX; n];
    for (i, s) in successors.iter().enumerate() {
        if removed[i] {
            continue;
        }
        for &t in s {
            if !removed[t as usize] {
                pred_of[t as usize] = i;
            }
        }
    }
    let start = (0..n).find(|&i| !removed[i]).expect("a node left");
    let mut seen = vec![false; n];
    let mut at = start;
    while !seen[at] {
        seen[at] = true;
        at = pred_of[at];
    }
    // `at` is on the cycle; collect it backwards, then turn it around.
    let mut cycle = vec![at];
    let mut p = pred_of[at];
    while p != at {
        cycle.push(p);
        p = pred_of[p];
    }
    cycle.reverse();
    Some(cycle)
}

#[cfg(test)]
mod tests {
    use super::find_cycle;

    fn preds(succ: &[Vec<u32>]) -> Vec<u32> {
        let mut p = vec![0; succ.len()];
        for s in succ {
            for &t in s {
                p[t as usize] += 1;
            }
        }
        p
    }

    #[test]
    fn a_dag_has_no_cycle() {
        let succ = vec![vec![1, 2], vec![3], vec![3], vec![]];
        assert_eq!(find_cycle(&succ, &preds(&succ)), None);
    }

    #[test]
    fn a_cycle_is_found_in_edge_order() {
        // 0 -> 1 -> 2 -> 3 -> 1, and 3 -> 4.
        let succ = vec![vec![1], vec![2], vec![3], vec![1, 4], vec![]];
        let cycle = find_cycle(&succ, &preds(&succ)).expect("a cycle");
        assert_eq!(cycle.len(), 3);
        for w in 0..cycle.len() {
            let (a, b) = (cycle[w], cycle[(w + 1) % cycle.len()]);
            assert!(
                succ[a].contains(&(b as u32)),
                "{a} -> {b} is no edge: {cycle:?}"
            );
        }
    }

    #[test]
    fn a_self_edge_is_a_cycle_of_one() {
        let succ = vec![vec![0]];
        assert_eq!(find_cycle(&succ, &preds(&succ)), Some(vec![0]));
    }
}
