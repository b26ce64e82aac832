//! `fiber-switch` (1 thread): the cost of one suspend + resume round trip
//! between two stackful contexts on one thread, i.e. two context switches.
//! The table shows the time of ONE round trip: a run's time divided by `N`
//! (`Bench::per_op`, no rounding).
//!
//! - spindle: a pool with one worker and 2 fibers; two jobs, dispatched in
//!   one batch (so both are queued before the worker wakes; the bench
//!   thread then blocks on a channel and runs no job), each call
//!   `spindle::yield_now()` `N` times. Every yield switches straight to the
//!   other job's fiber: 2N yields = 2N switches = N round trips. The check
//!   reads `Pool::stats` and demands at least 2N `fiber_switches` during
//!   the run, so a yield that silently does nothing fails loudly.
//! - spindle-switch: spindle's context switch alone, no scheduler: the
//!   bench thread and one fiber switch to each other `N` times from the
//!   same loop (`spindle::__bench::context_switch_round_trips`, which
//!   checks that the fiber ran once per round trip). The same `switch`
//!   a yield ends in, saving the same state (the callee-saved registers;
//!   the floating-point control state only with
//!   `Builder::fiber_float_env`, off here as by default); the `spindle`
//!   row minus this one is what the scheduler adds.
//! - spindle-switch-2sites: the same, but the two contexts switch from two
//!   different call sites (two copies of the loop), as a fiber and a
//!   scheduler loop do: every `switch` returns where the CPU's return
//!   predictor did not expect. Minus `spindle-switch`: what those
//!   mispredictions cost a round trip.
//! - corosensei: one `Coroutine` that suspends `N` times, resumed by the
//!   bench thread until it returns; one resume + one suspend = one round
//!   trip. Its stack is made before the clock starts.
//! - may: two coroutines on a one-worker may runtime (`set_workers(1)`,
//!   worker not pinned to a core, like spindle's), each calling
//!   `may::coroutine::yield_now()` `N` times: the same two-task ping-pong
//!   as spindle, N round trips. A may yield goes through its scheduler
//!   loop (coroutine → scheduler → other coroutine), which is part of what
//!   a round trip costs there. may's runtime is process-wide: its worker
//!   and timer threads stay (idle) for the rest of the run.
//!
//! spindle and may are timed inside their tasks, from the first task's
//! start to the last one's end (both on the one worker thread), so waking
//! the worker and the channel or join back are not counted; corosensei is
//! timed around its resume loop. `--threads` is ignored, like the deque
//! workloads.

use crate::impls::{check, Bench};
use std::sync::mpsc;
use std::sync::Once;
use std::time::{Duration, Instant};

const W: &str = "fiber-switch";
/// Yields per task (spindle, may) or suspends of the coroutine
/// (corosensei): N round trips per run.
const N: u32 = 100_000;

/// One task's yield loop, timed: `(start, end)`.
fn yield_loop(yield_now: impl Fn()) -> (Instant, Instant) {
    let start = Instant::now();
    for _ in 0..N {
        yield_now();
    }
    (start, Instant::now())
}

/// The time from the first task's start to the last one's end.
fn span(spans: [(Instant, Instant); 2]) -> Duration {
    let start = spans[0].0.min(spans[1].0);
    let end = spans[0].1.max(spans[1].1);
    end - start
}

fn spindle_run(pool: &spindle::Pool) -> Duration {
    let before = pool.stats().total().fiber_switches;
    let (tx, rx) = mpsc::channel();
    let jobs = [tx.clone(), tx].map(|tx| {
        move || {
            // The receiver outlives the job: the bench thread is in recv.
            let _ = tx.send(yield_loop(spindle::yield_now));
        }
    });
    pool.dispatch(&spindle::Counter::new(), jobs);
    let spans = [(); 2].map(|_| rx.recv().expect("spindle dropped a job"));
    // Both jobs have sent, so all 2N yields (and their counts) are done.
    let switches = pool.stats().total().fiber_switches - before;
    let want = 2 * u64::from(N);
    check(
        W,
        "spindle: fiber switches, at least",
        switches.min(want),
        want,
    );
    span(spans)
}

fn corosensei_run() -> Duration {
    use corosensei::{Coroutine, CoroutineResult, Yielder};
    let mut co = Coroutine::new(|yielder: &Yielder<(), ()>, ()| {
        for _ in 0..N {
            yielder.suspend(());
        }
    });
    let start = Instant::now();
    let mut resumes = 0u32;
    while let CoroutineResult::Yield(()) = co.resume(()) {
        resumes += 1;
    }
    let time = start.elapsed();
    check(W, "corosensei", resumes, N);
    time
}

/// Configures may's process-wide runtime before its first use.
fn may_init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        may::config().set_workers(1).set_worker_pin(false);
    });
}

fn may_run() -> Duration {
    let handles = [(); 2].map(|_| {
        // SAFETY: the coroutine touches no thread-local (`Instant::now` is
        // a clock read) and needs a few hundred bytes of its 32 KiB stack.
        unsafe { may::coroutine::spawn(|| yield_loop(may::coroutine::yield_now)) }
    });
    span(handles.map(|h| h.join().expect("may coroutine panicked")))
}

/// The thread count (always 1) and the benches.
pub fn benches() -> (usize, Vec<Bench<'static>>) {
    let pool = spindle::Pool::builder()
        .workers(1)
        .fibers(2)
        .build()
        .expect("building the spindle pool");
    may_init();
    (
        1,
        vec![
            Bench::per_op("spindle", N, move || spindle_run(&pool)),
            Bench::per_op("spindle-switch", N, || {
                spindle::__bench::context_switch_round_trips(N)
                    .expect("spindle has no context switch on this target")
            }),
            Bench::per_op("spindle-switch-2sites", N, || {
                spindle::__bench::context_switch_round_trips_two_sites(N)
                    .expect("spindle has no context switch on this target")
            }),
            Bench::per_op("corosensei", N, corosensei_run),
            Bench::per_op("may", N, may_run),
        ],
    )
}
