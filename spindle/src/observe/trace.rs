//! Feature `trace`: a pool's recorded events, read back
//! ([`Pool::trace`]) as a [`Trace`] to inspect or to write as Chrome
//! trace-event JSON (`chrome.rs`).

use super::ring::{self, Code};
use super::Kind;
use crate::pool::Pool;

/// What one slot recorded: a worker's thread, or the participant slot
/// (the thread that waits on the pool from outside, named `caller`).
#[derive(Debug, Clone)]
pub struct ThreadTrace {
    /// The slot: a worker's index, or `num_workers()` for the participant.
    pub index: usize,
    /// The thread's name (`spindle-0`, ..., or `caller`).
    pub name: String,
    /// The events still in the slot's ring, oldest first.
    pub events: Vec<TraceEvent>,
    /// Events the ring no longer holds (overwritten: raise
    /// [`Builder::trace_capacity`](crate::Builder::trace_capacity)).
    pub lost: u64,
}

/// One recorded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEvent {
    /// Nanoseconds since the process's first pool with tracing was built.
    pub time_ns: u64,
    /// What happened.
    pub kind: TraceEventKind,
}

/// What a [`TraceEvent`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceEventKind {
    /// Work from a queue starts: `category` is `"job"` (a spawned,
    /// dispatched or scope job, or a stolen `join` half), `"task"` (one
    /// poll of an async task) or `"node"` (a task-graph node); `name` is
    /// [`Options::name`](crate::Options::name) or the closure's, future's
    /// or node's type or name.
    Begin {
        /// What runs.
        name: &'static str,
        /// `"job"`, `"task"` or `"node"`.
        category: &'static str,
    },
    /// The innermost open `Begin` on this thread's running fiber ends.
    End,
    /// The thread took a job from worker `victim`'s queue.
    Steal {
        /// The slot stolen from.
        victim: usize,
    },
    /// The thread took a job from the pool's global queue.
    InjectorPop,
    /// The thread goes to sleep (no work anywhere).
    Park,
    /// The thread is awake again.
    Unpark,
    /// The thread woke the sleeping thread of slot `slot`.
    Wake {
        /// The slot woken.
        slot: usize,
    },
    /// [`frame_mark`](crate::frame_mark) was called on this thread.
    Frame,
    /// The thread switches from one fiber to another (ids that name them;
    /// the spans open on the fiber it leaves stay open, suspended, until
    /// that fiber runs again).
    FiberSwitch {
        /// The fiber left.
        from: usize,
        /// The fiber switched to.
        to: usize,
    },
}

/// The events a pool recorded, per slot. See [`Pool::trace`].
#[derive(Debug, Clone)]
pub struct Trace {
    /// One entry per slot: workers first, then the participant.
    pub threads: Vec<ThreadTrace>,
}

impl Trace {
    /// Reads every slot's ring of `pool`.
    pub(crate) fn read(pool: &Pool) -> Trace {
        let registry = pool.registry();
        let to_ns = ring::clock::to_ns();
        let slots = registry.num_workers() + 1;
        let threads = (0..slots)
            .map(|i| {
                let ring = &registry.slot(i).trace;
                let (raw, lost) = ring.read();
                let events = raw
                    .into_iter()
                    .map(|r| TraceEvent {
                        time_ns: to_ns(r.ticks),
                        kind: match r.code {
                            Code::Begin => TraceEventKind::Begin {
                                name: r.name,
                                category: Kind::from_arg(r.arg).as_str(),
                            },
                            Code::End => TraceEventKind::End,
                            Code::Steal => TraceEventKind::Steal {
                                victim: r.arg as usize,
                            },
                            Code::InjectorPop => TraceEventKind::InjectorPop,
                            Code::Park => TraceEventKind::Park,
                            Code::Unpark => TraceEventKind::Unpark,
                            Code::Wake => TraceEventKind::Wake {
                                slot: r.arg as usize,
                            },
                            Code::Frame => TraceEventKind::Frame,
                            Code::FiberSwitch => TraceEventKind::FiberSwitch {
                                from: r.extra as usize,
                                to: r.arg as usize,
                            },
                        },
                    })
                    .collect();
                let mut name = ring.name();
                if name.is_empty() {
                    name = if i + 1 == slots {
                        "caller".to_owned()
                    } else {
                        format!("slot-{i}")
                    };
                }
                ThreadTrace {
                    index: i,
                    name,
                    events,
                    lost,
                }
            })
            .collect();
        Trace { threads }
    }

    /// Every event's count, over all threads.
    pub fn len(&self) -> usize {
        self.threads.iter().map(|t| t.events.len()).sum()
    }

    /// True if no thread recorded anything.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the trace as Chrome trace-event JSON to `path`, for
    /// Perfetto (<https://ui.perfetto.dev>) or `chrome://tracing`. See
    /// [`to_chrome_json`](Trace::to_chrome_json).
    ///
    /// # Errors
    ///
    /// Creating or writing the file.
    pub fn write_chrome_json(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_chrome_json())
    }

    /// The trace as Chrome trace-event JSON: one thread track per slot,
    /// a duration slice per span (category `job`, `task` or `node`), and
    /// instant events for steals, global-queue pops, parks, unparks and
    /// wakes. Spans nest properly per thread: when a thread switches
    /// fibers, the spans of the fiber it leaves end there (marked
    /// `"suspended"`) and begin again when the fiber resumes (marked
    /// `"resumed"`), so a wait shows as a gap in its job. Spans still open
    /// at the end are closed at the thread's last event (`"unfinished"`).
    pub fn to_chrome_json(&self) -> String {
        super::chrome::write(self)
    }
}

impl Pool {
    /// The events this pool's threads recorded (feature `trace`): job,
    /// task and graph-node spans, steals, parks, wakes and fiber switches,
    /// the last [`Builder::trace_capacity`](crate::Builder::trace_capacity)
    /// per thread. Recording costs a few nanoseconds per event and runs
    /// whenever the feature is on; reading does not stop it.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// pool.install(|| {
    ///     spindle::scope(|s| {
    ///         for _ in 0..4 {
    ///             s.spawn(|_| drop(std::hint::black_box((0..1000).sum::<u64>())));
    ///         }
    ///     })
    /// });
    /// let trace = pool.trace();
    /// let spans = trace.threads.iter().flat_map(|t| &t.events);
    /// let jobs = spans
    ///     .filter(|e| matches!(e.kind, spindle::TraceEventKind::Begin { category: "job", .. }))
    ///     .count();
    /// assert_eq!(jobs, 4);
    /// let path = std::env::temp_dir().join("spindle-doc-trace.json");
    /// trace.write_chrome_json(&path)?; // open it in https://ui.perfetto.dev
    /// # std::fs::remove_file(path).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trace(&self) -> Trace {
        Trace::read(self)
    }
}
