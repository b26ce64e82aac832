//! [`Options`], [`Priority`] and [`Affinity`]: what a submission may ask
//! for besides the work itself. The guide is on [`Options`].

/// How often a worker's pick favours the lower classes (see [`Options`]):
/// every 16th pick starts from `Low`, and the 8th of each period from
/// `Normal`.
pub const FAIR_PERIOD: u32 = 16;

/// How often a worker takes the *oldest* job of its own queue instead of
/// the newest: after every 32 wakes on it in a row.
///
/// A worker runs its own queue newest first (what fork-join wants: the
/// job it just split off is the one whose data is in cache). Work that
/// keeps requeueing itself on one worker — tasks that wake each other
/// through an [`Event`](crate::Event) or a channel — would then run
/// forever ahead of older jobs. So every `FAIR_LOCAL`-th wake in a row on
/// a worker (a task woken there, or woken while running and requeued; a
/// fiber resumed there after its wait) makes that worker's next pick its
/// oldest job: with `k` jobs queued
/// before it on its worker's queue, a job is taken (by that worker, or
/// earlier by a thief) within `FAIR_LOCAL * (k + 1)` wakes queued there.
///
/// A task *spawned* on the worker starts the count again: work that
/// spawns is growing a tree, which newest-first finishes with the fewest
/// tasks in flight (taking the oldest task of a tree every few wakes would
/// start all of its big subtrees at once), and a tree ends. Waits inside a
/// job (a `join`, a `scope`) never take the oldest job: they run only what
/// they wait for on their own stack, or suspend. Jobs from outside the
/// pool (the global queue) get a pick every 64 picks of each worker, and
/// a task that yields goes behind everything queued on its worker.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use spindle::{Event, Pool};
///
/// let pool = Pool::builder().workers(1).build()?;
/// let (tx, rx) = std::sync::mpsc::channel();
/// let stop = Arc::new(AtomicBool::new(false));
/// let stop2 = stop.clone();
/// pool.spawn(move || {
///     // Queued first: the oldest job on the worker's queue.
///     drop(spindle::spawn_async(async move { tx.send(()).unwrap() }));
///     // Two tasks that wake each other forever (until `stop`).
///     let (ping, pong) = (Arc::new(Event::auto()), Arc::new(Event::auto()));
///     let (ping2, pong2, stop3) = (ping.clone(), pong.clone(), stop2.clone());
///     drop(spindle::spawn_async(async move {
///         while !stop2.load(Ordering::Relaxed) {
///             ping.set();
///             pong.wait_async().await;
///         }
///         ping.set();
///     }));
///     drop(spindle::spawn_async(async move {
///         while !stop3.load(Ordering::Relaxed) {
///             ping2.wait_async().await;
///             pong2.set();
///         }
///         pong2.set();
///     }));
/// });
/// // The old task runs although the pair never stops on its own.
/// rx.recv().unwrap();
/// stop.store(true, Ordering::Relaxed);
/// # Ok::<(), spindle::Error>(())
/// ```
pub const FAIR_LOCAL: u32 = 32;

/// A priority class. Kept in two bits of the job header and of the queue
/// entry, so a queue can tell a job's class without touching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Priority {
    /// Taken before any `Normal` or `Low` work.
    High = 0,
    /// The default.
    #[default]
    Normal = 1,
    /// Taken only when no `High` or `Normal` work is visible (or on a
    /// fairness pick).
    Low = 2,
}

impl Priority {
    /// From the two bits of a header or tag (3 never occurs; read as
    /// `Normal`).
    pub(crate) fn from_bits(bits: usize) -> Self {
        match bits {
            0 => Priority::High,
            2 => Priority::Low,
            _ => Priority::Normal,
        }
    }

    /// The order a worker looks at the classes in, given its pick count.
    pub(crate) fn pick_order(tick: u32) -> [Priority; 3] {
        use Priority::*;
        match tick % FAIR_PERIOD {
            0 => [Low, Normal, High],
            t if t == FAIR_PERIOD / 2 => [Normal, High, Low],
            _ => [High, Normal, Low],
        }
    }
}

/// The workers a job may run on.
///
/// Built from worker indices (`0..pool.num_workers()`), or from cores when
/// the pool pins its workers ([`Builder::pin_workers`](crate::Builder::pin_workers)):
/// a core stands for the worker pinned to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affinity {
    kind: AffinityKind,
    ids: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AffinityKind {
    Workers,
    Cores,
}

impl Affinity {
    /// Only worker `index`.
    pub fn worker(index: usize) -> Self {
        Self::workers([index])
    }

    /// Any of these workers. Duplicates are fine; an empty set is an error
    /// at submission.
    pub fn workers(indices: impl IntoIterator<Item = usize>) -> Self {
        Self {
            kind: AffinityKind::Workers,
            ids: indices.into_iter().collect(),
        }
    }

    /// Any worker pinned to one of these cores. At submission, the pool
    /// must pin its workers and every core must have a worker pinned to it.
    pub fn cores(cores: impl IntoIterator<Item = usize>) -> Self {
        Self {
            kind: AffinityKind::Cores,
            ids: cores.into_iter().collect(),
        }
    }

