#![cfg(not(loom))]
//! Task graphs: order, reuse, panics cancelling dependents, cancellation,
//! scoped borrows, main-thread nodes, priorities, build errors.

mod common;

use common::within;
use spindle::{Affinity, Error, Options, Pool, Priority};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Rounds of a repeated check: fewer under Miri, which interprets.
const fn rounds(normal: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        normal
    }
}

fn pool(workers: usize) -> Arc<Pool> {
    Arc::new(Pool::builder().workers(workers).build().expect("pool"))
}

/// A diamond a → (b, c) → d, recording the order nodes ran in.
#[test]
fn nodes_run_after_their_predecessors_every_run() {
    within(60, "diamond", || {
        for workers in [1, 2, 4] {
            let p = pool(workers);
            let log = Mutex::new(Vec::new());
            let g = p.graph();
            let node = |name: &'static str| {
                let log = &log;
                g.node(name, move || log.lock().unwrap().push(name))
            };
            let (a, b, c, d) = (node("a"), node("b"), node("c"), node("d"));
            a.precedes(b).precedes(c);
            d.succeeds(&[b, c]);
            let graph = g.build().unwrap();
            for _ in 0..rounds(200, 5) {
                log.lock().unwrap().clear();
                p.run_scoped(&graph);
                let order = log.lock().unwrap().clone();
                assert_eq!(order.len(), 4, "{order:?}");
                assert_eq!(order[0], "a");
                assert_eq!(order[3], "d");
            }
        }
    });
}

/// A wide fan-out whose middle nodes wait on a barrier: they must run in
/// parallel, so the graph hands ready nodes to idle threads.
#[test]
fn independent_nodes_run_in_parallel() {
    within(60, "parallel nodes", || {
        let p = pool(3);
        let barrier = std::sync::Barrier::new(3);
        let g = p.graph();
        let start = g.node("start", || {});
        let mids: Vec<_> = (0..3)
            .map(|i| {
                let barrier = &barrier;
                g.node(format!("mid{i}"), move || {
                    barrier.wait();
                })
            })
            .collect();
        let end = g.node("end", || {});
        for m in &mids {
            start.precedes(*m);
        }
        end.succeeds(&mids);
        let graph = g.build().unwrap();
        graph.run_scoped();
    });
}

/// A long chain and a big random DAG: every node exactly once per run,
/// after all of its predecessors, over many runs.
#[test]
fn random_dags_respect_every_edge_over_many_runs() {
    within(120, "random dags", || {
        for workers in [1, 2, 4] {
            let p = pool(workers);
            let n = rounds(500, 30);
            // Edges only from lower to higher index: acyclic.
            let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ workers as u64;
            let mut rand = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            let mut edges = Vec::new();
            for i in 1..n {
                for _ in 0..(rand() % 4) {
                    let from = (rand() % i as u64) as usize;
                    edges.push((from, i));
                }
            }
            let stamp: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            let runs_of: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            let clock = AtomicUsize::new(1);
            let g = p.graph();
            let nodes: Vec<_> = (0..n)
                .map(|i| {
                    let (stamp, runs_of, clock) = (&stamp, &runs_of, &clock);
                    g.node(format!("n{i}"), move || {
                        runs_of[i].fetch_add(1, Ordering::Relaxed);
                        stamp[i].store(clock.fetch_add(1, Ordering::SeqCst), Ordering::SeqCst);
                    })
                })
                .collect();
            for &(a, b) in &edges {
                nodes[a].precedes(nodes[b]);
            }
            let graph = g.build().unwrap();
            for run in 1..=rounds(20, 3) {
                graph.run_scoped();
                for &(a, b) in &edges {
                    let (sa, sb) = (
                        stamp[a].load(Ordering::SeqCst),
                        stamp[b].load(Ordering::SeqCst),
                    );
                    assert!(sa < sb, "edge {a} -> {b} broken in run {run}");
                }
                assert!(runs_of.iter().all(|r| r.load(Ordering::Relaxed) == run));
            }
        }
    });
}

