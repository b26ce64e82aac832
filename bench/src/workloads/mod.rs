//! The workloads. Each module documents its workload and builds one
//! [`Bench`] per implementation; every bench checks its result.

pub mod affinity;
pub mod async_chained_spawn;
pub mod async_ping_pong;
pub mod async_ping_pong_seq;
pub mod async_skynet;
pub mod async_spawn_many;
pub mod async_yield_many;
pub mod blocking_mix;
pub mod countdown;
pub mod deque;
pub mod fib;
pub mod fiber_switch;
pub mod fiber_wait;
pub mod graph;
pub mod graph_frame;
pub mod io_echo;
pub mod nqueens;
pub mod par;
pub mod priority_latency;
pub mod skynet;
pub mod skynet_scope;
pub mod spawn;
pub mod timer_storm;
pub mod trace_event;
pub mod tree;

use crate::impls::{Bench, Pools};

/// Data shared by all implementations and thread counts: each tree is
/// built once per process, the first time a bench needs it (in a warm-up
/// run, so never timed), and only in a process that runs a bench on it.
pub struct Data {
    big_tree: tree::LazyTree,
    small_tree: tree::LazyTree,
    par: par::ParData,
}

impl Data {
    pub fn new() -> Self {
        Data {
            big_tree: tree::LazyTree::new("tree-sum", tree::BIG_LAYERS),
            small_tree: tree::LazyTree::new("tree-sum-small", tree::SMALL_LAYERS),
            par: par::ParData::new(),
        }
    }
}

/// True for the workloads that ignore `--threads` and build what they run
/// on themselves: the deque workloads and `fiber-switch`.
pub fn is_fixed(workload: &str) -> bool {
    workload.starts_with("deque-") || workload == "fiber-switch" || workload == "trace-event"
}

/// The thread count a fixed workload (see [`is_fixed`]) uses and its
/// benches.
pub fn fixed_benches(workload: &'static str) -> (usize, Vec<Bench<'static>>) {
    match workload {
        "fiber-switch" => fiber_switch::benches(),
        "trace-event" => trace_event::benches(),
        deque => deque::benches(deque),
    }
}

/// The benches of a workload that runs on the pools (every workload but
/// the fixed ones).
pub fn pool_benches<'a>(
    workload: &'static str,
    pools: &'a Pools,
    data: &'a Data,
) -> Vec<Bench<'a>> {
    match workload {
        "fib" => fib::benches(pools),
        "tree-sum" => tree::benches(workload, pools, &data.big_tree),
        "tree-sum-small" => tree::benches(workload, pools, &data.small_tree),
        "spawn" => spawn::benches(pools),
        "skynet" => skynet::benches(pools),
        "nqueens" => nqueens::benches(pools),
        "skynet-scope" => skynet_scope::benches(pools),
        "fiber-wait" => fiber_wait::benches(pools),
        "async-spawn-many" => async_spawn_many::benches(pools),
        "async-yield-many" => async_yield_many::benches(pools),
        "async-ping-pong" => async_ping_pong::benches(pools),
        "async-ping-pong-seq" => async_ping_pong_seq::benches(pools),
        "async-chained-spawn" => async_chained_spawn::benches(pools),
        "async-skynet" => async_skynet::benches(pools),
        "priority-latency" => priority_latency::benches(pools),
        "affinity" => affinity::benches(pools),
        "graph-frame" => graph_frame::benches(pools),
        "io-echo" => io_echo::benches(pools, false),
        "io-echo-slowest" => io_echo::benches(pools, true),
        "timer-storm" => timer_storm::benches(pools),
        "blocking-mix" => blocking_mix::benches(pools),
        w if w.starts_with("graph-") => graph::benches(w, pools),
        w if w.starts_with("par-") => par::benches(w, pools, &data.par),
        other => unreachable!("not a pool workload: {other}"),
    }
}
