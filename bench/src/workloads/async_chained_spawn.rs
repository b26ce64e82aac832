//! `async-chained-spawn`: the shape of tokio's `chained_spawn` scheduler
//! bench: a chain of spawns, one at a time. The root future spawns link 0;
//! link `d` < 1,000 spawns link `d + 1` and returns; link 1,000 sends its
//! depth through a `futures-channel` oneshot that the root awaits (the
//! sender travels down the chain). 1,001 tasks, each but the first spawned
//! by its predecessor as that runs: the chain is sequential, so it measures
//! spawning and starting a task with no parallelism to gain. Checked: the
//! last link is at depth 1,000.
//!
//! Both roots run under `block_on` (see `impls.rs`): spindle spawns link 0
//! with `Pool::spawn_async` and the others with `spindle::spawn_async`,
//! tokio all with `tokio::spawn`.

use crate::impls::{check, timed, Bench, Pools};
use futures_channel::oneshot;
use std::sync::Arc;

const W: &str = "async-chained-spawn";
/// tokio's `ITER`: the links after the first.
const DEPTH: usize = 1_000;

fn spindle_link(depth: usize, done: oneshot::Sender<usize>) {
    if depth == DEPTH {
        done.send(depth).expect("the root stopped waiting");
    } else {
        drop(spindle::spawn_async(async move {
            spindle_link(depth + 1, done)
        }));
    }
}

fn tokio_link(depth: usize, done: oneshot::Sender<usize>) {
    if depth == DEPTH {
        done.send(depth).expect("the root stopped waiting");
    } else {
        drop(tokio::spawn(async move { tokio_link(depth + 1, done) }));
    }
}

async fn spindle_root(pool: Arc<spindle::Pool>) -> usize {
    let (done, last) = oneshot::channel();
    drop(pool.spawn_async(async move { spindle_link(0, done) }));
    last.await.expect("the chain broke")
}

async fn tokio_root() -> usize {
    let (done, last) = oneshot::channel();
    drop(tokio::spawn(async move { tokio_link(0, done) }));
    last.await.expect("the chain broke")
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    vec![
        Bench::new("spindle", || {
            let (r, t) = timed(|| pools.spindle().block_on(spindle_root));
            check(W, "spindle", r, DEPTH);
            t
        }),
        Bench::new("tokio", || {
            let (r, t) = timed(|| pools.tokio().block_on(tokio_root()));
            check(W, "tokio", r, DEPTH);
            t
        }),
    ]
}
