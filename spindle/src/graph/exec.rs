//! Running a task graph: the nodes' embedded jobs, how a finished node
//! starts its successors, and how runs follow one another.
//!
//! # Spec
//!
//! - Every node embeds its job (`NodeSlot`, header first), queued through
//!   the pool's ordinary queues with the node's priority and affinity, or
//!   to the main thread's queue. A run allocates nothing.
//! - Runs of one graph are sequential: `runs` counts runs asked for and
//!   not finished; whoever raises it from 0 starts a run, and whoever ends
//!   a run with more asked for starts the next. So a node belongs to at
//!   most one run at a time, and its embedded job is queued at most once.
//! - In a run every node *starts* exactly once, run or skipped: its
//!   countdown's last arrival (`sync/countdown.rs`) queues it, or runs it
//!   next on the same thread. A node is skipped (its closure not called)
//!   if a predecessor panicked or was skipped, or if the run was
//!   cancelled; its successors are then skipped too. When a node starts it
//!   re-arms its countdown for the next run (no pass over the graph
//!   between runs).
//! - `left` counts nodes of the current run not counted finished, plus one
//!   for the starter while it queues the sources; a thread counts the
//!   nodes it ran in a row (each running the next ready one) in one
//!   decrement at the end. Whoever brings it to zero ends the run: it lets
//!   go of the run's reference to the graph, counts the run done on the
//!   graph's counter (which wakes waiters), and starts the next run if one
//!   was asked for (with that run's own reference). Nothing of the graph
//!   is touched after a reference is dropped unless another one holds it.

use core::ptr::NonNull;
use std::any::Any;

use super::node_fn::NodeFn;
use crate::facade::{Arc, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::job::{JobHeader, JobRef};
use crate::pool::placement::Placement;
use crate::pool::registry::Registry;
use crate::sync::countdown::Countdown;
use crate::sync::Counter;

/// What a node does when it runs.
pub(crate) enum Work<'env> {
    Call(NodeFn<'env>),
    Batch(usize, Box<dyn Fn(usize) + Send + Sync + 'env>),
}

/// The same, with the borrow's lifetime erased (see `GraphInner::new`).
type ErasedWork = Work<'static>;

/// A checked node, for `GraphInner::new`.
pub(crate) struct NodeSpec<'env> {
    pub(crate) name: String,
    pub(crate) work: Work<'env>,
    pub(crate) placement: Placement,
    pub(crate) main_thread: bool,
    pub(crate) predecessors: u32,
    pub(crate) successors: Vec<u32>,
}

/// A node's job: its header first, so the header's address is the
/// slot's, and what running the node reads besides its work. Kept small
/// (48 bytes): the works are a dense array of their own, as are the
/// countdowns that predecessors hit and the routes they read, and what
/// only `to_dot` and queueing with options need is in `NodeInfo`. A graph
/// of tiny nodes is bound by the memory its run touches: with everything
/// in one 120-byte node, `graph-wavefront` ran 3× slower.
#[repr(C)]
pub(crate) struct NodeSlot {
    header: JobHeader,
    graph: *const GraphInner,
    index: u32,
    /// Set by whoever queues this node when a predecessor failed this run;
    /// read when it starts. The queueing orders the two.
    poisoned: AtomicBool,
    predecessors: u32,
    /// This node's successors: `succ[first..end]` of the graph.
    first: u32,
    end: u32,
}

/// Where a ready node may run (a dense byte per node, read by each
/// predecessor that makes it ready).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Route {
    /// `Normal`, any worker: the finishing predecessor may run it next.
    Plain,
    /// On the thread that built the pool.
    Main,
    /// Another priority or an affinity: queued with them.
    Placed,
}

/// What only drawing the graph and queueing a placed node read.
pub(crate) struct NodeInfo {
    pub(crate) name: String,
    /// The name as traces keep it (`observe::intern`; empty without a
    /// tracing feature).
    #[cfg_attr(
        not(any(feature = "trace", feature = "tracing", feature = "tracy")),
        allow(dead_code)
    )]
    label: &'static str,
    placement: Placement,
    main_thread: bool,
}

impl NodeInfo {
    pub(crate) fn is_main_thread(&self) -> bool {
        self.main_thread
    }

    pub(crate) fn priority(&self) -> crate::options::Priority {
        self.placement.priority
    }
}

impl GraphInner {
    /// Node `i`'s successors' indices.
    pub(crate) fn successors(&self, i: usize) -> &[u32] {
        let slot = &self.slots[i];
        &self.succ[slot.first as usize..slot.end as usize]
    }
}

