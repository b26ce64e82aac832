//! `async-spawn-many`: the shape of tokio's `spawn_many_local` scheduler
//! bench. The root future spawns 10,000 empty tasks in a loop, then awaits
//! their completion: each task counts down a shared [`Countdown`] (an
//! atomic count plus a `futures-channel` oneshot that the last task fires),
//! and the root awaits the oneshot. Measures spawning a task, plus running
//! and completing it. Checked: the count reached zero after all 10,000.
//!
//! - spindle: the root runs under [`Spindle::block_on`] and spawns with
//!   `Pool::spawn_async`.
//! - tokio: the root runs under `Runtime::block_on` and spawns with
//!   `tokio::spawn` (from the blocking thread, so the tasks go through the
//!   runtime's shared injection queue).
//!
//! [`Spindle::block_on`]: crate::impls::Spindle::block_on

use super::countdown::{self, Countdown};
use crate::impls::{check, timed, Bench, Pools};
use std::sync::Arc;

const W: &str = "async-spawn-many";
/// tokio's `NUM_SPAWN`.
const TASKS: usize = 10_000;

async fn spindle_root(pool: Arc<spindle::Pool>) -> usize {
    let (countdown, done) = Countdown::new(TASKS);
    for _ in 0..TASKS {
        let countdown = countdown.clone();
        // Detached: completion is signalled through the countdown.
        drop(pool.spawn_async(async move { countdown.count_down() }));
    }
    countdown::wait(done).await;
    TASKS - countdown.remaining()
}

async fn tokio_root() -> usize {
    let (countdown, done) = Countdown::new(TASKS);
    for _ in 0..TASKS {
        let countdown = countdown.clone();
        drop(tokio::spawn(async move { countdown.count_down() }));
    }
    countdown::wait(done).await;
    TASKS - countdown.remaining()
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    vec![
        Bench::new("spindle", || {
            let (r, t) = timed(|| pools.spindle().block_on(spindle_root));
            check(W, "spindle", r, TASKS);
            t
        }),
        Bench::new("tokio", || {
            let (r, t) = timed(|| pools.tokio().block_on(tokio_root()));
            check(W, "tokio", r, TASKS);
            t
        }),
    ]
}
