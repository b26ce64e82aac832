//! The workloads. Each module documents its workload and builds one
//! [`Bench`] per implementation; every bench checks its result.

pub mod deque;
pub mod fib;
pub mod nqueens;
pub mod skynet;
pub mod skynet_scope;
pub mod spawn;
pub mod tree;

use crate::impls::{Bench, Pools};

/// Data shared by all implementations and thread counts, built once per
/// process (outside timing) and only for the selected workloads.
pub struct Data {
    big_tree: Option<&'static tree::Node>,
    small_tree: Option<&'static tree::Node>,
}

impl Data {
    pub fn new(selected: &[&str]) -> Self {
        let build = |id: &str, layers: u32| {
            selected.contains(&id).then(|| {
                let (tree, secs) = tree::build(layers);
                eprintln!("built the {id} tree ({layers} layers) in {secs:.2} s");
                tree
            })
        };
        Data {
            big_tree: build("tree-sum", tree::BIG_LAYERS),
            small_tree: build("tree-sum-small", tree::SMALL_LAYERS),
        }
    }
}

/// The benches of a workload that runs on the pools (everything but the
/// deque workloads).
pub fn pool_benches<'a>(workload: &'static str, pools: &'a Pools, data: &Data) -> Vec<Bench<'a>> {
    match workload {
        "fib" => fib::benches(pools),
        "tree-sum" => tree::benches(workload, pools, data.big_tree.expect("tree built")),
        "tree-sum-small" => tree::benches(workload, pools, data.small_tree.expect("tree built")),
        "spawn" => spawn::benches(pools),
        "skynet" => skynet::benches(pools),
        "nqueens" => nqueens::benches(pools),
        "skynet-scope" => skynet_scope::benches(pools),
        other => unreachable!("not a pool workload: {other}"),
    }
}
