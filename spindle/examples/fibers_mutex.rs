//! Holding a lock across nested parallel work.
//!
//! Jobs share a cache of expensive values. A job that misses computes the
//! value while it holds the cache's lock (so no key is ever computed
//! twice), and the computation itself forks with `join`. With a thread
//! lock on a helping scheduler this pattern can deadlock: while the holder
//! waits for its `join`, its thread picks up another job that wants the
//! same lock, below which the holder's frame is buried (rayon issue #592).
//! spindle's `Mutex` and waits suspend fibers instead: the job that finds
//! the lock taken steps aside, and the holder resumes when its halves are
//! done.
//!
//! ```sh
//! cargo run --release -p spindle --example fibers_mutex
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The expensive value: a Fibonacci number, computed with fork-join.
fn fib(n: u32) -> u64 {
    if n < 2 {
        return u64::from(n);
    }
    if n < 18 {
        return fib(n - 1) + fib(n - 2);
    }
    let (a, b) = spindle::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn main() -> Result<(), spindle::Error> {
    let pool = spindle::Pool::builder().build()?;
    let cache: spindle::Mutex<HashMap<u32, u64>> = spindle::Mutex::new(HashMap::new());
    let computed = AtomicUsize::new(0);
    let keys: Vec<u32> = (0..256).map(|i| 20 + i % 8).collect();
    let start = Instant::now();
    let total: u64 = pool.install(|| {
        let sums: Vec<u64> = {
            let mut out = vec![0u64; keys.len()];
            spindle::scope(|s| {
                for (slot, &key) in out.iter_mut().zip(&keys) {
                    let (cache, computed) = (&cache, &computed);
                    s.spawn(move |_| {
                        let mut map = cache.lock();
                        // The lock stays held across the parallel fork.
                        let v = *map.entry(key).or_insert_with(|| {
                            computed.fetch_add(1, Ordering::Relaxed);
                            fib(key)
                        });
                        drop(map);
                        *slot = v;
                    });
                }
            });
            out
        };
        sums.iter().sum()
    });
    let expected: u64 = keys.iter().map(|&k| fib_serial(k)).sum();
    assert_eq!(total, expected, "a wrong value came out of the cache");
    let computed = computed.load(Ordering::Relaxed);
    assert_eq!(computed, 8, "a key was computed twice");
    let stats = pool.stats();
    println!(
        "{} jobs over 8 keys on {} threads: each key computed once ({computed} computations), \
         sum {total}, in {:.2?}; fiber suspensions {}",
        keys.len(),
        pool.num_workers() + 1,
        start.elapsed(),
        stats.total().fiber_suspends,
    );
    Ok(())
}

fn fib_serial(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}
