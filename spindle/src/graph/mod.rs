//! Task graphs: jobs with dependencies, built once and run many times.
//! The guide is on [`Graph`].

mod build;
mod dot;
mod exec;
mod node_fn;

use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};

pub use build::{GraphBuilder, NodeRef};
use exec::GraphInner;

use crate::facade::Arc;
use crate::pool::Pool;
use crate::sync::CounterFuture;
use crate::task::JobError;

/// A checked task graph: nodes (closures, or batches over an index range)
/// and the edges that order them. Built once with [`Pool::graph`], run as
/// often as you like; a run after the first allocates nothing.
///
/// A node starts when all its predecessors have finished; nodes that do
/// not depend on each other run in parallel. When a node finishes, the
/// first of its successors it makes ready runs next on the same thread
/// (its data is still in cache), and the others are queued for idle
/// threads. Each node keeps the priority, affinity or main-thread
/// placement it was given.
///
/// - [`run`](Graph::run) (for a graph whose nodes own their data) starts a
///   run and returns a [`GraphRun`] to wait for, `.await`, poll or cancel;
/// - [`run_scoped`](Graph::run_scoped) runs it and waits, so the nodes may
///   borrow from the caller's stack;
/// - runs of one graph are queued one after the other, never interleaved
///   (a node's job and countdown live in the graph, one run's worth); for
///   runs side by side, build the graph twice;
/// - a node that panics *cancels the nodes that depend on it* (directly or
///   not: they never start); the others finish, and the run's wait
///   re-raises the first panic;
/// - inside a node, [`join`](crate::join), [`scope`](crate::scope) or a
///   nested graph run are fine: the node's successors start only when all
///   of it is done (Taskflow's subflows, with the pool's own tools);
/// - a node may be async ([`GraphBuilder::task`]): it runs a future to
///   completion, and while the future is pending its thread runs other
///   work (with fibers, the node's fiber suspends);
/// - [`to_dot`](Graph::to_dot) draws it (Graphviz).
///
/// When to use a graph rather than `join`, `scope` or `dispatch`: when the
/// same shape of dependent work repeats (a frame's physics → animation →
/// render), or when the dependencies are not a tree (a node with several
/// predecessors); `join` and `scope` express trees, and cost less for
/// work that is made up as it goes.
///
/// Conditional edges (a node choosing which successor runs) are not
/// offered: a branch not taken would have to skip its whole subgraph with
/// the right counts at every join point, which skipping on cancellation
/// already does for failures; write the choice inside a node instead.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// let positions: Vec<AtomicU64> = (0..64).map(AtomicU64::new).collect();
/// let total = AtomicU64::new(0);
///
/// let g = pool.graph();
/// let physics = g.batch("physics", positions.len(), |i| {
///     positions[i].fetch_add(1, Ordering::Relaxed);
/// });
/// let animate = g.batch("animate", positions.len(), |i| {
///     positions[i].fetch_add(10, Ordering::Relaxed);
/// });
/// let sum = g.node("sum", || {
///     let s = positions.iter().map(|p| p.load(Ordering::Relaxed)).sum();
///     total.store(s, Ordering::Relaxed);
/// });
/// physics.precedes(animate);
/// sum.succeeds(&[animate]);
/// let frame = g.build()?;
///
/// for _ in 0..3 {
///     frame.run_scoped(); // the nodes borrow `positions` and `total`
/// }
/// assert_eq!(total.load(Ordering::Relaxed), (0..64).sum::<u64>() + 3 * 11 * 64);
/// println!("{}", frame.to_dot());
/// # Ok::<(), spindle::Error>(())
/// ```
pub struct Graph<'env> {
    inner: Arc<GraphInner>,
    _env: PhantomData<&'env ()>,
}

impl Pool {
    /// A builder for a task graph that runs on this pool; see [`Graph`].
    pub fn graph<'env>(&self) -> GraphBuilder<'env> {
        GraphBuilder::new(self.registry().clone())
    }

    /// [`Graph::run`]: starts a run of `graph`, built by this pool's
    /// [`graph`](Pool::graph).
    ///
    /// # Panics
    ///
    /// If `graph` was built for another pool.
    pub fn run(&self, graph: &Graph<'static>) -> GraphRun {
        self.check_own(graph);
        graph.run()
    }

    /// [`Graph::run_scoped`]: runs `graph`, built by this pool's
    /// [`graph`](Pool::graph), and waits for it.
    ///
    /// # Panics
    ///
    /// If `graph` was built for another pool; as [`Graph::run_scoped`].
    pub fn run_scoped(&self, graph: &Graph<'_>) {
        self.check_own(graph);
        graph.run_scoped();
    }

    fn check_own(&self, graph: &Graph<'_>) {
        assert!(
            Arc::ptr_eq(self.registry(), &graph.inner.registry),
            "spindle: a task graph run through a pool other than the one that built it"
        );
    }
}

