//! Feature `trace`: what `Pool::trace` records, and its Chrome
//! trace-event JSON. Run with `cargo test -p spindle --features trace`.
//!
//! The JSON is parsed and checked against the format's schema (the
//! fields each phase needs, with their types), and per thread: timestamps
//! never go back, and every `E` closes the innermost open `B` of the same
//! name, with nothing left open. The events' counts agree with the pool's
//! own statistics, so none is missing or invented.
#![cfg(all(not(loom), feature = "trace"))]

mod common;

use serde_json::Value;
use spindle::{Options, Pool, TraceEventKind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Checks `json` as Chrome trace-event JSON; returns the `(ph, name, cat)`
/// of every non-metadata event, per thread, in file order.
fn check_chrome_json(json: &str) -> HashMap<u64, Vec<(String, String, String)>> {
    let root: Value = serde_json::from_str(json).expect("the trace is valid JSON");
    let events = root["traceEvents"]
        .as_array()
        .expect("traceEvents is an array");
    let mut per_thread: HashMap<u64, Vec<(String, String, String)>> = HashMap::new();
    let mut last_ts: HashMap<u64, f64> = HashMap::new();
    let mut open: HashMap<u64, Vec<String>> = HashMap::new();
    let mut named = Vec::new();
    for e in events {
        let ph = e["ph"].as_str().expect("every event has a phase");
        assert!(e["pid"].is_u64(), "pid: {e}");
        let tid = e["tid"].as_u64().expect("tid");
        let name = e["name"].as_str().expect("name").to_owned();
        if ph == "M" {
            assert!(name == "thread_name" || name == "thread_sort_index", "{e}");
            if name == "thread_name" {
                assert!(e["args"]["name"].is_string(), "{e}");
                named.push(tid);
            }
            continue;
        }
        let ts = e["ts"].as_f64().expect("ts is a number");
        let cat = e["cat"].as_str().expect("cat").to_owned();
        let last = last_ts.entry(tid).or_insert(0.0);
        assert!(ts >= *last, "thread {tid}: time goes back at {e}");
        *last = ts;
        let stack = open.entry(tid).or_default();
        match ph {
            "B" => stack.push(name.clone()),
            "E" => {
                let top = stack
                    .pop()
                    .unwrap_or_else(|| panic!("E with nothing open: {e}"));
                assert_eq!(top, name, "thread {tid}: E closes another span");
            }
            "i" => assert_eq!(e["s"], "t", "{e}"),
            other => panic!("unexpected phase {other}"),
        }
        per_thread
            .entry(tid)
            .or_default()
            .push((ph.to_owned(), name, cat));
    }
    for (tid, stack) in open {
        assert!(stack.is_empty(), "thread {tid} leaves {stack:?} open");
    }
    for tid in per_thread.keys() {
        assert!(named.contains(tid), "thread {tid} has no name");
    }
    per_thread
}

#[test]
fn a_trace_of_mixed_work_is_chrome_json_that_nests_and_agrees_with_the_stats() {
    common::within(60, "mixed trace", || {
        let pool = Pool::builder()
            .workers(2)
            .thread_name("tr-")
            .build()
            .unwrap();
        // Named scope jobs.
        let sum = AtomicU64::new(0);
        pool.scope(|s| {
            for i in 0..8 {
                let sum = &sum;
                s.spawn_with(Options::new().name("physics"), move |_| {
                    sum.fetch_add(i, Ordering::Relaxed);
                })
                .unwrap();
            }
        });
        assert_eq!(sum.load(Ordering::Relaxed), 28);
        // Fork-join with steals.
        assert_eq!(pool.install(|| common::fib(20)), 6765);
        // A job that waits on an event set from outside: with fibers its
        // worker switches away and back.
        let (ev, rx) = common::waiting_job(&pool, "waiter");
        std::thread::sleep(Duration::from_millis(20));
        for _ in 0..4 {
            pool.spawn(|| std::hint::black_box(()));
        }
        std::thread::sleep(Duration::from_millis(20));
        ev.set();
        rx.recv().unwrap();
        // An async task, and a graph.
        let v = pool.block_on(pool.spawn_async(async {
            spindle::yield_async().await;
            7
        }));
        assert_eq!(v.unwrap(), 7);
        let g = pool.graph();
        let a = g.node("simulate", || {});
        let b = g.node("upload", || {});
        a.precedes(b);
        g.build().unwrap().run().wait();

        let stats = pool.stats();
        let trace = pool.trace();
        assert_eq!(trace.threads.len(), 3);
        assert_eq!(trace.threads[0].name, "tr-0");
        assert_eq!(trace.threads[1].name, "tr-1");
        assert_eq!(trace.threads[2].name, "caller");
        for t in &trace.threads {
            assert_eq!(t.lost, 0);
            let count = |f: fn(&TraceEventKind) -> bool| {
                t.events.iter().filter(|e| f(&e.kind)).count() as u64
            };
            let s = if t.index < 2 {
                &stats.workers[t.index]
            } else {
                &stats.participant
            };
            assert_eq!(
                count(|k| matches!(k, TraceEventKind::Steal { .. })),
                s.stolen,
                "{}",
                t.name
            );
            assert_eq!(
                count(|k| matches!(k, TraceEventKind::InjectorPop)),
                s.injector_pops,
                "{}",
                t.name
            );
            assert_eq!(
                count(|k| matches!(k, TraceEventKind::FiberSwitch { .. })),
                s.fiber_switches,
                "{}",
                t.name
            );
            assert!(t.events.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
        }
        let all = || trace.threads.iter().flat_map(|t| &t.events);
        let begins = |cat: &str, name: &str| {
            all()
                .filter(|e| matches!(e.kind, TraceEventKind::Begin { category, name: n } if category == cat && n == name))
                .count()
        };
        assert_eq!(begins("job", "physics"), 8);
        assert_eq!(begins("job", "waiter"), 1);
        assert_eq!(begins("node", "simulate"), 1);
        assert_eq!(begins("node", "upload"), 1);
        assert!(all().any(|e| matches!(
            e.kind,
            TraceEventKind::Begin {
                category: "task",
                ..
            }
        )));
        assert!(all().any(|e| matches!(e.kind, TraceEventKind::Park)));

        let json = trace.to_chrome_json();
        let per_thread = check_chrome_json(&json);
        let slices = |name: &str| {
            per_thread
                .values()
                .flatten()
                .filter(|(ph, n, _)| ph == "B" && n == name)
                .count()
        };
        assert_eq!(slices("physics"), 8);
        let switched = stats.workers.iter().any(|w| w.fiber_switches > 0);
        assert!(switched || !common::FIBERS, "the waiter never suspended");
        if switched {
            // The waiter was suspended: its span ends at the switch and
            // begins again when it resumes.
            assert!(slices("waiter") >= 2, "{json}");
            assert!(json.contains("\"suspended\":true") && json.contains("\"resumed\":true"));
        }
        let path = std::env::temp_dir().join(format!("spindle-trace-{}.json", std::process::id()));
        trace.write_chrome_json(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), json);
        std::fs::remove_file(path).unwrap();
    });
}

#[test]
fn a_full_ring_keeps_the_newest_events_counts_the_lost_and_still_nests() {
    common::within(60, "full ring", || {
        let pool = Pool::builder()
            .workers(1)
            .trace_capacity(64)
            .build()
            .unwrap();
        let counter = spindle::Counter::new();
        pool.dispatch(&counter, (0..1000).map(|_| || std::hint::black_box(())));
        pool.wait(&counter);
        let trace = pool.trace();
        // The worker and the waiting caller ran 1000 jobs between them:
        // 2000 span events into two rings of 64.
        for t in &trace.threads {
            assert!(t.events.len() <= 64, "{}", t.events.len());
        }
        let w = trace.threads.iter().max_by_key(|t| t.lost).unwrap();
        assert!(w.lost > 0);
        // What the ring holds is the work done after it filled.
        let jobs = w
            .events
            .iter()
            .filter(|e| matches!(e.kind, TraceEventKind::Begin { .. }))
            .count();
        assert!(jobs > 10, "{jobs}");
        check_chrome_json(&trace.to_chrome_json());
    });
}

#[test]
fn a_trace_capacity_past_the_limit_is_an_error() {
    let err = Pool::builder()
        .workers(1)
        .trace_capacity((1 << 24) + 1)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            spindle::Error::InvalidCapacity {
                what: "trace_capacity",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("trace_capacity must be at most 16777216"),
        "{err}"
    );
    // Tiny rings work (rounded up to 2 events).
    let pool = Pool::builder()
        .workers(1)
        .trace_capacity(0)
        .build()
        .unwrap();
    pool.install(|| spindle::join(|| (), || ()));
    assert!(pool.trace().threads.iter().all(|t| t.events.len() <= 2));
}
