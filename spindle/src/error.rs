//! The one error type of the crate.

use std::fmt;

/// Why a pool could not be built, or a submission was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `workers(0)`: a pool needs at least one worker thread.
    ZeroWorkers,
    /// More workers than spindle supports.
    TooManyWorkers {
        /// What was asked for.
        requested: usize,
        /// The most allowed.
        max: usize,
    },
    /// A capacity that is not a power of two where one is required, or is
    /// out of range.
    InvalidCapacity {
        /// Which setting (`"deque_capacity"`, `"job_capacity"`).
        what: &'static str,
        /// The value given.
        value: usize,
        /// The largest value allowed.
        max: usize,
        /// Whether the setting must be a power of two.
        power_of_two: bool,
    },
    /// `max_blocking_threads(0)`: `spawn_blocking` needs at least one
    /// thread.
    ZeroBlockingThreads,
    /// A worker stack size below the minimum.
    StackTooSmall {
        /// The value given, in bytes.
        value: usize,
        /// The smallest allowed, in bytes.
        min: usize,
    },
    /// The operating system refused to start a worker thread.
    Spawn(std::io::Error),
    /// A thread-name prefix the operating system cannot take (it holds a
    /// NUL byte).
    ThreadName {
        /// The prefix given.
        prefix: String,
    },
    /// A fiber stack size out of range.
    FiberStackSize {
        /// The value given, in bytes.
        value: usize,
        /// The smallest allowed, in bytes.
        min: usize,
        /// The largest allowed, in bytes.
        max: usize,
    },
    /// The operating system refused memory for a fiber stack.
    FiberStack {
        /// The stack size asked for, in bytes.
        size: usize,
        /// What the system said.
        source: std::io::Error,
    },
    /// Pinning was asked for on a target where spindle cannot pin threads
    /// (every target but Linux, today).
    PinningUnsupported,
    /// A core given to [`Builder::pin_cores`](crate::Builder::pin_cores)
    /// that the process may not run on, or that is listed twice.
    InvalidCore {
        /// The core's index.
        core: usize,
        /// True if the core is listed twice; false if the process may not
        /// run on it (it is not in the process's CPU mask, or does not
        /// exist).
        duplicated: bool,
    },
    /// Fewer cores to pin to than workers (each worker gets its own).
    NotEnoughCores {
        /// Workers asked for.
        workers: usize,
        /// Cores available (the list given, or the process's CPU mask).
        cores: usize,
    },
    /// [`Pool::run_main_jobs`](crate::Pool::run_main_jobs) called on a
    /// thread other than the one that built the pool.
    NotMainThread,
    /// An [`Affinity`](crate::Affinity) with no worker in it.
    EmptyAffinity,
    /// An [`Affinity`](crate::Affinity) naming a worker the pool does not
    /// have.
    NoSuchWorker {
        /// The index given.
        worker: usize,
        /// How many workers the pool has (indices `0..workers`).
        workers: usize,
    },
    /// [`Affinity::cores`](crate::Affinity::cores) on a pool that does not
    /// pin its workers.
    AffinityNeedsPinning,
    /// [`Affinity::cores`](crate::Affinity::cores) naming a core no worker
    /// is pinned to.
    NoWorkerOnCore {
        /// The core given.
        core: usize,
    },
    /// More distinct affinity sets than one pool can tell apart.
    TooManyAffinitySets {
        /// The most a pool keeps.
        max: usize,
    },
    /// [`Builder::build_global`](crate::Builder::build_global) called once
    /// the global pool exists (built by an earlier `build_global`, or
    /// started on first use by a free function such as
    /// [`join`](crate::join)).
    GlobalPoolExists,
    /// A task graph whose edges form a cycle: its nodes could never start.
    GraphCycle {
        /// The names of the nodes on one cycle, in edge order (the first
        /// one's predecessor is the last).
        nodes: Vec<String>,
    },
    /// An edge between a node of this graph and a node of another graph
    /// builder.
    ForeignNode {
        /// The name of the node of the other builder.
        node: String,
    },
    /// A task graph node with more predecessors than a node can count.
    TooManyPredecessors {
        /// The node's name.
        node: String,
    },
    /// The operating system refused to read or set a thread's affinity.
    Pin {
        /// The core a worker was being pinned to (`None`: reading the
        /// process's CPU mask failed).
        core: Option<usize>,
        /// What the system said.
        source: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ZeroWorkers => write!(f, "a spindle pool needs at least one worker (got 0)"),
            Error::TooManyWorkers { requested, max } => {
                write!(
                    f,
                    "{requested} workers requested; spindle supports at most {max}"
                )
            }
            Error::InvalidCapacity {
                what,
                value,
                max,
                power_of_two,
            } => {
                if *power_of_two {
                    write!(f, "{what} must be a power of two in 1..={max}, got {value}")
                } else {
                    write!(f, "{what} must be at most {max}, got {value}")
                }
            }
            Error::ZeroBlockingThreads => {
                write!(f, "max_blocking_threads must be at least 1, got 0")
            }
            Error::StackTooSmall { value, min } => {
                write!(
                    f,
                    "worker stack size {value} bytes is below the minimum of {min}"
                )
            }
            Error::Spawn(_) => write!(f, "could not start a worker thread"),
            Error::ThreadName { prefix } => write!(
                f,
                "thread name prefix {prefix:?} holds a NUL byte, which no thread name may"
            ),
            Error::FiberStackSize { value, min, max } => write!(
                f,
                "fiber stack size {value} bytes is out of range ({min}..={max})"
            ),
            Error::FiberStack { size, .. } => {
                write!(f, "could not map a fiber stack of {size} bytes")
            }
            Error::NotMainThread => write!(
                f,
                "main-thread jobs run only on the thread that built the pool"
            ),
            Error::PinningUnsupported => {
                write!(f, "pinning worker threads is not supported on this target")
            }
            Error::InvalidCore {
                core,
                duplicated: true,
            } => write!(f, "core {core} is listed twice (each worker needs its own)"),
            Error::InvalidCore {
                core,
                duplicated: false,
            } => write!(
                f,
                "core {core} is not one this process may run on (not in its CPU mask)"
            ),
            Error::NotEnoughCores { workers, cores } => write!(
                f,
                "cannot pin {workers} workers to distinct cores: only {cores} available"
            ),
            Error::EmptyAffinity => write!(f, "an affinity must name at least one worker"),
            Error::NoSuchWorker { worker, workers } => write!(
                f,
                "affinity names worker {worker}, but the pool has workers 0..{workers}"
            ),
            Error::AffinityNeedsPinning => write!(
                f,
                "an affinity by cores needs a pool that pins its workers (Builder::pin_workers)"
            ),
            Error::NoWorkerOnCore { core } => {
                write!(
                    f,
                    "affinity names core {core}, but no worker is pinned to it"
                )
            }
            Error::TooManyAffinitySets { max } => write!(
                f,
                "more than {max} distinct affinity sets used with one pool"
            ),
            Error::GraphCycle { nodes } => {
                write!(f, "the task graph has a cycle: ")?;
                for n in nodes {
                    write!(f, "{n} -> ")?;
                }
                match nodes.first() {
                    Some(first) => write!(f, "{first}"),
                    None => Ok(()),
                }
            }
            Error::ForeignNode { node } => write!(
                f,
                "an edge to node `{node}`, which belongs to another graph builder"
            ),
            Error::TooManyPredecessors { node } => write!(
                f,
                "task graph node `{node}` has more than 2^31 - 1 predecessors"
            ),
            Error::GlobalPoolExists => write!(
                f,
                "the global pool already exists (build_global must come before its first use)"
            ),
            Error::Pin { core: Some(c), .. } => {
                write!(f, "could not pin a worker to core {c}")
            }
            Error::Pin { core: None, .. } => {
                write!(f, "could not read the process's CPU mask")
            }
        }
    }
}

/// The system's own error, where there is one, is the [`source`] (not
/// repeated in the message, so error reporters that print the chain show
/// it once).
///
/// ```
/// use std::error::Error as _;
///
/// let io = std::io::Error::other("no threads left");
/// let err = spindle::Error::Spawn(io);
/// assert_eq!(err.to_string(), "could not start a worker thread");
/// assert_eq!(err.source().unwrap().to_string(), "no threads left");
/// ```
///
/// [`source`]: std::error::Error::source
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn(e) => Some(e),
            Error::FiberStack { source, .. } | Error::Pin { source, .. } => Some(source),
            _ => None,
        }
    }
}
