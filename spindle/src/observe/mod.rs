//! What the pool shows of itself: the points where it reports job, task
//! and graph-node spans, steals, parks, wakes and fiber switches, and the
//! back ends that record them, each behind a cargo feature:
//!
//! - `trace` (`ring.rs`, `chrome.rs`): each slot's lock-free ring of
//!   timestamped events, read back by [`Pool::trace`](crate::Pool::trace)
//!   and written as Chrome trace-event JSON;
//! - `tracing` (`via_tracing.rs`): spans and events of the `tracing` crate;
//! - `tracy` (`tracy.rs`): Tracy zones, thread names and fibers.
//!
//! With none of them on, every function here is empty and inlined, and a
//! [`Span`] or [`Suspended`] is a zero-sized value: the scheduler's code
//! is what it was before this module (the fork-join bench rows are the
//! check).
//!
//! Spans cover work taken from a queue: a spawned or dispatched job, a
//! scope's job, a stolen `join` half, one poll of an async task, one
//! graph node. A `join` half that its own thread pops back runs inline
//! and has no span of its own (a trace of `fib(30)` would otherwise hold
//! three million of them); it shows inside its parent's.

#[cfg(feature = "trace")]
pub(crate) mod chrome;
#[cfg(feature = "trace")]
pub(crate) mod ring;
#[cfg(all(feature = "trace", not(loom)))]
pub(crate) mod trace;
#[cfg(feature = "tracy")]
pub(crate) mod tracy;
#[cfg(feature = "tracing")]
mod via_tracing;

/// What a span covers (the category of its Chrome trace event).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(not(any(feature = "trace", feature = "tracing")), allow(dead_code))]
pub(crate) enum Kind {
    /// A job from a queue.
    Job = 0,
    /// One poll of an async task.
    Task = 1,
    /// A task-graph node.
    Node = 2,
}

impl Kind {
    #[cfg_attr(not(feature = "trace"), allow(dead_code))]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Job => "job",
            Kind::Task => "task",
            Kind::Node => "node",
        }
    }

    #[cfg(feature = "trace")]
    pub(crate) fn from_arg(arg: u64) -> Kind {
        match arg {
            1 => Kind::Task,
            2 => Kind::Node,
            _ => Kind::Job,
        }
    }
}

/// A point event (Tracy is not sent these: only zones, threads, fibers
/// and frames).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(any(feature = "trace", feature = "tracing")), allow(dead_code))]
pub(crate) enum Event {
    /// This thread took a job from slot `victim`'s queue.
    Steal { victim: usize },
    /// This thread took a job from the pool's global queue.
    InjectorPop,
    /// This thread is about to sleep.
    Park,
    /// This thread is awake again.
    Unpark,
    /// This thread woke the sleeper of slot `slot`.
    Wake { slot: usize },
}

/// A span's name as work carries it to where it runs: a `&'static str`
/// with a back end on, nothing at all (zero-sized) without, so a job's
/// closure does not grow by a name that nobody reads.
#[derive(Clone, Copy)]
pub(crate) struct Name {
    #[cfg(any(feature = "trace", feature = "tracing", feature = "tracy"))]
    name: &'static str,
}

impl Name {
    /// `name` itself.
    #[inline(always)]
    #[allow(unused_variables)] // Only the back ends read it.
    pub(crate) fn new(name: &'static str) -> Name {
        Name {
            #[cfg(any(feature = "trace", feature = "tracing", feature = "tracy"))]
            name,
        }
    }

    /// The name of work of type `F`: its type's.
    #[inline(always)]
    pub(crate) fn of<F>() -> Name {
        Name::new(core::any::type_name::<F>())
    }

    #[cfg(any(feature = "trace", feature = "tracing", feature = "tracy"))]
    #[inline(always)]
    fn get(self) -> &'static str {
        self.name
    }
}

/// An open span; it closes when dropped. Zero-sized without a back end.
#[must_use]
#[allow(dead_code)] // The fields are guards: they act when dropped.
pub(crate) struct Span {
    #[cfg(feature = "tracing")]
    tracing: via_tracing::Open,
    #[cfg(feature = "tracy")]
    tracy: Option<tracy::Zone>,
}

/// Opens a span of `kind` named `name` on the calling thread.
#[inline(always)]
#[allow(unused_variables)] // Each back end reads what it needs.
pub(crate) fn span(kind: Kind, name: Name) -> Span {
    #[cfg(feature = "trace")]
    ring::emit(ring::Code::Begin, kind as u64, name.get());
    Span {
        #[cfg(feature = "tracing")]
        tracing: via_tracing::open(kind, name.get()),
        #[cfg(feature = "tracy")]
        tracy: tracy::zone(name.get()),
    }
}

impl Drop for Span {
    #[inline(always)]
    fn drop(&mut self) {
        #[cfg(feature = "trace")]
        ring::emit(ring::Code::End, 0, "");
    }
}