impl Graph<'static> {
    /// Starts a run (or queues it behind the runs of this graph not
    /// finished yet) and returns its handle. Dropping the handle does not
    /// cancel the run.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let hits = Arc::new(AtomicUsize::new(0));
    /// let g = pool.graph();
    /// let h = hits.clone();
    /// let a = g.node("a", move || { h.fetch_add(1, Ordering::Relaxed); });
    /// let h = hits.clone();
    /// g.node("b", move || { h.fetch_add(1, Ordering::Relaxed); }).succeeds(&[a]);
    /// let graph = g.build()?;
    /// let runs: Vec<_> = (0..4).map(|_| graph.run()).collect();
    /// for r in runs {
    ///     r.wait();
    /// }
    /// assert_eq!(hits.load(Ordering::Relaxed), 8);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If the graph's pool has been dropped (nothing could run it).
    pub fn run(&self) -> GraphRun {
        self.start()
    }
}

impl<'env> Graph<'env> {
    fn start(&self) -> GraphRun {
        assert!(
            !self.inner.registry.is_terminating(),
            "spindle: a task graph was run after its pool was dropped"
        );
        GraphRun {
            number: self.inner.ask_run(),
            inner: self.inner.clone(),
        }
    }

    /// Runs the graph and waits for the run (after any run of it queued
    /// before), running other jobs meanwhile, like [`Pool::wait`]. The
    /// nodes may borrow anything that outlives the graph.
    ///
    /// # Panics
    ///
    /// Re-raises the first panic of a node of the runs waited for (its
    /// dependents were skipped; the other nodes finished). Also as for
    /// [`run`](Graph::run).
    pub fn run_scoped(&self) {
        self.start().wait();
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True for a graph without nodes (a run of it finishes at once).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The graph in Graphviz's `dot` language: one box per node (its name,
    /// `[main]` for main-thread nodes, the priority unless `Normal`), one
    /// arrow per edge. `dot -Tsvg` draws it.
    pub fn to_dot(&self) -> String {
        dot::to_dot(&self.inner)
    }
}

impl core::fmt::Debug for Graph<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Graph")
            .field("nodes", &self.len())
            .field("edges", &self.inner.succ.len())
            .finish()
    }
}

/// One run of a [`Graph`] started by [`Graph::run`].
///
/// A wait on it ([`wait`](Self::wait), [`wait_async`](Self::wait_async))
/// returns once this run *and every run of the graph asked for before the
/// wait* have finished: runs of a graph are queued one after the other,
/// and the wait counts them together (for a frame loop that runs and
/// waits, that is the one run).
#[must_use = "a run goes on when its handle is dropped; use the handle to wait for it"]
pub struct GraphRun {
    inner: Arc<GraphInner>,
    number: u64,
}

impl GraphRun {
    /// Waits for the run, running other jobs meanwhile (see the type's
    /// docs for what is waited for).
    ///
    /// # Panics
    ///
    /// Re-raises the first panic of a node, once.
    pub fn wait(self) {
        crate::dispatch::wait_counter(&self.inner.registry, &self.inner.counter);
    }

    /// True once this run has finished (every node ran or was skipped).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished(self.number)
    }

    /// Cancels the run: its nodes that have not started yet never start
    /// (they count as skipped). Nodes running now finish. A run not
    /// started yet is skipped whole.
    pub fn cancel(&self) {
        self.inner.cancel(self.number);
    }

    /// Waits for the run in async code: `Ok(())`, or the first panic of a
    /// node as a [`JobError`]. `(&run).await` does the same.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let g = pool.graph();
    /// g.node("fails", || panic!("no"));
    /// let graph = g.build()?;
    /// let run = graph.run();
    /// let result = pool.block_on(async { (&run).await });
    /// assert!(result.unwrap_err().is_panic());
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn wait_async(&self) -> GraphRunFuture<'_> {
        GraphRunFuture {
            inner: self.inner.counter.wait_async(),
        }
    }
}

impl<'a> core::future::IntoFuture for &'a GraphRun {
    type Output = Result<(), JobError>;
    type IntoFuture = GraphRunFuture<'a>;

    /// `(&run).await` is [`GraphRun::wait_async`].
    fn into_future(self) -> GraphRunFuture<'a> {
        self.wait_async()
    }
}

impl core::fmt::Debug for GraphRun {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GraphRun")
            .field("number", &self.number)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// The future of [`GraphRun::wait_async`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct GraphRunFuture<'a> {
    inner: CounterFuture<'a>,
}

impl core::future::Future for GraphRunFuture<'_> {
    type Output = Result<(), JobError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = Pin::new(&mut self.inner);
        // The counter's future re-raises a node's panic: hand it back as an
        // error instead.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Err(p) => Poll::Ready(Err(JobError::panic(p))),
        }
    }
}