#[test]
fn a_panicking_node_cancels_its_dependents_and_the_wait_reraises_it() {
    within(60, "panic", || {
        let p = pool(2);
        let ran = Mutex::new(Vec::new());
        let g = p.graph();
        let mk = |name: &'static str| {
            let ran = &ran;
            g.node(name, move || ran.lock().unwrap().push(name))
        };
        // a → boom → (c → d); a → e (independent of boom); d after e too.
        let a = mk("a");
        let boom = g.node("boom", || panic!("node failed"));
        let (c, d, e) = (mk("c"), mk("d"), mk("e"));
        a.precedes(boom).precedes(e);
        boom.precedes(c);
        c.precedes(d);
        e.precedes(d);
        let graph = g.build().unwrap();
        for _ in 0..rounds(20, 3) {
            ran.lock().unwrap().clear();
            let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                graph.run_scoped();
            }))
            .expect_err("the run re-raises the node's panic");
            assert_eq!(err.downcast_ref::<&str>(), Some(&"node failed"));
            let mut got = ran.lock().unwrap().clone();
            got.sort();
            // c and d depend on boom (d through c): never started.
            assert_eq!(got, ["a", "e"]);
        }
    });
}

#[test]
fn the_async_wait_returns_a_node_panic_as_an_error() {
    within(60, "async panic", || {
        let p = pool(2);
        let g = p.graph();
        g.node("boom", || panic!("async boom"));
        let graph = g.build().unwrap();
        let run = graph.run();
        let err = p.block_on(run.wait_async()).expect_err("an error");
        assert!(err.is_panic());
        assert!(run.is_finished());
        // A good run afterwards is Ok.
        let g = p.graph();
        g.node("fine", || {});
        let graph = g.build().unwrap();
        let run = graph.run();
        assert!(p.block_on(run.wait_async()).is_ok());
    });
}

#[test]
fn a_cancelled_run_starts_no_further_node() {
    within(60, "cancel", || {
        let p = pool(2);
        let gate = Arc::new(AtomicBool::new(false));
        let after = Arc::new(AtomicUsize::new(0));
        let g = p.graph();
        let gate2 = gate.clone();
        let first = g.node("first", move || {
            while !gate2.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
        });
        let mut prev = first;
        for i in 0..10 {
            let after = after.clone();
            let n = g.node(format!("then{i}"), move || {
                after.fetch_add(1, Ordering::Relaxed);
            });
            prev.precedes(n);
            prev = n;
        }
        let graph = g.build().unwrap();
        let run = graph.run();
        // A second run queued behind the first is cancelled before it starts.
        let queued = graph.run();
        queued.cancel();
        run.cancel();
        gate.store(true, Ordering::Release);
        run.wait();
        assert!(queued.is_finished());
        assert_eq!(after.load(Ordering::Relaxed), 0);
        // The graph runs normally again afterwards.
        graph.run().wait();
        assert_eq!(after.load(Ordering::Relaxed), 10);
    });
}

