#![cfg(not(loom))]
//! Re-running a built task graph allocates nothing, counted by a global
//! allocator (one test in this binary, so no other test's allocations are
//! counted).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static LAST_SIZE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            LAST_SIZE.store(layout.size(), Ordering::Relaxed);
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

/// Allocations during `f`.
fn counted(f: impl FnOnce()) -> usize {
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    let n = ALLOCS.load(Ordering::SeqCst);
    if n > 0 {
        eprintln!(
            "{n} allocation(s), the last of {} bytes",
            LAST_SIZE.load(Ordering::SeqCst)
        );
    }
    n
}

#[test]
#[cfg_attr(
    miri,
    ignore = "hundreds of runs, too slow interpreted; tests/graph.rs runs the same paths under Miri"
)]
fn rerunning_a_graph_does_not_allocate() {
    let pool = spindle::Pool::builder().workers(2).build().unwrap();
    let hits = AtomicUsize::new(0);
    let g = pool.graph();
    // A wavefront of 8x8 cells plus a batch node and a main-thread node:
    // joins, fan-out, queued and directly-run successors.
    let mut cells = Vec::new();
    for r in 0..8 {
        for c in 0..8 {
            let hits = &hits;
            let n = g.node(format!("cell{r}.{c}"), move || {
                hits.fetch_add(1, Ordering::Relaxed);
            });
            if c > 0 {
                let left: &spindle::NodeRef = &cells[r * 8 + c - 1];
                left.precedes(n);
            }
            if r > 0 {
                let top: &spindle::NodeRef = &cells[(r - 1) * 8 + c];
                top.precedes(n);
            }
            cells.push(n);
        }
    }
    let batch = g.batch("batch", 32, |_| {
        hits.fetch_add(1, Ordering::Relaxed);
    });
    let main = g
        .node("main", || {
            hits.fetch_add(1, Ordering::Relaxed);
        })
        .on_main_thread();
    cells[63].precedes(batch).precedes(main);
    let graph = g.build().unwrap();
    // Warm-up: job caches, fibers, wait lists, the injector's blocks.
    for _ in 0..50 {
        graph.run_scoped();
    }
    let per_run = 64 + 32 + 1;
    assert_eq!(hits.load(Ordering::Relaxed), 50 * per_run);
    // The fewest over a few tries of 100 runs: a one-off lazy
    // initialisation would show once; an allocation per run would show in
    // every try, 100 times.
    let fewest = (0..5)
        .map(|_| {
            counted(|| {
                for _ in 0..100 {
                    graph.run_scoped();
                }
            })
        })
        .min()
        .unwrap();
    assert_eq!(hits.load(Ordering::Relaxed), 550 * per_run);
    assert_eq!(fewest, 0, "a graph run allocated");
}
