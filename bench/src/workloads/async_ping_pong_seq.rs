//! `async-ping-pong-seq`: one pair of tasks passing a message back and
//! forth through two bounded channels (capacity 1), `ROUNDS` round trips
//! (10^6 messages), one after the other: the sequential counterpart of
//! `async-ping-pong`, where nothing runs in parallel and every message is
//! a wake-up of the other task. It measures the wake → poll path alone.
//!
//! The root future spawns the ponger (answers `i` with `i + 1`) and the
//! pinger (sends `0..ROUNDS`, sums the answers, sends the sum through a
//! `futures-channel` oneshot), then awaits the oneshot. The channels are
//! `async-channel`'s, the same for both runtimes; only the spawns differ.
//! Checked: the answers sum to 1 + 2 + ... + ROUNDS.

use crate::impls::{check, timed, Bench, Pools};
use futures_channel::oneshot;
use std::sync::Arc;

const W: &str = "async-ping-pong-seq";
/// Round trips: two messages each.
const ROUNDS: u64 = 500_000;
const EXPECTED: u64 = ROUNDS * (ROUNDS + 1) / 2;

async fn pong(pings: async_channel::Receiver<u64>, replies: async_channel::Sender<u64>) {
    while let Ok(i) = pings.recv().await {
        replies
            .send(i + 1)
            .await
            .expect("the pinger dropped its replies");
    }
}

async fn ping(
    pings: async_channel::Sender<u64>,
    replies: async_channel::Receiver<u64>,
    done: oneshot::Sender<u64>,
) {
    let mut sum = 0;
    for i in 0..ROUNDS {
        pings.send(i).await.expect("the ponger dropped its pings");
        sum += replies
            .recv()
            .await
            .expect("the ponger dropped its replies");
    }
    let _ = done.send(sum);
}

/// The pair's channels and the result's oneshot.
fn channels() -> (
    impl std::future::Future<Output = ()> + Send,
    impl std::future::Future<Output = ()> + Send,
    oneshot::Receiver<u64>,
) {
    let (ping_tx, ping_rx) = async_channel::bounded(1);
    let (reply_tx, reply_rx) = async_channel::bounded(1);
    let (done_tx, done_rx) = oneshot::channel();
    (
        pong(ping_rx, reply_tx),
        ping(ping_tx, reply_rx, done_tx),
        done_rx,
    )
}

async fn spindle_root(pool: Arc<spindle::Pool>) -> u64 {
    let (ponger, pinger, done) = channels();
    drop(pool.spawn_async(ponger));
    drop(pool.spawn_async(pinger));
    done.await.expect("the pinger dropped its result")
}

async fn tokio_root() -> u64 {
    let (ponger, pinger, done) = channels();
    drop(tokio::spawn(ponger));
    drop(tokio::spawn(pinger));
    done.await.expect("the pinger dropped its result")
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
