#![cfg(not(loom))]
//! Task blocks come back to the thread that spawns: when one thread spawns
//! tasks and a worker completes them, the worker's freed blocks reach the
//! spawner through the shared depot instead of going back to the
//! allocator while the spawner asks it for new ones. Counted by a global
//! allocator that tallies task-block-shaped allocations (256 bytes,
//! 64-aligned); one test in this binary, so no other test's tasks count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

struct Counting;

static BLOCKS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() == 256 && layout.align() == 64 {
            BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Spawns `n` detached tasks from a new thread (whose block cache starts
/// empty) and waits until a worker has completed them all; returns the
/// task blocks allocated meanwhile.
fn spawn_from_a_new_thread(pool: &Arc<spindle::Pool>, n: usize) -> usize {
    let before = BLOCKS.load(Ordering::SeqCst);
    let pool = pool.clone();
    std::thread::spawn(move || {
        let left = Arc::new(AtomicUsize::new(n));
        let done = Arc::new(spindle::Event::manual());
        for _ in 0..n {
            let (left, done) = (left.clone(), done.clone());
            drop(pool.spawn_async(async move {
                if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                    done.set();
                }
            }));
        }
        done.wait();
    })
    .join()
    .unwrap();
    BLOCKS.load(Ordering::SeqCst) - before
}

#[test]
fn blocks_freed_by_a_worker_serve_a_new_spawner() {
    let n = if cfg!(miri) { 1500 } else { 4096 };
    let pool = Arc::new(spindle::Pool::builder().workers(1).build().unwrap());
    // Each round: a new thread spawns, the worker completes and frees. The
    // worker keeps 1024 blocks and hands the rest to the depot, 512 at a
    // time, where the spawner's empty cache finds them, even within the
    // round. Without the depot every block of every round would be new.
    let first = spawn_from_a_new_thread(&pool, n);
    let second = spawn_from_a_new_thread(&pool, n);
    eprintln!("task blocks allocated: {first} in the first round, {second} in the second");
    // At least two magazines came back (without the depot: 2n exactly).
    assert!(
        first + second <= 2 * n - 1024,
        "two rounds of {n} tasks allocated {first} + {second} blocks: \
         too few came back through the depot"
    );
}