/// Reports a point event on the calling thread.
#[inline(always)]
#[allow(unused_variables)] // Each back end reads what it needs.
pub(crate) fn event(event: Event) {
    #[cfg(feature = "trace")]
    {
        let (code, arg) = match event {
            Event::Steal { victim } => (ring::Code::Steal, victim as u64),
            Event::InjectorPop => (ring::Code::InjectorPop, 0),
            Event::Park => (ring::Code::Park, 0),
            Event::Unpark => (ring::Code::Unpark, 0),
            Event::Wake { slot } => (ring::Code::Wake, slot as u64),
        };
        ring::emit(code, arg, "");
    }
    #[cfg(feature = "tracing")]
    via_tracing::event(event);
}

/// The spans a context had open when it switched away, to reopen when it
/// resumes (`suspend` / `resume`). Zero-sized without `tracing`.
#[must_use]
pub(crate) struct Suspended {
    #[cfg(feature = "tracing")]
    tracing: via_tracing::Saved,
}

/// The running context, fiber `from`, is about to switch to fiber `to`
/// (addresses that name them; `root`: `to` is the thread's own stack).
/// Closes what the context has open on this thread, for [`resume`] to
/// reopen.
#[inline(always)]
#[allow(unused_variables)] // Each back end reads what it needs.
pub(crate) fn suspend(from: usize, to: usize, root: bool) -> Suspended {
    #[cfg(feature = "trace")]
    ring::emit2(ring::Code::FiberSwitch, to as u64, from);
    #[cfg(feature = "tracy")]
    tracy::switch_to(to, root);
    Suspended {
        #[cfg(feature = "tracing")]
        tracing: via_tracing::suspend(to),
    }
}

/// The context that [`suspend`] closed runs again, on the same thread.
#[inline(always)]
#[allow(unused_variables)] // Each back end reads what it needs.
pub(crate) fn resume(s: Suspended) {
    #[cfg(feature = "tracing")]
    via_tracing::resume(s.tracing);
}

/// `name` as a `&'static str` for the back ends to keep: each distinct
/// name is leaked once (a graph's node names, built again and again, do
/// not grow memory). Empty, and free, without a back end.
#[allow(unused_variables)] // Each back end reads what it needs.
pub(crate) fn intern(name: &str) -> &'static str {
    #[cfg(any(feature = "trace", feature = "tracing", feature = "tracy"))]
    {
        use std::collections::HashSet;
        use std::sync::{Mutex, OnceLock};
        static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let mut names = NAMES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(&known) = names.get(name) {
            return known;
        }
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        names.insert(leaked);
        leaked
    }
    #[cfg(not(any(feature = "trace", feature = "tracing", feature = "tracy")))]
    ""
}

/// The calling thread now runs `slot` (`None`: no slot): where its
/// events go.
#[cfg(feature = "trace")]
#[inline]
pub(crate) fn set_thread(slot: Option<&crate::pool::registry::SlotShared>) {
    ring::set_current(slot.map_or(core::ptr::null(), |s| &*s.trace as *const ring::Ring));
}

/// Marks the end of a frame of a frame loop, for the profilers that show
/// frames: a frame mark in Tracy (feature `tracy`), an instant event named
/// `frame` on the calling thread's track in `Pool::trace`
/// (feature `trace`, when called from a thread that runs a pool's slot).
/// Does nothing without those features, so frame loops call it
/// unconditionally.
///
/// ```
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// for _frame in 0..3 {
///     pool.install(|| spindle::join(|| (), || ()));
///     spindle::frame_mark();
/// }
/// # Ok::<(), spindle::Error>(())
/// ```
pub fn frame_mark() {
    #[cfg(feature = "trace")]
    ring::emit(ring::Code::Frame, 0, "");
    #[cfg(feature = "tracing")]
    tracing::trace!(target: "spindle", "frame");
    #[cfg(feature = "tracy")]
    tracy::frame_mark();
}

/// A diagnostic for a program without a better place for it (a panic
/// nobody handles): a `WARN` event with target `spindle` (feature
/// `tracing`); nothing otherwise. spindle does not print from library
/// code.
#[cold]
#[allow(unused_variables)] // Only `tracing` reads it.
pub(crate) fn warn(message: core::fmt::Arguments<'_>) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "spindle", "{message}");
}

/// A pool is being built: start what the back ends need.
pub(crate) fn pool_built() {
    #[cfg(feature = "tracy")]
    tracy::start();
}

/// Worker `index` of `registry` starts on the calling thread: name it in
/// the back ends that show threads.
#[cfg(not(loom))]
#[inline]
#[allow(unused_variables)] // Only the back ends read them.
pub(crate) fn worker_started(registry: &crate::pool::registry::Registry, index: usize) {
    #[cfg(any(feature = "trace", feature = "tracy"))]
    {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("");
        #[cfg(feature = "trace")]
        registry.slot(index).trace.set_name(name);
        #[cfg(feature = "tracy")]
        tracy::name_thread(name);
    }
}
