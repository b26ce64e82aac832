//! # spindle
//!
//! A work-stealing job system: one pool of worker threads that runs
//! fork-join work ([`join`], [`scope`]), batches waited on with a
//! [`Counter`], detached jobs ([`spawn`]), jobs that wait on fibers
//! without blocking their thread ([`Builder::fibers`]), and async tasks
//! ([`spawn_async`], [`Pool::block_on`]), with data-parallel loops and
//! sorts on top ([`par`]), and costs about a function call when work is
//! not stolen.
//!
//! ```
//! let pool = spindle::Pool::builder().workers(2).build()?;
//!
//! // Fork-join: both closures may borrow; nothing is allocated.
//! let v: Vec<u64> = (0..1000).collect();
//! let (left, right) = v.split_at(500);
//! let (a, b) = pool.join(|| left.iter().sum::<u64>(), || right.iter().sum::<u64>());
//! assert_eq!(a + b, 499_500);
//!
//! // Scopes: spawned jobs may borrow from the enclosing stack.
//! let mut chunks = vec![0u32; 8];
//! pool.scope(|s| {
//!     for (i, c) in chunks.iter_mut().enumerate() {
//!         s.spawn(move |_| *c = i as u32 * 2);
//!     }
//! });
//! assert_eq!(chunks[7], 14);
//! # Ok::<(), spindle::Error>(())
//! ```
//!
//! How a job travels, from the layer at the bottom up: [`deque`] (a
//! Chase-Lev ring per worker), the injector (a global queue), jobs (a
//! 16-byte header and a one-word tagged pointer), latches and counters,
//! the sleep protocol (`src/sleep/README.md`), workers and the pool, and
//! the front ends. `ARCHITECTURE.md` in the repository has the map and
//! the decisions behind it.
//!
//! ## Seeing what the pool does
//!
//! [`Builder::on_thread_start`], [`Builder::on_thread_stop`] and
//! [`Builder::thread_name_fn`] run code on each worker thread. Three cargo
//! features report the pool's work (a span per job, task poll or graph
//! node, named by [`Options::name`]; steals, parks, wakes and fiber
//! switches), and cost nothing when off:
//!
//! - `trace`: per-thread lock-free rings, read by `Pool::trace` and
//!   written as Chrome trace-event JSON for Perfetto (about 10 ns per
//!   event);
//! - `tracing`: spans and events of the `tracing` crate (target `spindle`);
//! - `tracy`: Tracy zones, thread names and fibers.

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod facade;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod util;

mod queue;
// Under loom only the layers with models are built; the rest of these
// modules' items are then unused.
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod job;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod sleep;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod sync;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod unwind;

#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod affinity;
#[cfg(not(loom))]
mod continuation;
#[cfg(not(loom))]
mod current;
#[cfg(not(loom))]
mod dispatch;

#[cfg(all(not(loom), any(unix, windows)))]
mod driver;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod error;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod fiber;
#[cfg(not(loom))]
mod graph;

#[cfg(all(not(loom), unix))]
pub mod io;
#[cfg(not(loom))]
mod job_handle;
#[cfg(not(loom))]
mod join;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod observe;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod options;
#[cfg(not(loom))]
pub mod par;
#[cfg(not(loom))]
mod pool;
#[cfg(not(loom))]
mod scope;
#[cfg(not(loom))]
mod spawn;
#[cfg(not(loom))]
mod spawn_blocking;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
mod task;

#[cfg(all(not(loom), any(unix, windows)))]
pub mod time;
#[cfg(not(loom))]
mod worker;
#[cfg(not(loom))]
mod yield_now;

pub use queue::deque;

/// Measurement hooks for `spindle-bench`. Not part of the API: no
/// stability promise, and not needed to use the pool.
#[doc(hidden)]
#[cfg(not(loom))]
pub mod __bench {
    pub use crate::fiber::round_trip::{
        context_switch_round_trips, context_switch_round_trips_two_sites,
    };
    #[cfg(feature = "trace")]
    pub use crate::observe::ring::record_span_pairs;
}

#[cfg(not(loom))]
pub use current::{current_num_threads, current_thread_index};
pub use error::Error;
#[cfg(not(loom))]
pub use graph::{Graph, GraphBuilder, GraphRun, GraphRunFuture, NodeRef};
#[cfg(not(loom))]
pub use job_handle::{spawn_handle, JobHandle};
#[cfg(not(loom))]
pub use join::{join, join_with};
#[cfg(not(loom))]
pub use observe::frame_mark;
#[cfg(all(not(loom), feature = "trace"))]
pub use observe::trace::{ThreadTrace, Trace, TraceEvent, TraceEventKind};
pub use options::{Affinity, Options, Priority, FAIR_LOCAL, FAIR_PERIOD};
#[cfg(not(loom))]
pub use pool::builder::{
    Builder, DEFAULT_BLOCKING_KEEP_ALIVE, DEFAULT_FIBERS, DEFAULT_FIBER_STACK_SIZE,
    DEFAULT_MAX_BLOCKING_THREADS, DEFAULT_STACK_SIZE, MAX_FIBERS, MAX_JOB_CAPACITY, MAX_WORKERS,
    MIN_STACK_SIZE,
};
#[cfg(not(loom))]
pub use pool::placement::Placement;
#[cfg(not(loom))]
pub use pool::spawn_handler::WorkerThread;
#[cfg(not(loom))]
pub use pool::stats::{Stats, WorkerStats};
#[cfg(not(loom))]
pub use pool::Pool;
#[cfg(not(loom))]
pub use scope::{scope, Scope};
#[cfg(not(loom))]
pub use spawn::{spawn, spawn_with};

#[cfg(not(loom))]
pub use spawn_blocking::spawn_blocking;
#[cfg(not(loom))]
pub use sync::{Counter, CounterFuture, Event, EventFuture, Mutex, MutexGuard};
pub use sync::{SpinLock, SpinLockGuard};
#[cfg(not(loom))]
pub use task::{
    spawn_async, yield_async, AbortHandle, JobError, JoinHandle, JoinNext, JoinSet, YieldAsync,
};
#[cfg(not(loom))]
pub use worker::worker_index;
#[cfg(not(loom))]
pub use yield_now::yield_now;
