//! `blocking-mix`: 200 CPU tasks of ~0.5 ms of integer work each, run
//! alone (`-alone`) and beside 100 blocking calls that sleep 10 ms each,
//! submitted first (`-blocking`). The run is timed until the CPU tasks are
//! done (the blocking calls are joined after, untimed). The bar:
//! `-blocking` within 1/0.9 of `-alone` (CPU throughput kept at 90%):
//! blocking calls must not take the workers.
//!
//! - spindle: tasks with `spawn_async`, blocking calls with
//!   `spawn_blocking`.
//! - tokio: `tokio::spawn` and `tokio::task::spawn_blocking`.

use crate::impls::{check, timed, Bench, Pools};
use std::time::Duration;

const CPU_TASKS: u64 = 200;
const BLOCKING: usize = 100;

/// ~0.5 ms of integer work.
fn work(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..500_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn expected() -> u64 {
    (0..CPU_TASKS).map(work).fold(0, u64::wrapping_add)
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    let want = expected();
    let spindle = move |blocking: bool| {
        let pool = pools.spindle();
        let calls: Vec<_> = (0..if blocking { BLOCKING } else { 0 })
            .map(|_| {
                pool.pool()
                    .spawn_blocking(|| std::thread::sleep(Duration::from_millis(10)))
            })
            .collect();
        let (sum, t) = timed(|| {
            pool.block_on(|_| async {
                let hs: Vec<_> = (0..CPU_TASKS)
                    .map(|i| spindle::spawn_async(async move { work(i) }))
                    .collect();
                let mut sum = 0u64;
                for h in hs {
                    sum = sum.wrapping_add(h.await.expect("task"));
                }
                sum
            })
        });
        for c in calls {
            c.join().expect("blocking call");
        }
        check("blocking-mix", "spindle", sum, want);
        t
    };
    let tokio = move |blocking: bool| {
        let rt = pools.tokio();
        let calls: Vec<_> = (0..if blocking { BLOCKING } else { 0 })
            .map(|_| rt.spawn_blocking(|| std::thread::sleep(Duration::from_millis(10))))
            .collect();
        let (sum, t) = timed(|| {
            rt.block_on(async {
                let hs: Vec<_> = (0..CPU_TASKS)
                    .map(|i| tokio::spawn(async move { work(i) }))
                    .collect();
                let mut sum = 0u64;
                for h in hs {
                    sum = sum.wrapping_add(h.await.expect("task"));
                }
                sum
            })
        });
        rt.block_on(async {
            for c in calls {
                c.await.expect("blocking call");
            }
        });
        check("blocking-mix", "tokio", sum, want);
        t
    };
    vec![
        Bench::new("spindle-alone", move || spindle(false)),
        Bench::new("spindle-blocking", move || spindle(true)),
        Bench::new("tokio-alone", move || tokio(false)),
        Bench::new("tokio-blocking", move || tokio(true)),
    ]
}