    pub(crate) fn kind(&self) -> AffinityKind {
        self.kind
    }

    pub(crate) fn ids(&self) -> &[usize] {
        &self.ids
    }
}

/// Options for one submission: a [`Priority`] (default `Normal`) and an
/// optional [`Affinity`] (default: any worker).
///
/// What a submission may ask for besides the work itself: a priority class
/// and a set of workers it may run on. Every way to submit work has a
/// `_with` form that takes an [`Options`]:
///
/// | submit | with options | with a checked [`Placement`](crate::Placement) |
/// |---|---|---|
/// | [`Pool::spawn`](crate::Pool::spawn) | [`Pool::spawn_with`](crate::Pool::spawn_with) | [`Pool::spawn_placed`](crate::Pool::spawn_placed) |
/// | [`spawn`](crate::spawn) | [`spawn_with`](crate::spawn_with) | |
/// | [`Scope::spawn`](crate::Scope::spawn) | [`Scope::spawn_with`](crate::Scope::spawn_with) | [`Scope::spawn_placed`](crate::Scope::spawn_placed) |
/// | [`Pool::join`](crate::Pool::join) | [`Pool::join_with`](crate::Pool::join_with) | |
/// | [`Pool::dispatch`](crate::Pool::dispatch) | [`Pool::dispatch_with`](crate::Pool::dispatch_with) | [`Pool::dispatch_placed`](crate::Pool::dispatch_placed) |
/// | [`Pool::spawn_async`](crate::Pool::spawn_async) | [`Pool::spawn_async_with`](crate::Pool::spawn_async_with) | [`Pool::spawn_async_placed`](crate::Pool::spawn_async_placed) |
///
/// The `_with` forms check the options at every submission and return a
/// `Result` (an affinity can name a worker the pool lacks). Check them once
/// with [`Pool::placement`](crate::Pool::placement) instead, or pass a bare
/// [`Priority`] (valid everywhere), and the `_placed` forms return nothing
/// to handle.
///
/// Fibers are not submitted on their own: a job that suspends keeps its
/// options, and resumes on the worker that suspended it.
///
/// # How priorities are scheduled
///
/// At each pick a worker looks for `High` work first (its own queues, the
/// global queue, other workers' queues), then `Normal`, then `Low`. So
/// that lower classes still progress under a flood of higher ones, every
/// [`FAIR_PERIOD`]th pick of a worker starts from `Low` (then `Normal`,
/// then `High`), and the pick half a period later starts from `Normal`:
/// while a class has queued work a worker can take, it gets at least one
/// of every `FAIR_PERIOD` picks of that worker. That is the starvation
/// bound.
///
/// Priorities order *picks*; they do not preempt: a `High` job waits for a
/// running `Low` job to end (or to suspend) before a worker takes it.
///
/// # Affinity
///
/// A job with an [`Affinity`] runs only on a worker of its set: it waits
/// in the mailbox of one of them, and only workers of the set take it
/// (thieves outside it skip it). A set that names a worker the pool does
/// not have is an [`Error`](crate::Error) at submission, so no job can wait
/// for a worker that will never come.
///
/// ```
/// use spindle::{Affinity, Options, Priority};
///
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// let (tx, rx) = std::sync::mpsc::channel();
/// let opts = Options::new()
///     .priority(Priority::High)
///     .affinity(Affinity::worker(1));
/// pool.spawn_with(opts, move || tx.send(spindle::worker_index()).unwrap())?;
/// assert_eq!(rx.recv().unwrap(), Some(1));
///
/// // Worker 7 does not exist: refused at once.
/// let bad = Options::new().affinity(Affinity::worker(7));
/// assert!(pool.spawn_with(bad, || {}).is_err());
/// # Ok::<(), spindle::Error>(())
/// ```
///
/// # Example
///
/// ```
/// use spindle::{Options, Priority};
///
/// let pool = spindle::Pool::builder().workers(1).build()?;
/// let counter = spindle::Counter::new();
/// pool.dispatch_with(Options::new().priority(Priority::Low), &counter, (0..4).map(|_| || {}))?;
/// pool.wait(&counter);
/// # Ok::<(), spindle::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub(crate) priority: Priority,
    pub(crate) affinity: Option<Affinity>,
    pub(crate) name: Option<&'static str>,
}

impl Options {
    /// `Normal` priority, any worker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the priority class.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Names the work in traces and profilers (the `trace`, `tracing` and
    /// `tracy` features); without a name a job shows as its closure's
    /// type. Honoured by `spawn_with`, `Scope::spawn_with` and
    /// `dispatch_with`; tasks show as their future's type. Costs nothing
    /// with those features off.
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// The name traces show for a job of closure type `F`.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn name_or<F>(&self) -> crate::observe::Name {
        match self.name {
            Some(name) => crate::observe::Name::new(name),
            None => crate::observe::Name::of::<F>(),
        }
    }

    /// Restricts the workers the work may run on.
    pub fn affinity(mut self, affinity: Affinity) -> Self {
        self.affinity = Some(affinity);
        self
    }
}
