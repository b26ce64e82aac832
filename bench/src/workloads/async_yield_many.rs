//! `async-yield-many`: the shape of tokio's `yield_many` scheduler bench.
//! The root future spawns 200 tasks; each yields to the scheduler 1,000
//! times in a loop (`spindle::yield_async` / `tokio::task::yield_now`), adds
//! the number of yields it completed to a shared total and counts down a
//! [`Countdown`]; the root awaits the countdown. Measures a yield: the task
//! is requeued and polled again. Checked: 200,000 yields in all.
//!
//! Both roots run under `block_on` (see `impls.rs`) and spawn on their own
//! pool (spindle: `Pool::spawn_async`; tokio: `tokio::spawn`).

use super::countdown::{self, Countdown};
use crate::impls::{check, timed, Bench, Pools};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

const W: &str = "async-yield-many";
/// tokio's `TASKS`.
const TASKS: usize = 200;
/// tokio's `NUM_YIELD`: yields per task.
const YIELDS: usize = 1_000;

/// The total and the countdown all tasks of a run share.
struct Shared {
    yields: AtomicUsize,
    countdown: Arc<Countdown>,
}

async fn spindle_root(pool: Arc<spindle::Pool>) -> usize {
    let (countdown, done) = Countdown::new(TASKS);
    let shared = Arc::new(Shared {
        yields: AtomicUsize::new(0),
        countdown,
    });
    for _ in 0..TASKS {
        let shared = shared.clone();
        drop(pool.spawn_async(async move {
            let mut yields = 0;
            for _ in 0..YIELDS {
                spindle::yield_async().await;
                yields += 1;
            }
            shared.yields.fetch_add(yields, Relaxed);
            shared.countdown.count_down();
        }));
    }
    countdown::wait(done).await;
    // The countdown orders every task's addition before the wait's return.
    shared.yields.load(Relaxed)
}

async fn tokio_root() -> usize {
    let (countdown, done) = Countdown::new(TASKS);
    let shared = Arc::new(Shared {
        yields: AtomicUsize::new(0),
        countdown,
    });
    for _ in 0..TASKS {
        let shared = shared.clone();
        drop(tokio::spawn(async move {
            let mut yields = 0;
            for _ in 0..YIELDS {
                tokio::task::yield_now().await;
                yields += 1;
            }
            shared.yields.fetch_add(yields, Relaxed);
            shared.countdown.count_down();
        }));
    }
    countdown::wait(done).await;
    shared.yields.load(Relaxed)
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    vec![
        Bench::new("spindle", || {
            let (r, t) = timed(|| pools.spindle().block_on(spindle_root));
            check(W, "spindle", r, TASKS * YIELDS);
            t
        }),
        Bench::new("tokio", || {
            let (r, t) = timed(|| pools.tokio().block_on(tokio_root()));
            check(W, "tokio", r, TASKS * YIELDS);
            t
        }),
    ]
}
