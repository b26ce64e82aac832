//! `async-skynet`: the skynet tree of `skynet` (1,000,000 leaves; leaf `i`
//! returns `i`, a node the sum of its 10 children) with async tasks: every
//! node spawns its 10 children as tasks, then awaits their join handles in
//! order and sums the results. The root node is the root future itself, so
//! 1,111,110 tasks are spawned, the leaves included. Checked: the root
//! returns 0 + 1 + ... + 999,999 = 499,999,500,000.
//!
//! Both roots run under `block_on` (see `impls.rs`): the spindle root spawns
//! its children with `Pool::spawn_async`, the other nodes with
//! `spindle::spawn_async`, and awaits spindle `JoinHandle`s; tokio spawns
//! with `tokio::spawn` and awaits tokio `JoinHandle`s.

use super::skynet::{EXPECTED, LEAVES};
use crate::impls::{check, timed, Bench, Pools};
use std::future::Future;
use std::sync::Arc;

const W: &str = "async-skynet";
const CHILDREN: u64 = 10;

/// Awaits `handles` in order and sums their results.
async fn spindle_sum(handles: [spindle::JoinHandle<u64>; CHILDREN as usize]) -> u64 {
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.expect("spindle skynet task failed");
    }
    sum
}

/// The node of size `size` whose first leaf is `num`. Not an `async fn`:
/// the node spawns nodes, and only a signature that states `Send` lets the
/// compiler prove the spawned future `Send` (an `async fn` would need its
/// own body's type to prove it).
#[allow(clippy::manual_async_fn)]
fn spindle_node(num: u64, size: u64) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if size == 1 {
            return num;
        }
        let child = size / CHILDREN;
        let handles = std::array::from_fn(|i| {
            spindle::spawn_async(spindle_node(num + i as u64 * child, child))
        });
        spindle_sum(handles).await
    }
}

async fn spindle_root(pool: Arc<spindle::Pool>) -> u64 {
    let child = LEAVES / CHILDREN;
    let handles = std::array::from_fn(|i| pool.spawn_async(spindle_node(i as u64 * child, child)));
    spindle_sum(handles).await
}

async fn tokio_sum(handles: [tokio::task::JoinHandle<u64>; CHILDREN as usize]) -> u64 {
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.expect("tokio skynet task failed");
    }
    sum
}

#[allow(clippy::manual_async_fn)] // as `spindle_node`
fn tokio_node(num: u64, size: u64) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if size == 1 {
            return num;
        }
        let child = size / CHILDREN;
        let handles =
            std::array::from_fn(|i| tokio::spawn(tokio_node(num + i as u64 * child, child)));
        tokio_sum(handles).await
    }
}

async fn tokio_root() -> u64 {
    let child = LEAVES / CHILDREN;
    let handles = std::array::from_fn(|i| tokio::spawn(tokio_node(i as u64 * child, child)));
    tokio_sum(handles).await
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