pub(crate) struct GraphInner {
    pub(crate) registry: Arc<Registry>,
    slots: Box<[NodeSlot]>,
    countdowns: Box<[Countdown]>,
    routes: Box<[Route]>,
    works: Box<[ErasedWork]>,
    pub(crate) info: Box<[NodeInfo]>,
    pub(crate) succ: Box<[u32]>,
    sources: Box<[u32]>,
    /// Nodes of the current run not finished yet.
    left: AtomicUsize,
    /// Runs asked for and not finished.
    runs: AtomicUsize,
    /// Runs asked for, ever: the number of the newest.
    asked: AtomicU64,
    /// The number of the run in progress (the last started).
    current: AtomicU64,
    /// Runs up to this number are cancelled.
    cancel_upto: AtomicU64,
    /// The number of the last finished run.
    finished: AtomicU64,
    /// Counts unfinished runs; keeps the first panic of a node.
    pub(crate) counter: Counter,
}

// SAFETY: the raw pointers in the nodes point into this same value (their
// graph), which is `Sync`; the nodes' other shared state is atomics and
// the `Send + Sync` closures.
unsafe impl Send for GraphInner {}
// SAFETY: as above.
unsafe impl Sync for GraphInner {}

impl GraphInner {
    /// Lays out `specs` (checked: acyclic, successors in range).
    ///
    /// The closures' borrow lifetime is erased here. That is sound because
    /// the only handle users get, `Graph<'env>`, cannot outlive `'env`,
    /// runs of a graph that is not `'static` only start through
    /// `run_scoped`, which returns after the run's last reference to this
    /// value is dropped, and a closure is only called during a run.
    pub(crate) fn new(registry: Arc<Registry>, specs: Vec<NodeSpec<'_>>) -> Arc<Self> {
        let sources: Box<[u32]> = specs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.predecessors == 0)
            .map(|(i, _)| i as u32)
            .collect();
        let mut succ = Vec::new();
        let mut countdowns = Vec::with_capacity(specs.len());
        let mut routes = Vec::with_capacity(specs.len());
        let mut info = Vec::with_capacity(specs.len());
        let mut works = Vec::with_capacity(specs.len());
        let mut edges = Vec::with_capacity(specs.len());
        for s in specs {
            let first = succ.len() as u32;
            succ.extend_from_slice(&s.successors);
            countdowns.push(Countdown::new(s.predecessors));
            routes.push(if s.main_thread {
                Route::Main
            } else if s.placement.is_plain() {
                Route::Plain
            } else {
                Route::Placed
            });
            let end = succ.len() as u32;
            edges.push((s.predecessors, first, end));
            // SAFETY: only the lifetime changes (see above).
            works.push(unsafe { core::mem::transmute::<Work<'_>, ErasedWork>(s.work) });
            info.push(NodeInfo {
                label: crate::observe::intern(&s.name),
                name: s.name,
                placement: s.placement,
                main_thread: s.main_thread,
            });
        }
        Arc::new_cyclic(|me| {
            let graph: *const GraphInner = me.as_ptr();
            let slots = info
                .iter()
                .zip(&edges)
                .enumerate()
                .map(|(i, (n, &(predecessors, first, end)))| NodeSlot {
                    header: JobHeader::with_options(
                        execute_node,
                        n.placement.priority,
                        n.placement.affinity,
                    ),
                    graph,
                    index: i as u32,
                    poisoned: AtomicBool::new(false),
                    predecessors,
                    first,
                    end,
                })
                .collect();
            GraphInner {
                registry,
                slots,
                countdowns: countdowns.into_boxed_slice(),
                routes: routes.into_boxed_slice(),
                works: works.into_boxed_slice(),
                info: info.into_boxed_slice(),
                succ: succ.into_boxed_slice(),
                sources,
                left: AtomicUsize::new(0),
                runs: AtomicUsize::new(0),
                asked: AtomicU64::new(0),
                current: AtomicU64::new(0),
                cancel_upto: AtomicU64::new(0),
                finished: AtomicU64::new(0),
                counter: Counter::new(),
            }
        })
    }

    /// Asks for one more run; returns its number. It starts now if no run
    /// is in progress, else when the runs asked before it have finished.
    pub(crate) fn ask_run(self: &Arc<Self>) -> u64 {
        // The run's own reference, dropped by `end_run`.
        let raw = Arc::into_raw(self.clone());
        self.counter.inner.add(1);
        let number = self.asked.fetch_add(1, Ordering::Relaxed) + 1;
        // AcqRel: a run we start must see the previous run's end (the
        // countdowns it re-armed).
        if self.runs.fetch_add(1, Ordering::AcqRel) == 0 {
            // SAFETY: `raw` is the run reference just taken.
            unsafe { start_runs(raw) };
        }
        number
    }

    pub(crate) fn is_finished(&self, run: u64) -> bool {
        self.finished.load(Ordering::Acquire) >= run
    }

    pub(crate) fn cancel(&self, run: u64) {
        self.cancel_upto.fetch_max(run, Ordering::Relaxed);
    }

    /// How many nodes.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Queues node `i` (its predecessors have all arrived this run).
    fn queue(&self, i: u32, poisoned: bool) {
        let slot = &self.slots[i as usize];
        slot.poisoned.store(poisoned, Ordering::Relaxed);
        // From the whole slot, not its header field: the job reads the
        // slot's other fields through this pointer.
        let header = NonNull::from(slot).cast::<JobHeader>();
        // SAFETY: the node lives as long as the graph, which this run keeps
        // alive until every node has finished; it is queued once per run
        // (its countdown's last arrival), and runs are sequential. The tag
        // matches the header (both from the node's placement).
        unsafe {
            match self.routes[i as usize] {
                Route::Plain => {
                    self.registry
                        .queue(JobRef::tagged(header, crate::options::Priority::Normal, 0))
                }
                route => {
                    let p = self.info[i as usize].placement;
                    let job = JobRef::tagged(header, p.priority, p.affinity);
                    if route == Route::Main {
                        self.registry.queue_main_job(job);
                    } else {
                        self.registry.queue(job);
                    }
                }
            }
        }
    }
}

/// Starts the run just asked for, and the next one asked for if this one
/// ends before its starter lets go of it (every node finished meanwhile,
/// or none to run), and so on.
///
/// The starter counts as one more node of the run (`left` starts at
/// nodes + 1) until it has queued every source, so the run cannot end,
/// and the graph cannot be freed, while it does.
///
/// # Safety
///
/// `graph` is the run's reference (`ask_run`), handed over.
unsafe fn start_runs(graph: *const GraphInner) {
    loop {
        let ended = {
            // SAFETY: the run's reference keeps the graph alive, and the
            // run cannot end before our own count goes below.
            let g = unsafe { &*graph };
            g.current.fetch_add(1, Ordering::Relaxed);
            g.left.store(g.len() + 1, Ordering::Relaxed);
            for i in 0..g.sources.len() {
                g.queue(g.sources[i], false);
            }
            // AcqRel, as a node's: whoever ends the run sees the queueing.
            g.left.fetch_sub(1, Ordering::AcqRel) == 1
        };
        // SAFETY: `ended`: the run's reference is ours to hand over.
        if !ended || !unsafe { end_run(graph) } {
            return;
        }
    }
}

/// Ends the current run: records it, drops this run's reference and
/// counts the run done. Returns true if another run was asked for: the
/// caller starts it with `graph` as that run's reference (`start_runs`).
///
/// # Safety
///
/// `graph` is the ending run's reference, handed over: the graph may be
/// freed inside, so the caller does not touch it after (unless this
/// returns true: then the next run's reference keeps it).
unsafe fn end_run(graph: *const GraphInner) -> bool {
    let (counter, more) = {
        // SAFETY: the run reference keeps it alive until dropped below.
        let g = unsafe { &*graph };
        g.finished
            .store(g.current.load(Ordering::Relaxed), Ordering::Release);
        // AcqRel: the next run starts after this one's end, re-armed
        // countdowns included; an `ask_run` raising the count from 0 sees
        // it too.
        (g.counter.clone(), g.runs.fetch_sub(1, Ordering::AcqRel) > 1)
    };
    // SAFETY: this run's reference, taken by `ask_run`, dropped once. With
    // `more`, the next run's reference (taken by its `ask_run`) keeps the
    // graph.
    unsafe { Arc::decrement_strong_count(graph) };
    // The count on the counter goes last: a waiter that returns may end
    // the borrows of a scoped graph, and by then no run of it holds it.
    counter.inner.complete_one();
    more
}

/// The job of every node.
///
/// # Safety
///
/// `header` is the header of a `NodeSlot`, queued by its graph's run.
unsafe fn execute_node(header: NonNull<JobHeader>) {
    let node = header.cast::<NodeSlot>().as_ptr().cast_const();
    // SAFETY: the header is a node's first field (`repr(C)`); the run keeps
    // the node alive until it has finished; the queueing ordered the store.
    let poisoned = unsafe { (*node).poisoned.load(Ordering::Relaxed) };
    // SAFETY: forwarded.
    unsafe { drive(node, poisoned) };
}

/// Runs `node` and then, on this thread, the ready successor each node
/// picks, until one picks none.
///
/// # Safety
///
/// `node` has started in its graph's current run (its countdown's last
/// arrival, or a source). Raw pointers, not references: once a node has
/// finished, another thread may end the run and free the graph while this
/// frame still exists.
unsafe fn drive(mut node: *const NodeSlot, mut poisoned: bool) {
    // SAFETY: the run's reference keeps the graph alive while a node of
    // the run has not been counted finished (`left`).
    let graph = unsafe { (*node).graph };
    // Nodes run by this loop, counted finished all at once at its end
    // (one shared decrement per chain of nodes rather than one per node):
    // until then the run cannot end, so the graph stays.
    let mut ran = 0;
    loop {
        ran += 1;
        // SAFETY: forwarded; the graph is alive (above).
        match unsafe { run_node(node, poisoned) } {
            Some((next, p)) => (node, poisoned) = (next, p),
            None => break,
        }
    }
    let ended = {
        // SAFETY: alive until the decrement below.
        let g = unsafe { &*graph };
        // AcqRel: whoever ends the run sees every node's work and
        // re-armed countdown.
        g.left.fetch_sub(ran, Ordering::AcqRel) == ran
    };
    // From here on the graph may be gone, unless we ended the run.
    // SAFETY: `ended`: the run's reference is ours to hand over; a next
    // run asked for is started with its own.
    if ended && unsafe { end_run(graph) } {
        // SAFETY: `end_run` returned true: `graph` is the next run's.
        unsafe { start_runs(graph) };
    }
}

/// Runs (or skips) one node and arrives at its successors; the caller
/// counts it finished. Returns a ready successor for this thread to run
/// next.
///
/// # Safety
///
/// As `drive`, and the caller has not counted this node finished yet.
unsafe fn run_node(node_ptr: *const NodeSlot, poisoned: bool) -> Option<(*const NodeSlot, bool)> {
    // SAFETY: the caller has not counted this node finished: the run, and
    // its reference to the graph, go on.
    let node = unsafe { &*node_ptr };
    // SAFETY: as above.
    let g = unsafe { &*node.graph };
    let i = node.index as usize;
    // Every predecessor has arrived: re-arm for the next run (spec).
    g.countdowns[i].reset(node.predecessors);
    let cancelled = g.cancel_upto.load(Ordering::Relaxed) >= g.current.load(Ordering::Relaxed);
    let mut failed = poisoned || cancelled;
    if !failed {
        let span = crate::observe::span(crate::observe::Kind::Node, g.label(i));
        let result = call(g, &g.works[i]);
        drop(span);
        if let Err(p) = result {
            failed = true;
            if let Some(later) = g.counter.inner.record_panic(p) {
                g.registry.handle_panic(later);
            }
        }
    }
    let mine = g.routes[i];
    let mut next: Option<(*const NodeSlot, bool)> = None;
    for &s in g.successors(i) {
        if let Some(p) = g.countdowns[s as usize].arrive(failed) {
            // Run it here, next, if nothing needs it elsewhere: a skip
            // costs nothing anywhere; a plain node after a plain node (or
            // a main-thread node after one) keeps its data hot.
            let route = g.routes[s as usize];
            let here = p || cancelled || (route == mine && route != Route::Placed);
            if next.is_none() && here {
                next = Some((&g.slots[s as usize], p));
            } else {
                g.queue(s, p);
            }
        }
    }
    next
}

impl GraphInner {
    /// Node `i`'s name for the traces; without a tracing feature, nothing
    /// (and no lookup).
    #[inline(always)]
    fn label(&self, i: usize) -> crate::observe::Name {
        #[cfg(any(feature = "trace", feature = "tracing", feature = "tracy"))]
        return crate::observe::Name::new(self.info[i].label);
        #[cfg(not(any(feature = "trace", feature = "tracing", feature = "tracy")))]
        {
            let _ = i;
            crate::observe::Name::new("")
        }
    }
}

/// Calls a node's work, catching a panic.
fn call(g: &GraphInner, work: &ErasedWork) -> Result<(), Box<dyn Any + Send>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match work {
        Work::Call(f) => f.call(),
        Work::Batch(n, f) => {
            if *n > 0 {
                // Split on this pool's slot (a main-thread node runs on the
                // owner thread, which may hold none yet).
                crate::pool::handle::in_worker(&g.registry, |_| split(0, *n, &**f));
            }
        }
    }))
}

/// Calls `f(i)` for `i` in `lo..hi`, halves in parallel.
fn split(lo: usize, hi: usize, f: &(dyn Fn(usize) + Send + Sync)) {
    if hi - lo == 1 {
        f(lo);
        return;
    }
    let mid = lo + (hi - lo) / 2;
    crate::join(|| split(lo, mid, f), || split(mid, hi, f));
}
