//! spindle on Web Workers, run in a browser's main thread (headless
//! Chromium in CI, through `wasm-bindgen-test-runner`): the main thread
//! only submits and awaits; the workers block and steal as on native
//! threads. Each test checks its results.
#![cfg(target_arch = "wasm32")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use spindle::{Affinity, Counter, Options, Priority};
use spindle_web::WebPool;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = spindle::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn pool() -> WebPool {
    WebPool::new(3).expect("a pool of 3 Web Workers")
}

#[wasm_bindgen_test]
async fn fib_25_through_join_on_three_workers() {
    let pool = pool();
    assert_eq!(pool.num_workers(), 3);
    assert_eq!(pool.run(|| fib(25)).await.unwrap(), 75_025);
}

#[wasm_bindgen_test]
async fn a_scope_with_ten_thousand_spawns() {
    let pool = pool();
    let sum = pool
        .run(|| {
            let sum = AtomicUsize::new(0);
            spindle::scope(|s| {
                for i in 0..10_000 {
                    let sum = &sum;
                    s.spawn(move |_| {
                        sum.fetch_add(i, Ordering::Relaxed);
                    });
                }
            });
            sum.into_inner()
        })
        .await
        .unwrap();
    assert_eq!(sum, 10_000 * 9_999 / 2);
}

#[wasm_bindgen_test]
async fn a_counter_batch_awaited_from_the_main_thread() {
    let pool = pool();
    let counter = Counter::new();
    let hits = Arc::new(AtomicUsize::new(0));
    // Dispatched from a worker (dispatch may help, so not from the main
    // thread), awaited here.
    let c = counter.clone();
    let h = hits.clone();
    pool.run(move || {
        let pool = spindle::Pool::current().expect("on a worker");
        pool.dispatch(
            &c,
            (0..1000).map(|_| {
                let h = h.clone();
                move || {
                    h.fetch_add(1, Ordering::Relaxed);
                }
            }),
        );
    })
    .await
    .unwrap();
    counter.wait_async().await;
    assert_eq!(hits.load(Ordering::Relaxed), 1000);
}

#[wasm_bindgen_test]
async fn an_async_task_awaited_from_the_main_thread() {
    let pool = pool();
    let task = pool.spawn_async(async {
        let a = spindle::spawn_handle(|| fib(15));
        a.await.unwrap() + 1
    });
    assert_eq!(task.await.unwrap(), 611);
}

#[wasm_bindgen_test]
async fn a_high_job_queued_after_low_ones_comes_within_two_picks() {
    let pool = pool();
    let order = pool
        .run(|| {
            let pool = spindle::Pool::current().expect("on a worker");
            let me = spindle::current_thread_index().expect("a worker");
            // Hold the two other workers.
            let (release, held) = mpsc::channel::<()>();
            let held = Arc::new(Mutex::new(held));
            let (ready_tx, ready_rx) = mpsc::channel();
            for w in (0..3).filter(|&w| w != me) {
                let (held, ready_tx) = (held.clone(), ready_tx.clone());
                pool.spawn_with(Options::new().affinity(Affinity::worker(w)), move || {
                    ready_tx.send(()).unwrap();
                    let _ = held.lock().unwrap().recv();
                })
                .unwrap();
            }
            for _ in 0..2 {
                ready_rx.recv().unwrap();
            }
            // Queue Lows and then a High where only this worker can take
            // them, then run them by waiting: one pick at a time.
            let order = Arc::new(Mutex::new(Vec::new()));
            let done = Counter::new();
            for (p, tag) in [
                (Priority::Low, "low"),
                (Priority::Low, "low"),
                (Priority::Low, "low"),
                (Priority::High, "high"),
            ] {
                let order = order.clone();
                let options = Options::new().priority(p).affinity(Affinity::worker(me));
                pool.dispatch_with(options, &done, [move || order.lock().unwrap().push(tag)])
                    .unwrap();
            }
            pool.wait(&done);
            for _ in 0..2 {
                release.send(()).unwrap();
            }
            let order = order.lock().unwrap().clone();
            order
        })
        .await
        .unwrap();
    // Within the first two picks: the fairness rule lets one pick in 16
    // start from Low.
    assert_eq!(order.len(), 4);
    assert!(order[..2].contains(&"high"), "{order:?}");
}

#[wasm_bindgen_test]
async fn a_panic_comes_back_as_an_error() {
    let pool = pool();
    let err = pool
        .run(|| -> u32 { panic!("boom on a Web Worker") })
        .await
        .unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("boom on a Web Worker"), "{err}");
    // The pool goes on.
    assert_eq!(pool.run(|| 7).await.unwrap(), 7);
}

#[wasm_bindgen_test]
async fn the_main_thread_submits_while_workers_take_from_the_same_queue() {
    // The main thread pushes to the injector while three workers pop from
    // it: the lock they share is contended, and the main thread must
    // never wait for it on a futex (its wait would trap).
    let pool = pool();
    let counter = Counter::new();
    let hits = Arc::new(AtomicUsize::new(0));
    let rounds = 200;
    let per_round = 100;
    for _ in 0..rounds {
        for _ in 0..per_round {
            let (c, h) = (counter.clone(), hits.clone());
            c.add(1);
            pool.spawn(move || {
                h.fetch_add(1, Ordering::Relaxed);
                c.complete();
            });
        }
    }
    counter.wait_async().await;
    assert_eq!(hits.load(Ordering::Relaxed), rounds * per_round);
}

#[wasm_bindgen_test]
async fn a_task_graph_runs_in_order_on_the_workers() {
    let pool = pool();
    let order = pool
        .run(|| {
            let pool = spindle::Pool::current().expect("on a worker");
            let log = Mutex::new(Vec::new());
            let g = pool.graph();
            let node = |name: &'static str| {
                let log = &log;
                g.node(name, move || log.lock().unwrap().push(name))
            };
            let (a, b, c, d) = (node("a"), node("b"), node("c"), node("d"));
            a.precedes(b).precedes(c);
            d.succeeds(&[b, c]);
            let graph = g.build().unwrap();
            let mut runs = Vec::new();
            for _ in 0..50 {
                log.lock().unwrap().clear();
                graph.run_scoped();
                runs.push(log.lock().unwrap().clone());
            }
            runs
        })
        .await
        .unwrap();
    for run in order {
        assert_eq!(run.len(), 4, "{run:?}");
        assert_eq!((run[0], run[3]), ("a", "d"), "{run:?}");
    }
}
