//! `async-ping-pong`: the shape of tokio's `ping_pong` scheduler bench:
//! 1,000 round trips, each between its own pair of tasks, all in flight at
//! once. The root future spawns one task, which spawns 1,000 pinger tasks;
//! pinger `i` makes two `futures-channel` oneshots, spawns its ponger, sends
//! it `i`, and awaits the reply `i + 1`, which it adds to a shared sum
//! before counting down a [`Countdown`]; the root awaits the countdown.
//! 2,001 tasks in all; every round trip wakes a waiting task twice (the
//! ponger, then the pinger). Checked: the replies sum to 1 + 2 + ... + 1,000
//! = 500,500.
//!
//! The channels and the pinger's and ponger's bodies ([`ping`], [`pong`])
//! are the same for both runtimes; only the spawns differ. Both roots run
//! under `block_on` (see `impls.rs`): spindle spawns with
//! `Pool::spawn_async` from the root and `spindle::spawn_async` from tasks,
//! tokio with `tokio::spawn`.

use super::countdown::{self, Countdown};
use crate::impls::{check, timed, Bench, Pools};
use futures_channel::oneshot;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

const W: &str = "async-ping-pong";
/// tokio's `NUM_PINGS`: round trips (pinger/ponger pairs).
const PINGS: u64 = 1_000;
/// 1 + 2 + ... + PINGS: the replies summed.
const EXPECTED: u64 = PINGS * (PINGS + 1) / 2;

/// The sum and the countdown all pingers of a run share.
struct Shared {
    sum: AtomicU64,
    countdown: Arc<Countdown>,
}

/// The ponger: answers the ping `i` with `i + 1`.
async fn pong(ping: oneshot::Receiver<u64>, reply: oneshot::Sender<u64>) {
    let i = ping.await.expect("the pinger dropped its ping");
    reply.send(i + 1).expect("the pinger dropped its reply");
}

/// The pinger's side, once its ponger is spawned: sends `i`, awaits the
/// reply, adds it to the sum and counts down.
async fn ping(
    i: u64,
    ping: oneshot::Sender<u64>,
    reply: oneshot::Receiver<u64>,
    shared: Arc<Shared>,
) {
    ping.send(i).expect("the ponger dropped its ping");
    let answer = reply.await.expect("the ponger dropped its reply");
    shared.sum.fetch_add(answer, Relaxed);
    shared.countdown.count_down();
}

async fn spindle_root(pool: Arc<spindle::Pool>) -> u64 {
    let (countdown, done) = Countdown::new(PINGS as usize);
    let shared = Arc::new(Shared {
        sum: AtomicU64::new(0),
        countdown,
    });
    let pingers = shared.clone();
    drop(pool.spawn_async(async move {
        for i in 0..PINGS {
            let shared = pingers.clone();
            drop(spindle::spawn_async(async move {
                let (ping_tx, ping_rx) = oneshot::channel();
                let (reply_tx, reply_rx) = oneshot::channel();
                drop(spindle::spawn_async(pong(ping_rx, reply_tx)));
                ping(i, ping_tx, reply_rx, shared).await;
            }));
        }
    }));
    countdown::wait(done).await;
    // The countdown orders every pinger's addition before the wait's return.
    shared.sum.load(Relaxed)
}

async fn tokio_root() -> u64 {
    let (countdown, done) = Countdown::new(PINGS as usize);
    let shared = Arc::new(Shared {
        sum: AtomicU64::new(0),
        countdown,
    });
    let pingers = shared.clone();
    drop(tokio::spawn(async move {
        for i in 0..PINGS {
            let shared = pingers.clone();
            drop(tokio::spawn(async move {
                let (ping_tx, ping_rx) = oneshot::channel();
                let (reply_tx, reply_rx) = oneshot::channel();
                drop(tokio::spawn(pong(ping_rx, reply_tx)));
                ping(i, ping_tx, reply_rx, shared).await;
            }));
        }
    }));
    countdown::wait(done).await;
    shared.sum.load(Relaxed)
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    vec![
        Bench::new("spindle", || {
            let (r, t) = timed(|| pools.spindle().block_on(spindle_root));
            check(W, "spindle", r, EXPECTED);
            t
        }),
        Bench::new("tokio", || {
            let (r, t) = timed(|| pools.tokio().block_on(tokio_root()));
            check(W, "tokio", r, EXPECTED);
            t
        }),
    ]
}
