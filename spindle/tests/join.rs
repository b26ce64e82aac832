#![cfg(not(loom))]
//! `join`: results, nesting, panics, and calls from outside the pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use spindle::Pool;

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = spindle::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

#[test]
fn fib_on_pools_of_several_sizes() {
    let n = if cfg!(miri) { 10 } else { 25 };
    let expect = [0u64, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55][..]
        .get(n as usize)
        .copied();
    for workers in [1, 2, 3] {
        let p = pool(workers);
        let got = p.install(|| fib(n));
        if let Some(e) = expect {
            assert_eq!(got, e);
        } else {
            assert_eq!(got, 75025);
        }
    }
}

#[test]
fn join_from_outside_participates() {
    let p = pool(1);
    let (n, expect) = if cfg!(miri) {
        (10, (55, 89))
    } else {
        (15, (610, 987))
    };
    let (a, b) = p.join(|| fib(n), || fib(n + 1));
    assert_eq!((a, b), expect);
    // The participant slot ran jobs only if something was shared; at least
    // the join itself returned the right values. Stats are readable.
    let _ = p.stats().total();
}

#[test]
fn join_borrows_from_the_stack() {
    let p = pool(2);
    let mut left = vec![1u64; 1000];
    let mut right = vec![2u64; 1000];
    p.join(
        || left.iter_mut().for_each(|x| *x += 1),
        || right.iter_mut().for_each(|x| *x += 1),
    );
    assert!(left.iter().all(|&x| x == 2));
    assert!(right.iter().all(|&x| x == 3));
}

#[test]
fn panic_in_a_still_runs_b_then_propagates() {
    let p = pool(2);
    let ran_b = AtomicUsize::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        p.join(
            || panic!("boom in a"),
            || {
                std::thread::sleep(std::time::Duration::from_millis(5));
                ran_b.fetch_add(1, Ordering::SeqCst);
            },
        )
    }));
    let msg = r.unwrap_err();
    assert_eq!(*msg.downcast_ref::<&str>().unwrap(), "boom in a");
    assert_eq!(
        ran_b.load(Ordering::SeqCst),
        1,
        "b runs even though a panicked"
    );
    // The pool still works.
    assert_eq!(p.install(|| fib(12)), 144);
}

#[test]
fn panic_in_b_propagates() {
    let p = pool(2);
    let r = std::panic::catch_unwind(|| p.join(|| 1, || -> u32 { panic!("boom in b") }));
    assert_eq!(*r.unwrap_err().downcast_ref::<&str>().unwrap(), "boom in b");
    assert_eq!(p.join(|| 1, || 2), (1, 2));
}

#[test]
fn many_outside_threads_at_once() {
    // One holds the participant slot; the others hand their calls to workers.
    let p = Arc::new(pool(2));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || {
                let (rounds, n, expect) = if cfg!(miri) {
                    (2, 10, 55)
                } else {
                    (20, 14, 377)
                };
                for _ in 0..rounds {
                    assert_eq!(p.install(|| fib(n)), expect);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn nested_pools() {
    let outer = pool(2);
    let inner = pool(1);
    let r = outer.install(|| inner.join(|| fib(10), || outer.join(|| fib(11), || 3)));
    assert_eq!(r, (55, (89, 3)));
}

#[test]
fn deep_nesting_does_not_overflow() {
    // A chain of joins as deep as the private stack and beyond.
    fn chain(d: u32) -> u32 {
        if d == 0 {
            return 0;
        }
        spindle::join(|| chain(d - 1), || 1).0 + 1
    }
    let p = pool(2);
    assert_eq!(p.install(|| chain(600)), 600);
}

/// Counts drops of the values a closure captured.
struct DropCount<'a>(&'a AtomicUsize, [u64; 4]);
impl Drop for DropCount<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A second closure bigger than two words takes another path through
/// `join` (it stays in the caller's frame): it must run exactly once and
/// its captures be dropped exactly once, also when the first closure
/// panics.
#[test]
fn big_second_closure_runs_or_drops_once() {
    let pool = pool(2);
    let drops = AtomicUsize::new(0);
    let runs = AtomicUsize::new(0);
    let n = if cfg!(miri) { 200 } else { 10_000 };
    pool.install(|| {
        let runs = &runs;
        for _ in 0..n {
            let big = DropCount(&drops, [1, 2, 3, 4]);
            let (x, y) = spindle::join(
                || 1u64,
                move || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    big.1.iter().sum::<u64>()
                },
            );
            assert_eq!((x, y), (1, 10));
        }
    });
    assert_eq!(runs.load(Ordering::SeqCst), n);
    assert_eq!(drops.load(Ordering::SeqCst), n);

    // One worker, and no other thread in the pool: nobody is looking for
    // work, so `b` stays private; when `a` panics it is run from the
    // unwinding guard, through the one-word handle.
    let pool = Arc::new(self::pool(1));
    let drops = Arc::new(AtomicUsize::new(0));
    let runs = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let (d, r) = (drops.clone(), runs.clone());
    pool.spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let big = DropCount(&d, [0; 4]);
            let r = &r;
            spindle::join(
                || panic!("first half"),
                move || {
                    let _keep = &big;
                    r.fetch_add(1, Ordering::SeqCst);
                },
            )
        }));
        tx.send(result.is_err()).unwrap();
    });
    assert!(rx.recv().unwrap(), "the first half's panic propagates");
    assert_eq!(runs.load(Ordering::SeqCst), 1, "b ran once");
    assert_eq!(drops.load(Ordering::SeqCst), 1, "b's captures dropped once");
}

/// If both halves panic, `a`'s panic is re-raised and `b`'s goes to the
/// panic handler: each panic is delivered exactly once. Run with `b` private
/// (one worker, nobody looking) and with `b` stolen (a thief waiting).
#[test]
fn both_halves_panic_each_delivered_once() {
    for workers in [1, 2] {
        let handled = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let h = handled.clone();
        let pool = Pool::builder()
            .workers(workers)
            .panic_handler(move |p| {
                let msg = p.downcast_ref::<&str>().copied().unwrap_or("?").to_string();
                h.lock().unwrap().push(msg);
            })
            .build()
            .unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| {
                spindle::join(
                    || {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        panic!("a")
                    },
                    || panic!("b"),
                )
            })
        }));
        let msg = r.unwrap_err();
        assert_eq!(*msg.downcast_ref::<&str>().unwrap(), "a");
        drop(pool);
        assert_eq!(*handled.lock().unwrap(), ["b"], "workers = {workers}");
    }
}