#[test]
fn runs_of_one_graph_never_interleave() {
    within(60, "sequential runs", || {
        let p = pool(4);
        let inside = Arc::new(AtomicUsize::new(0));
        let overlaps = Arc::new(AtomicUsize::new(0));
        let g = p.graph();
        let (i1, o1) = (inside.clone(), overlaps.clone());
        let enter = g.node("enter", move || {
            if i1.fetch_add(1, Ordering::SeqCst) != 0 {
                o1.fetch_add(1, Ordering::SeqCst);
            }
        });
        let i2 = inside.clone();
        let work = g.batch("work", 16, |_| std::hint::black_box(()));
        let leave = g.node("leave", move || {
            i2.fetch_sub(1, Ordering::SeqCst);
        });
        enter.precedes(work);
        work.precedes(leave);
        let graph = g.build().unwrap();
        let runs: Vec<_> = (0..rounds(100, 8)).map(|_| graph.run()).collect();
        for r in runs {
            r.wait();
        }
        assert_eq!(overlaps.load(Ordering::SeqCst), 0);
        assert_eq!(inside.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn a_node_may_wait_for_nested_work_before_its_successors_start() {
    within(60, "subflow", || {
        let p = pool(2);
        let done = AtomicUsize::new(0);
        let seen = AtomicUsize::new(usize::MAX);
        let g = p.graph();
        let parent = g.node("parent", || {
            spindle::scope(|s| {
                for _ in 0..100 {
                    s.spawn(|_| {
                        done.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
            let (a, b) = spindle::join(|| 1, || 2);
            done.fetch_add(a + b - 3, Ordering::Relaxed);
        });
        let child = g.node("child", || {
            seen.store(done.load(Ordering::Relaxed), Ordering::Relaxed)
        });
        parent.precedes(child);
        g.build().unwrap().run_scoped();
        assert_eq!(seen.load(Ordering::Relaxed), 100);
    });
}

#[test]
fn batch_nodes_call_every_index_once() {
    within(60, "batch", || {
        let p = pool(2);
        let hits: Vec<AtomicUsize> = (0..rounds(1000, 40)).map(|_| AtomicUsize::new(0)).collect();
        let g = p.graph();
        g.batch("all", hits.len(), |i| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        g.batch("none", 0, |_| unreachable!());
        let graph = g.build().unwrap();
        for _ in 0..5 {
            graph.run_scoped();
        }
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 5));
    });
}

/// A main-thread node runs on the thread that built the pool, while it
/// waits for the run.
#[test]
fn main_thread_nodes_run_on_the_pool_owner() {
    within(60, "main thread node", || {
        let p = pool(2);
        let owner = std::thread::current().id();
        let ran_on = Mutex::new(None);
        let after_main = AtomicBool::new(false);
        let g = p.graph();
        let work = g.batch("work", 64, |_| {});
        let render = g
            .node("render", || {
                *ran_on.lock().unwrap() = Some(std::thread::current().id())
            })
            .on_main_thread();
        let tail = g.node("tail", || after_main.store(true, Ordering::Relaxed));
        work.precedes(render).precedes(tail);
        let graph = g.build().unwrap();
        assert!(graph.to_dot().contains("render [main]"));
        for _ in 0..rounds(10, 3) {
            graph.run_scoped();
            assert_eq!(*ran_on.lock().unwrap(), Some(owner));
            assert!(after_main.load(Ordering::Relaxed));
        }
    });
}

#[test]
fn node_options_place_and_prioritise_nodes() {
    within(60, "options", || {
        let p = pool(3);
        let ran_on = Mutex::new(Vec::new());
        let g = p.graph();
        for i in 0..20 {
            let ran_on = &ran_on;
            g.node(format!("pinned{i}"), move || {
                ran_on.lock().unwrap().push(spindle::worker_index())
            })
            .options(Options::new().affinity(Affinity::worker(2)));
        }
        g.node("urgent", || {}).priority(Priority::High);
        g.node("later", || {}).priority(Priority::Low);
        let graph = g.build().unwrap();
        graph.run_scoped();
        let got = ran_on.lock().unwrap().clone();
        assert_eq!(got.len(), 20);
        assert!(got.iter().all(|w| *w == Some(2)), "{got:?}");
        let dot = graph.to_dot();
        assert!(
            dot.contains("urgent [High]") && dot.contains("later [Low]"),
            "{dot}"
        );
    });
}

#[test]
fn build_errors_name_what_is_wrong() {
    let p = pool(1);
    // A cycle a → b → c → a (and a tail d).
    let g = p.graph();
    let (a, b, c, d) = (
        g.node("a", || {}),
        g.node("b", || {}),
        g.node("c", || {}),
        g.node("d", || {}),
    );
    a.precedes(b);
    b.precedes(c);
    c.precedes(a).precedes(d);
    match g.build() {
        Err(Error::GraphCycle { nodes }) => {
            let mut sorted = nodes.clone();
            sorted.sort();
            assert_eq!(sorted, ["a", "b", "c"]);
            let msg = Error::GraphCycle { nodes }.to_string();
            assert!(msg.contains("cycle"), "{msg}");
        }
        other => panic!("expected a cycle error, got {other:?}"),
    }
    // An edge to another builder's node.
    let g1 = p.graph();
    let g2 = p.graph();
    let x = g1.node("x", || {});
    let y = g2.node("y", || {});
    x.precedes(y);
    assert!(matches!(g1.build(), Err(Error::ForeignNode { node }) if node == "y"));
    // Options the pool cannot honour.
    let g = p.graph();
    g.node("nowhere", || {})
        .options(Options::new().affinity(Affinity::worker(9)));
    assert!(matches!(
        g.build(),
        Err(Error::NoSuchWorker { worker: 9, .. })
    ));
    // An empty graph is fine and finishes at once, run after run.
    let empty = p.graph().build().unwrap();
    assert!(empty.is_empty());
    for _ in 0..3 {
        empty.run_scoped();
    }
    let runs: Vec<_> = (0..3).map(|_| empty.run()).collect();
    for r in runs {
        assert!(r.is_finished());
        r.wait();
    }
}

#[test]
#[should_panic(expected = "other than the one that built it")]
fn a_graph_runs_only_on_its_own_pool() {
    let (a, b) = (pool(1), pool(1));
    let g = a.graph();
    g.node("n", || {});
    let graph = g.build().unwrap();
    b.run_scoped(&graph);
}

/// A detached run keeps its graph alive: the graph and the run handle may
/// both be dropped before the run ends.
#[test]
fn a_detached_run_outlives_its_graph_and_handle() {
    within(60, "detached", || {
        let p = pool(2);
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let g = p.graph();
            let slow = g.node("slow", || std::thread::sleep(Duration::from_millis(20)));
            g.node("report", move || tx.send(()).unwrap())
                .succeeds(&[slow]);
            let graph = g.build().unwrap();
            drop(graph.run());
        }
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the run finished");
    });
}

/// An async node awaits an event a sibling node sets, the whole run on
/// the pool's one worker (the test thread only waits on a channel): the
/// pending node must not block its sibling, with fibers and without.
#[test]
fn an_async_node_waits_without_blocking_its_siblings() {
    within(60, "async node", || {
        for fibers in [spindle::DEFAULT_FIBERS, 0] {
            let p = Arc::new(Pool::builder().workers(1).fibers(fibers).build().unwrap());
            let event = Arc::new(spindle::Event::manual());
            let order = Arc::new(Mutex::new(Vec::new()));
            let g = p.graph();
            // `first` makes `wait` ready before `set` (its successors in
            // order): `wait` runs next on the same thread and is pending
            // while `set` is still queued behind it.
            let first = g.node("first", || {});
            let (e, o) = (event.clone(), order.clone());
            let wait = g.task("wait", move || {
                let (e, o) = (e.clone(), o.clone());
                async move {
                    e.wait_async().await;
                    o.lock().unwrap().push("waited");
                }
            });
            let (e, o) = (event.clone(), order.clone());
            let set = g.node("set", move || {
                o.lock().unwrap().push("set");
                e.set();
            });
            let o = order.clone();
            let end = g.node("end", move || o.lock().unwrap().push("end"));
            end.succeeds(&[wait, set]);
            first.precedes(wait).precedes(set);
            let graph = Arc::new(g.build().unwrap());
            for _ in 0..rounds(20, 2) {
                event.reset();
                order.lock().unwrap().clear();
                let (tx, rx) = std::sync::mpsc::channel();
                let graph = graph.clone();
                p.spawn(move || {
                    graph.run_scoped();
                    tx.send(()).unwrap();
                });
                rx.recv_timeout(Duration::from_secs(20))
                    .expect("the run finished");
                assert_eq!(*order.lock().unwrap(), ["set", "waited", "end"]);
            }
        }
    });
}
