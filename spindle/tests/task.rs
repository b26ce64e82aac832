//! Async tasks: spawn, join, panics, abort, block_on, yields, shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn pool(workers: usize) -> spindle::Pool {
    spindle::Pool::builder().workers(workers).build().unwrap()
}

#[test]
fn spawn_and_join() {
    let p = pool(2);
    let h = p.spawn_async(async { 40 + 2 });
    assert_eq!(h.join().unwrap(), 42);
    let v = p.block_on(async {
        let hs: Vec<_> = (0..100u64).map(|i| spindle::spawn_async(async move { i })).collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(v, 4950);
}
