//! `trace-event` (1 thread, feature `trace`): what recording one event in
//! a thread's trace ring costs, the figure the observability issue bounds
//! (≤ 20 ns). spindle's job span is two events (begin, end): the run opens
//! and closes `N` spans, through the same `observe::span` the pool's jobs
//! use, on a ring made current on the bench thread, and the table shows
//! the time of one event (the run's time over `2N`). The ring is made
//! before the clock starts; `record_span_pairs` checks that every event
//! was written.
//!
//! The rows exist only in a build with the feature
//! (`cargo run --release -p spindle-bench --features trace -- trace-event`);
//! without it this workload has no benches. What tracing costs a real
//! workload is the A/B of its rows built with and without the feature
//! (README).

use crate::impls::Bench;

/// Spans per run: 2N events.
#[cfg(feature = "trace")]
const N: u32 = 1 << 20;

pub fn benches() -> (usize, Vec<Bench<'static>>) {
    #[cfg(feature = "trace")]
    let benches = vec![Bench::per_op("spindle", 2 * N, || {
        spindle::__bench::record_span_pairs(u64::from(N))
    })];
    #[cfg(not(feature = "trace"))]
    let benches = Vec::new();
    (1, benches)
}
