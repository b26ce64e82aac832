#![cfg(not(loom))]
//! `spindle::par`, the data-parallel loops and sorts, from the outside:
//!
//! - every loop gives the serial result at sizes around its grain (0, 1,
//!   2, 3, `Par::grain` g-1, g, g+1, the default chunk's edges, odd large
//!   lengths), over every range type (negative and near-MAX ranges,
//!   empty and reversed ones), slices, `&Vec`, `&mut Vec` and arrays;
//! - the order-sensitive results keep the serial order: `map`, `reduce`
//!   with an associative but not commutative combine, `min` (the first of
//!   equal items) and `max` (the last), `find_first` (the first match);
//! - the six sorts equal std's on random, sorted, reversed, all-equal,
//!   few-distinct and sawtooth input on both sides of the serial cutoff
//!   (4096), the stable ones keep equal keys in order, and non-`Copy`
//!   elements (`String`s) come through whole;
//! - searches stop early; a panic in a closure or a comparison reaches
//!   the caller and leaves the pool usable, a panicking sort leaves a
//!   permutation and drops every element exactly once;
//! - options (priority, affinity, a missing worker), calls from outside
//!   threads, from another pool's jobs and from inside loops, the free
//!   functions, and that the loops really run on several threads.

mod common;

use std::any::Any;
use std::cmp::Ordering as CmpOrdering;
use std::fmt::{Debug, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Barrier};
use std::time::{Duration, Instant};

use common::within;
use spindle::par::{self, Par};
use spindle::{Affinity, Options, Pool, Priority};

// ---------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

/// `native` normally, `miri` under Miri (which runs about 10^4 times
/// slower).
const fn scale(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}

/// Inputs up to this length are sorted by std at once (`SERIAL_LEN` in
/// src/par/sort.rs); above it the parallel sorts run.
const SERIAL_LEN: usize = 4096;

/// A tiny deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random(len: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.next()).collect()
}

/// The sorts' input shapes.
fn patterns(len: usize, seed: u64) -> Vec<(&'static str, Vec<u64>)> {
    let n = len as u64;
    vec![
        ("random", random(len, seed)),
        ("sorted", (0..n).collect()),
        ("reversed", (0..n).rev().collect()),
        ("all equal", vec![7; len]),
        (
            "few distinct",
            random(len, seed).iter().map(|x| x % 4).collect(),
        ),
        ("sawtooth", (0..n).map(|i| i % 1000).collect()),
    ]
}

/// Fails with the first differing index rather than two huge vectors.
fn assert_same<T: PartialEq + Debug>(got: &[T], expect: &[T], what: &str) {
    assert_eq!(got.len(), expect.len(), "{what}: lengths differ");
    if let Some(i) = got.iter().zip(expect).position(|(a, b)| a != b) {
        panic!(
            "{what}: first difference at index {i} of {}: got {:?}, expected {:?}",
            got.len(),
            got[i],
            expect[i]
        );
    }
}

fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<not a string>".to_owned()
    }
}

/// Runs `f`, which must panic, and returns the panic's message.
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(p) => message(&*p),
    }
}

/// One counter per index, for "every item exactly once".
fn counters(len: usize) -> Vec<AtomicUsize> {
    (0..len).map(|_| AtomicUsize::new(0)).collect()
}

fn assert_each_once(hits: &[AtomicUsize], what: &str) {
    if let Some((i, h)) = hits
        .iter()
        .map(|h| h.load(Ordering::Relaxed))
        .enumerate()
        .find(|&(_, h)| h != 1)
    {
        panic!("{what}: item {i} of {} ran {h} times", hits.len());
    }
}

/// Lengths around where the default chunk of a 3-slot pool (2 workers),
/// `n / (3 c)` items for `c` chunks per thread, grows from 1 item to 2
/// (`c` is 64 or 256: lengths 192, 384, 768, 1536), and large odd ones.
/// Under Miri, where every item costs, a few short ones.
fn loop_lengths() -> Vec<usize> {
    if cfg!(miri) {
        vec![0, 1, 2, 3, 50]
    } else {
        vec![
            0, 1, 2, 3, 191, 192, 193, 383, 384, 385, 767, 768, 769, 1535, 1536, 1537, 10_007,
            100_003,
        ]
    }
}

// ---------------------------------------------------------------------
// for_each over ranges, slices and vectors
// ---------------------------------------------------------------------

/// `for_each` and `map` over `start..start + len` of type `$t`.
macro_rules! check_range {
    ($par:expr, $t:ty, $start:expr, $len:expr) => {{
        let par: &Par = $par;
        let start: $t = $start;
        let len: usize = $len;
        let end: $t = start + len as $t;
        let what = format!("{}..{} of {}", start, end, stringify!($t));
        let hits = counters(len);
        par.for_each(start..end, |i: $t| {
            let k = usize::try_from(i as i128 - start as i128).unwrap();
            hits[k].fetch_add(1, Ordering::Relaxed);
        });
        assert_each_once(&hits, &what);
        let mapped: Vec<$t> = par.map(start..end, |i| i);
        assert_same(&mapped, &(start..end).collect::<Vec<$t>>(), &what);
    }};
}

#[test]
fn for_each_runs_every_index_of_every_range_type_once() {
    let p = pool(2);
    let par = p.par();
    for len in loop_lengths() {
        check_range!(&par, usize, 0, len);
        check_range!(&par, usize, usize::MAX - len, len);
        check_range!(&par, u32, 0, len);
        check_range!(&par, u32, u32::MAX - len as u32, len);
        check_range!(&par, u64, 1 << 40, len);
        check_range!(&par, u64, u64::MAX - len as u64, len);
        check_range!(&par, i32, -(len as i32) / 2, len);
        check_range!(&par, i32, i32::MIN, len);
        check_range!(&par, i32, i32::MAX - len as i32, len);
        check_range!(&par, i64, -(len as i64), len);
        check_range!(&par, i64, i64::MIN, len);
        check_range!(&par, i64, i64::MAX - len as i64, len);
    }
}

#[test]
fn empty_and_reversed_ranges_run_nothing() {
    let p = pool(2);
    let par = p.par();
    let calls = AtomicUsize::new(0);
    // A counting closure for items of any type.
    fn counting<T>(calls: &AtomicUsize) -> impl Fn(T) + Sync + '_ {
        move |_| {
            calls.fetch_add(1, Ordering::Relaxed);
        }
    }
    // Through `black_box`, so the reversed ranges are not constants.
    let (lo, hi) = std::hint::black_box((3usize, 10usize));
    par.for_each(lo..lo, counting(&calls));
    par.for_each(hi..lo, counting(&calls));
    par.for_each(hi as u32..lo as u32, counting(&calls));
    par.for_each(hi as u64..lo as u64, counting(&calls));
    par.for_each(-(lo as i32)..-(hi as i32), counting(&calls));
    par.for_each(i64::MAX..i64::MIN + lo as i64, counting(&calls));
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    assert!(par.map(hi as i32..-(hi as i32), |i| i).is_empty());
    assert_eq!(par.sum::<_, i64>(hi as i64..lo as i64), 0);
    assert_eq!(par.min(hi..lo), None);
    assert_eq!(par.max(hi as u32..lo as u32), None);
    assert!(!par.any(hi..lo, |_| true));
    assert!(par.all(hi..lo, |_| false));
    assert_eq!(par.find_first(hi as i64..lo as i64, |_| true), None);
}

#[test]
fn for_each_sees_every_element_of_slices_vectors_and_arrays() {
    let p = pool(2);
    let par = p.par();
    for len in loop_lengths() {
        // Shared: each element's own counter goes up once.
        let hits = counters(len);
        par.for_each(&hits, |h| {
            h.fetch_add(1, Ordering::Relaxed);
        });
        assert_each_once(&hits, "&Vec");
        par.for_each(&hits[..], |h| {
            h.fetch_add(1, Ordering::Relaxed);
        });
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 2), "&[T]");

        // Mutable: every element written once.
        let mut v: Vec<u64> = (0..len as u64).collect();
        par.for_each(&mut v[..], |x| *x = *x * 2 + 1);
        par.for_each(&mut v, |x| *x += 10);
        let expect: Vec<u64> = (0..len as u64).map(|x| x * 2 + 11).collect();
        assert_same(&v, &expect, "&mut [T], &mut Vec");

        let total = AtomicU64::new(0);
        par.for_each(&v, |x| {
            total.fetch_add(*x, Ordering::Relaxed);
        });
        assert_eq!(total.into_inner(), expect.iter().sum::<u64>());
    }
    let mut a = [1u32; 100];
    par.for_each(&mut a, |x| *x += 1);
    let total = AtomicU64::new(0);
    par.for_each(&a, |x| {
        total.fetch_add(u64::from(*x), Ordering::Relaxed);
    });
    assert_eq!(total.into_inner(), 200);
}

#[test]
fn loops_at_the_grain_boundaries_give_the_serial_results() {
    let p = pool(2);
    let grains: &[usize] = if cfg!(miri) {
        &[1, 7]
    } else {
        &[1, 2, 7, 100, 1000, 4096]
    };
    for &g in grains {
        let par = p.par().grain(g);
        for len in [g - 1, g, g + 1, 2 * g + 1, 10 * g + 3] {
            let what = format!("grain {g}, len {len}");
            let hits = counters(len);
            par.for_each(0..len, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert_each_once(&hits, &what);

            let v: Vec<u64> = (0..len as u64).collect();
            assert_same(
                &par.map(&v, |x| x * 3),
                &(0..len as u64).map(|x| x * 3).collect::<Vec<_>>(),
                &what,
            );
            assert_eq!(par.sum::<_, u64>(&v), v.iter().sum::<u64>(), "{what}");
            let order = par.reduce(
                0..len,
                Vec::new,
                |mut acc, i| {
                    acc.push(i);
                    acc
                },
                |mut a, b| {
                    a.extend(b);
                    a
                },
            );
            assert_same(&order, &(0..len).collect::<Vec<_>>(), &what);
            assert_eq!(
                par.find_first(0..len, |&i| i + 1 == len),
                len.checked_sub(1),
                "{what}"
            );
            assert_eq!(par.max(&v), v.last(), "{what}");
        }
    }
}

#[test]
fn a_grain_bounds_how_many_chunks_a_loop_runs() {
    // With grain g a leaf runs g items, except for one remainder in each
    // piece that is not split again, and those pieces are disjoint and
    // over g/2 items each: at most len / g + 2 len / g leaves. Without the
    // grain, the default chunk of a 3-slot pool (at most len / 192 items)
    // would make over 10 times more leaves even with no split at all.
    let p = pool(2);
    let grains: &[usize] = if cfg!(miri) { &[10] } else { &[100, 5000] };
    for &g in grains {
        let len = 10 * g + 3;
        let leaves = AtomicUsize::new(0);
        let sum = p.par().grain(g).reduce(
            0..len as u64,
            || {
                leaves.fetch_add(1, Ordering::Relaxed);
                0u64
            },
            |a, i| a + i,
            |a, b| a + b,
        );
        assert_eq!(sum, (0..len as u64).sum::<u64>());
        let leaves = leaves.into_inner();
        assert!(
            leaves <= 3 * len / g + 1,
            "grain {g}: {leaves} leaves for {len} items"
        );
    }
}

#[test]
fn grain_zero_is_taken_as_one() {
    let p = pool(2);
    let par = p.par().grain(0);
    for len in [0, 1, 2, 3, scale(500, 50)] {
        let hits = counters(len);
        par.for_each(0..len, |i| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        assert_each_once(&hits, "grain 0");
        assert_eq!(par.sum::<_, usize>(0..len), (0..len).sum::<usize>());
    }
}

// ---------------------------------------------------------------------
// chunks and chunks_mut
// ---------------------------------------------------------------------

#[test]
fn chunks_get_their_index_and_the_last_one_is_shorter() {
    let p = pool(2);
    let lens: &[usize] = if cfg!(miri) {
        &[0, 1, 3, 10, 50]
    } else {
        &[0, 1, 2, 3, 10, 1000, 10_007]
    };
    for &len in lens {
        let v: Vec<usize> = (0..len).collect();
        for size in [1, 2, 3, 64, len.max(1), len + 5, usize::MAX] {
            let what = format!("len {len}, size {size}");
            let hits = counters(len.div_ceil(size));
            p.par().chunks(&v, size, |i, c| {
                let start = i * size;
                let expect_len = size.min(len - start);
                assert_eq!(c, &v[start..start + expect_len], "{what}: chunk {i}");
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert_each_once(&hits, &what);

            let mut w = vec![usize::MAX; len];
            let chunk_lens = counters(len.div_ceil(size));
            p.par().chunks_mut(&mut w, size, |i, c| {
                chunk_lens[i].fetch_add(c.len(), Ordering::Relaxed);
                c.fill(i);
            });
            let expect: Vec<usize> = (0..len).map(|k| k / size).collect();
            assert_same(&w, &expect, &what);
            for (i, l) in chunk_lens.iter().enumerate() {
                let expect_len = size.min(len - i * size);
                assert_eq!(l.load(Ordering::Relaxed), expect_len, "{what}: chunk {i}");
            }
        }
    }
}

#[test]
fn chunks_honour_a_grain_of_chunks() {
    let p = pool(2);
    let v: Vec<u32> = (0..scale(1000, 100) as u32).collect();
    for g in [1, 3, 4, 5, 100] {
        let hits = counters(v.len().div_ceil(3));
        p.par().grain(g).chunks(&v, 3, |i, c| {
            assert_eq!(c[0] as usize, i * 3);
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        assert_each_once(&hits, "chunks with a grain");
    }
}

#[test]
fn chunks_of_size_zero_panic_with_a_message() {
    let p = pool(2);
    let mut v = vec![1u8; 10];
    let msg = panic_message(|| p.par().chunks(&v, 0, |_, _| {}));
    assert!(
        msg.contains("spindle::par::chunks") && msg.contains("chunk size is 0"),
        "{msg}"
    );
    let msg = panic_message(|| p.par().chunks_mut(&mut v, 0, |_, _| {}));
    assert!(
        msg.contains("spindle::par::chunks_mut") && msg.contains("chunk size is 0"),
        "{msg}"
    );
    // Also for an empty slice, and through the free functions.
    let msg = panic_message(|| par::chunks(&v[..0], 0, |_, _| {}));
    assert!(msg.contains("chunk size is 0"), "{msg}");
    let msg = panic_message(|| par::chunks_mut(&mut v[..0], 0, |_, _| {}));
    assert!(msg.contains("chunk size is 0"), "{msg}");
    // The pool goes on.
    assert_eq!(p.par().sum::<_, u64>(0..10u64), 45);
}

// ---------------------------------------------------------------------
// map, reduce, sum, min, max
// ---------------------------------------------------------------------

#[test]
fn map_keeps_the_input_order() {
    let p = pool(3);
    for len in loop_lengths() {
        let what = format!("len {len}");
        let strings = p.par().map(0..len as u32, |i| i.to_string());
        let expect: Vec<String> = (0..len as u32).map(|i| i.to_string()).collect();
        assert_same(&strings, &expect, &what);

        let lens: Vec<usize> = p.par().map(&strings, |s| s.len());
        assert_same(
            &lens,
            &expect.iter().map(String::len).collect::<Vec<_>>(),
            &what,
        );

        let mut v: Vec<i64> = (0..len as i64).collect();
        let old = p.par().map(&mut v, |x| {
            *x = -*x;
            -*x * 2
        });
        assert_same(
            &old,
            &(0..len as i64).map(|x| x * 2).collect::<Vec<_>>(),
            &what,
        );
        assert_same(&v, &(0..len as i64).map(|x| -x).collect::<Vec<_>>(), &what);
    }
}

/// 2x2 matrices modulo a prime: an associative product that does not
/// commute.
type Mat = [u64; 4];
const ID: Mat = [1, 0, 0, 1];

fn mat_mul(a: Mat, b: Mat) -> Mat {
    const P: u64 = 1_000_000_007;
    [
        (a[0] * b[0] + a[1] * b[2]) % P,
        (a[0] * b[1] + a[1] * b[3]) % P,
        (a[2] * b[0] + a[3] * b[2]) % P,
        (a[2] * b[1] + a[3] * b[3]) % P,
    ]
}

fn mat_of(i: u64) -> Mat {
    [i % 7 + 1, 1, i % 5, 2]
}

#[test]
fn reduce_with_a_non_commutative_combine_equals_the_serial_fold() {
    assert_ne!(
        mat_mul(mat_of(1), mat_of(2)),
        mat_mul(mat_of(2), mat_of(1)),
        "the test's product must not commute"
    );
    for workers in [1, 3] {
        let p = pool(workers);
        for len in loop_lengths() {
            let what = format!("{workers} workers, len {len}");
            let concat = p.par().reduce(
                0..len,
                String::new,
                |mut s, i| {
                    write!(s, "{i},").unwrap();
                    s
                },
                |a, b| a + &b,
            );
            let serial = (0..len).fold(String::new(), |mut s, i| {
                write!(s, "{i},").unwrap();
                s
            });
            assert!(concat == serial, "{what}: concatenation out of order");

            let v: Vec<u64> = (0..len as u64).collect();
            for g in [1, 10] {
                let product =
                    p.par()
                        .grain(g)
                        .reduce(&v, || ID, |acc, &i| mat_mul(acc, mat_of(i)), mat_mul);
                let serial = v.iter().fold(ID, |acc, &i| mat_mul(acc, mat_of(i)));
                assert_eq!(product, serial, "{what}, grain {g}: matrix product");
            }
        }
    }
}

#[test]
fn sum_equals_the_serial_sum() {
    let p = pool(2);
    for len in loop_lengths() {
        let n = len as i64;
        assert_eq!(p.par().sum::<_, i64>(-n..n / 2), (-n..n / 2).sum::<i64>());
        assert_eq!(
            p.par().sum::<_, u64>(0..len as u64),
            (0..len as u64).sum::<u64>()
        );
        let v = random(len, 7);
        let small: Vec<u32> = v.iter().map(|&x| (x >> 52) as u32).collect();
        assert_eq!(p.par().sum::<_, u32>(&small), small.iter().sum::<u32>());
        let wrapping: Vec<std::num::Wrapping<u64>> =
            v.iter().map(|&x| std::num::Wrapping(x)).collect();
        assert_eq!(
            p.par().sum::<_, std::num::Wrapping<u64>>(&wrapping),
            wrapping.iter().sum::<std::num::Wrapping<u64>>()
        );
    }
}

/// Ordered by `key` alone: equal keys with different tags are equal.
#[derive(Clone, Copy, Debug)]
struct Tagged {
    key: u32,
    tag: usize,
}

impl PartialEq for Tagged {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Tagged {}

impl PartialOrd for Tagged {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tagged {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.key.cmp(&other.key)
    }
}

#[test]
fn min_returns_the_first_and_max_the_last_of_equal_items() {
    let p = pool(3);
    for len in loop_lengths().into_iter().filter(|&l| l > 0) {
        let mut rng = Rng::new(len as u64);
        // Keys 10..60, with the least (0) and the greatest (100) each at
        // several places spread over the slice, so over several chunks.
        let mut v: Vec<Tagged> = (0..len)
            .map(|tag| Tagged {
                key: 10 + rng.below(50) as u32,
                tag,
            })
            .collect();
        let places: Vec<usize> = (0..5).map(|_| rng.below(len as u64) as usize).collect();
        for &i in &places {
            v[i].key = 0;
        }
        for &i in &places {
            v[(i * 7 + 3) % len].key = 100;
        }
        let least = v.iter().map(|t| t.key).min().unwrap();
        let greatest = v.iter().map(|t| t.key).max().unwrap();
        let first_min = v.iter().position(|t| t.key == least).unwrap();
        let last_max = v.iter().rposition(|t| t.key == greatest).unwrap();
        for g in [1, 3] {
            let par = p.par().grain(g);
            let what = format!("len {len}, grain {g}");
            let min = par.min(&v).unwrap();
            let max = par.max(&v).unwrap();
            // The very element std's min and max pick, by address.
            assert!(
                std::ptr::eq(min, v.iter().min().unwrap()),
                "{what}: min is tag {}",
                min.tag
            );
            assert!(
                std::ptr::eq(max, v.iter().max().unwrap()),
                "{what}: max is tag {}",
                max.tag
            );
            assert_eq!(min.tag, first_min, "{what}: min");
            assert_eq!(max.tag, last_max, "{what}: max");
        }
        // All equal: the first and the last.
        let same: Vec<Tagged> = (0..len).map(|tag| Tagged { key: 5, tag }).collect();
        assert_eq!(
            p.par().min(&same).unwrap().tag,
            0,
            "len {len}: min of equals"
        );
        assert_eq!(
            p.par().max(&same).unwrap().tag,
            len - 1,
            "len {len}: max of equals"
        );
        // By value, from ranges.
        assert_eq!(p.par().min(3..len as i32 + 3), Some(3));
        assert_eq!(p.par().max(-(len as i64)..0), Some(-1));
    }
}

// ---------------------------------------------------------------------
// any, all, find_first
// ---------------------------------------------------------------------

#[test]
fn searches_of_nothing_find_nothing_and_call_nothing() {
    let p = pool(2);
    let calls = AtomicUsize::new(0);
    let empty: Vec<u32> = Vec::new();
    let yes = |_: &u32| {
        calls.fetch_add(1, Ordering::Relaxed);
        true
    };
    assert!(!p.par().any(&empty, yes));
    assert!(p.par().all(&empty, |_| {
        calls.fetch_add(1, Ordering::Relaxed);
        false
    }));
    assert_eq!(p.par().find_first(&empty, |_| yes(&0)), None);
    assert_eq!(p.par().find_first(0..0u64, |_| yes(&0)), None);
    assert_eq!(calls.into_inner(), 0);
}

#[test]
fn any_and_all_agree_with_std() {
    let p = pool(3);
    for len in loop_lengths() {
        let v = random(len, 3);
        for m in [2, 1000, 1 << 20, u64::MAX] {
            let what = format!("len {len}, mod {m}");
            let pred = |x: &u64| x.is_multiple_of(m);
            assert_eq!(p.par().any(&v, pred), v.iter().any(pred), "{what}: any");
            assert_eq!(
                p.par().all(&v, |x| !pred(x)),
                v.iter().all(|x| !pred(x)),
                "{what}: all"
            );
        }
        assert!(p.par().all(&v, |_| true));
        assert_eq!(p.par().any(&v, |_| true), len > 0);
    }
}

#[test]
fn find_first_returns_the_first_match_when_many_match() {
    let p = pool(3);
    for len in loop_lengths() {
        let what = format!("len {len}");
        let n = len as u64;
        // Every 7th item from the 3rd matches.
        assert_eq!(
            p.par().find_first(0..n, |&i| i % 7 == 3),
            (n > 3).then_some(3),
            "{what}"
        );
        // Only the last quarter matches, all of it: a thief that takes the
        // right half finds its items before the one the answer is.
        let from = n * 3 / 4;
        assert_eq!(
            p.par().find_first(0..n, |&i| i >= from),
            (n > 0).then_some(from),
            "{what}"
        );
        // Only the last item.
        assert_eq!(
            p.par().find_first(0..n, |&i| i + 1 == n),
            n.checked_sub(1),
            "{what}"
        );
        // None.
        assert_eq!(p.par().find_first(0..n, |&i| i >= n), None, "{what}");
        // In a slice with the value at many places: the first one, by address.
        let v: Vec<u64> = random(len, 5).iter().map(|x| x % 10).collect();
        for target in [0, 9] {
            let got = p.par().find_first(&v, |x| **x == target);
            match v.iter().position(|&x| x == target) {
                Some(i) => assert!(
                    std::ptr::eq(got.unwrap(), &v[i]),
                    "{what}: not the first {target}"
                ),
                None => assert_eq!(got, None),
            }
        }
        // Mutable items: the first match comes back mutable.
        let mut w: Vec<u64> = v.clone();
        if let Some(x) = p.par().find_first(&mut w, |x| **x == 9) {
            *x = 99;
        }
        let mut expect = v.clone();
        if let Some(x) = expect.iter_mut().find(|x| **x == 9) {
            *x = 99;
        }
        assert_same(&w, &expect, &what);
    }
}

/// Runs `search` with a predicate `f` that only item 0 satisfies, and
/// returns how many times `f` ran. Every other item first waits until
/// item 0 has been tested: item 0 is the first the entering thread runs
/// (a loop's left half stays on its thread), and without the wait a
/// thief could go through its whole half while that thread is
/// descheduled before item 0.
fn calls_when_item_0_matches(search: impl FnOnce(&(dyn Fn(u64) -> bool + Sync))) -> usize {
    let calls = AtomicUsize::new(0);
    let item_0_tested = AtomicBool::new(false);
    let f = |i: u64| {
        calls.fetch_add(1, Ordering::Relaxed);
        if i == 0 {
            item_0_tested.store(true, Ordering::Release);
            return true;
        }
        while !item_0_tested.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        false
    };
    search(&f);
    calls.into_inner()
}

#[test]
fn searches_stop_early_once_the_answer_is_known() {
    // Without an early exit every one of the `len` items would be tested.
    // With one, the entering thread tests item 0 and then only looks at
    // the shared flag once per chunk (a chunk is `max(len / (64 t),
    // grain)` items or less, here a few thousand of the million): a thief
    // tests at most the item it waited in and one more before it sees
    // the flag.
    let p = pool(2);
    let len = scale(1_000_000, 1000);
    let n = len as u64;
    let any = calls_when_item_0_matches(|f| assert!(p.par().any(0..n, f)));
    assert!(any < len / 2, "any tested {any} of {len} items");
    let all = calls_when_item_0_matches(|f| assert!(!p.par().all(0..n, |i| !f(i))));
    assert!(all < len / 2, "all tested {all} of {len} items");
    let first =
        calls_when_item_0_matches(|f| assert_eq!(p.par().find_first(0..n, |&i| f(i)), Some(0)));
    assert!(first < len / 2, "find_first tested {first} of {len} items");
}

#[test]
#[cfg(target_pointer_width = "64")]
#[cfg_attr(
    miri,
    ignore = "thousands of chunks, slow under Miri; no unsafe code on this path"
)]
fn searches_over_ranges_of_usize_max_items_stop_at_the_answer() {
    // Without an early exit these would run for centuries: the watchdog
    // fails the test instead.
    let p = pool(2);
    within(60, "searches over 2^64 - 1 items", move || {
        assert!(p.par().any(i64::MIN..i64::MAX, |i| i == i64::MIN + 5));
        assert!(!p.par().all(0..u64::MAX, |i| i < 1000));
        assert_eq!(
            p.par()
                .find_first(i64::MIN..i64::MAX, |&i| i >= i64::MIN + 1000),
            Some(i64::MIN + 1000)
        );
        assert_eq!(
            p.par().find_first(0..usize::MAX, |&i| i % 1001 == 1000),
            Some(1000)
        );
    });
}

#[test]
fn find_first_prefers_the_left_match_even_when_it_is_found_last() {
    // Item 0 matches, but only once a thief has found a match in the
    // right half (every item of which matches): the entering thread holds
    // item 0 until then. Nothing else left of the middle matches, so no
    // chunk of the right half can be skipped before one of them runs.
    // Both halves come back with a match, and the left one wins.
    // (An earlier version matched at 1/4 too; a thief that took the
    // second quarter first rightly skipped the whole right half, and the
    // test waited for a match that was never needed.)
    let p = pool(2);
    warm_up(&p);
    let n = scale(100_000, 2000) as u64;
    within(60, "find_first with a late left match", move || {
        for _ in 0..scale(10, 2) {
            let right_found = AtomicBool::new(false);
            let got = p.par().find_first(0..n, |&i| {
                if i >= n / 2 {
                    right_found.store(true, Ordering::Release);
                    return true;
                }
                if i != 0 {
                    return false;
                }
                // Miri's clock runs far ahead of its threads.
                let limit = Duration::from_secs(scale(10, 600) as u64);
                let start = Instant::now();
                while !right_found.load(Ordering::Acquire) {
                    assert!(
                        start.elapsed() < limit,
                        "no other thread took the right half of the loop"
                    );
                    std::thread::yield_now();
                }
                true
            });
            assert_eq!(got, Some(0));
        }
    });
}

// ---------------------------------------------------------------------
// Sorts
// ---------------------------------------------------------------------

/// All six sorts of `input` on `par`, against std's.
fn check_sorts(par: &Par, input: &[u64], what: &str) {
    let mut expect = input.to_vec();
    expect.sort();
    let mut v = input.to_vec();
    par.sort(&mut v);
    assert_same(&v, &expect, &format!("sort, {what}"));
    let mut v = input.to_vec();
    par.sort_unstable(&mut v);
    assert_same(&v, &expect, &format!("sort_unstable, {what}"));

    let desc = |a: &u64, b: &u64| b.cmp(a);
    let mut expect_desc = input.to_vec();
    expect_desc.sort_by(desc);
    let mut v = input.to_vec();
    par.sort_by(&mut v, desc);
    assert_same(&v, &expect_desc, &format!("sort_by, {what}"));
    let mut v = input.to_vec();
    par.sort_unstable_by(&mut v, desc);
    assert_same(&v, &expect_desc, &format!("sort_unstable_by, {what}"));

    // A key with many ties: the stable sort must be std's exactly; the
    // unstable one sorted by the key and a permutation of the input.
    let key = |x: &u64| x % 1000;
    let mut expect_key = input.to_vec();
    expect_key.sort_by_key(key);
    let mut v = input.to_vec();
    par.sort_by_key(&mut v, key);
    assert_same(&v, &expect_key, &format!("sort_by_key, {what}"));
    let mut v = input.to_vec();
    par.sort_unstable_by_key(&mut v, key);
    assert!(
        v.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
        "sort_unstable_by_key, {what}: not sorted by the key"
    );
    v.sort();
    assert_same(
        &v,
        &expect,
        &format!("sort_unstable_by_key, {what}: not a permutation"),
    );
}

#[test]
fn sorts_equal_std_on_every_shape_and_size() {
    // Under Miri, only std's side of the cutoff: the parallel sorts run
    // there in the tests of panics and drops below.
    let sizes: &[usize] = if cfg!(miri) {
        &[0, 1, 2, 3, 50]
    } else {
        &[
            0,
            1,
            2,
            3,
            100,
            SERIAL_LEN - 1,
            SERIAL_LEN,
            SERIAL_LEN + 1,
            10_007,
            100_003,
        ]
    };
    for workers in [1, 3] {
        let p = pool(workers);
        let par = p.par();
        for &len in sizes {
            if cfg!(miri) && workers == 1 && len > 3 {
                continue;
            }
            for (shape, input) in patterns(len, len as u64 + 1) {
                check_sorts(
                    &par,
                    &input,
                    &format!("{workers} workers, len {len}, {shape}"),
                );
            }
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "too slow under Miri")]
fn sorts_of_a_million_elements_equal_std() {
    let p = pool(3);
    let len = 1_000_003;
    for (shape, input) in patterns(len, 11) {
        if !matches!(shape, "random" | "few distinct" | "sawtooth") {
            continue;
        }
        let what = format!("len {len}, {shape}");
        let mut expect = input.clone();
        expect.sort_unstable();
        let mut v = input.clone();
        p.par().sort(&mut v);
        assert_same(&v, &expect, &format!("sort, {what}"));
        let mut v = input.clone();
        p.par().sort_unstable(&mut v);
        assert_same(&v, &expect, &format!("sort_unstable, {what}"));
    }
    // Stable by a key with few values, on the parallel merge's biggest
    // merges.
    let input = random(len, 12);
    let key = |x: &u64| x % 8;
    let mut expect = input.clone();
    expect.sort_by_key(key);
    let mut v = input;
    p.par().sort_by_key(&mut v, key);
    assert_same(&v, &expect, "sort_by_key, len 1_000_003");
}

/// Ordered by `key` alone, like [`Tagged`], for the stable sorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Keyed {
    key: u64,
    index: usize,
}

impl PartialOrd for Keyed {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Keyed {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.key.cmp(&other.key)
    }
}

fn assert_stable(v: &[Keyed], what: &str) {
    for (k, w) in v.windows(2).enumerate() {
        assert!(
            w[0].key < w[1].key || (w[0].key == w[1].key && w[0].index < w[1].index),
            "{what}: {:?} before {:?} at {k}",
            w[0],
            w[1]
        );
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "slow under Miri; a_panicking_sort_drops_every_element_exactly_once runs the merges there"
)]
fn stable_sort_keeps_equal_keys_in_order() {
    let p = pool(3);
    for len in [SERIAL_LEN + 1, 10_007, 100_003] {
        for distinct in [1, 2, 16, 1000] {
            let mut rng = Rng::new(distinct);
            let shapes: [(&str, Vec<u64>); 2] = [
                (
                    "random keys",
                    (0..len).map(|_| rng.below(distinct)).collect(),
                ),
                // Keys falling in long runs of equal ones: whole groups
                // move past each other, each keeping its order.
                (
                    "descending keys",
                    (0..len as u64)
                        .map(|i| (len as u64 - i) * distinct / len as u64)
                        .collect(),
                ),
            ];
            for (shape, keys) in shapes {
                let input: Vec<Keyed> = keys
                    .iter()
                    .enumerate()
                    .map(|(index, &key)| Keyed { key, index })
                    .collect();
                let what = format!("len {len}, {distinct} keys, {shape}");
                let mut expect = input.clone();
                expect.sort_by_key(|x| x.key);
                assert_stable(&expect, "std");

                let mut v = input.clone();
                p.par().sort(&mut v);
                assert_stable(&v, &format!("sort, {what}"));
                assert_same(
                    &v.iter().map(|x| x.index).collect::<Vec<_>>(),
                    &expect.iter().map(|x| x.index).collect::<Vec<_>>(),
                    &what,
                );

                let mut v = input.clone();
                p.par().sort_by(&mut v, |a, b| a.key.cmp(&b.key));
                assert_stable(&v, &format!("sort_by, {what}"));

                let mut v = input.clone();
                p.par().sort_by_key(&mut v, |x| x.key);
                assert_stable(&v, &format!("sort_by_key, {what}"));

                // Descending by key, still stable among equals.
                let mut v = input.clone();
                p.par().sort_by(&mut v, |a, b| b.key.cmp(&a.key));
                v.reverse();
                // Reversed, each group of equal keys is in descending
                // index order if the sort was stable.
                for w in v.windows(2) {
                    assert!(
                        w[0].key < w[1].key || (w[0].key == w[1].key && w[0].index > w[1].index),
                        "sort_by descending, {what}: not stable"
                    );
                }
            }
        }
    }
}

#[test]
fn sorting_strings_keeps_every_element() {
    let p = pool(3);
    let lens: &[usize] = if cfg!(miri) {
        &[0, 3, 100]
    } else {
        &[0, 3, 100, SERIAL_LEN + 1, 10_007]
    };
    for &len in lens {
        let mut rng = Rng::new(len as u64);
        // Heap data of varied lengths, with duplicates.
        let input: Vec<String> = (0..len)
            .map(|_| {
                let x = rng.below(len as u64 / 2 + 1);
                format!("{x:x}").repeat(1 + (x % 3) as usize)
            })
            .collect();
        let what = format!("len {len}");
        let mut expect = input.clone();
        expect.sort();

        let mut v = input.clone();
        p.par().sort(&mut v);
        assert_same(&v, &expect, &format!("sort, {what}"));
        let mut v = input.clone();
        p.par().sort_unstable(&mut v);
        assert_same(&v, &expect, &format!("sort_unstable, {what}"));

        let mut expect_desc = input.clone();
        expect_desc.sort_by(|a, b| b.cmp(a));
        let mut v = input.clone();
        p.par().sort_by(&mut v, |a, b| b.cmp(a));
        assert_same(&v, &expect_desc, &format!("sort_by, {what}"));
        let mut v = input.clone();
        p.par().sort_unstable_by(&mut v, |a, b| b.cmp(a));
        assert_same(&v, &expect_desc, &format!("sort_unstable_by, {what}"));

        let mut expect_len = input.clone();
        expect_len.sort_by_key(String::len);
        let mut v = input.clone();
        p.par().sort_by_key(&mut v, String::len);
        assert_same(&v, &expect_len, &format!("sort_by_key, {what}"));
        let mut v = input.clone();
        p.par().sort_unstable_by_key(&mut v, String::len);
        assert!(v.windows(2).all(|w| w[0].len() <= w[1].len()), "{what}");
        v.sort();
        assert_same(
            &v,
            &expect,
            &format!("sort_unstable_by_key, {what}: not a permutation"),
        );
    }
}

#[test]
fn sorts_of_zero_sized_elements_keep_their_length() {
    let p = pool(2);
    let len = scale(10_000, SERIAL_LEN + 1);
    let mut v = vec![(); len];
    p.par().sort(&mut v);
    p.par().sort_unstable(&mut v);
    p.par().sort_unstable_by(&mut v, |_, _| CmpOrdering::Less);
    p.par().sort_by_key(&mut v, |_| 0);
    // With an affinity, in the pool.
    let on_1 = p
        .par()
        .options(Options::new().affinity(Affinity::worker(1)));
    on_1.sort(&mut v);
    on_1.sort_unstable(&mut v);
    assert_eq!(v.len(), len);
}

// ---------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------

#[test]
fn a_panic_in_a_loop_reaches_the_caller_and_the_pool_goes_on() {
    let p = pool(2);
    let (len, bad) = if cfg!(miri) {
        (100, 77)
    } else {
        (100_000, 777)
    };
    let msg = panic_message(|| {
        p.par().for_each(0..len, |i| {
            if i == bad {
                panic!("item {i} failed");
            }
        })
    });
    assert_eq!(msg, format!("item {bad} failed"));
    // The same pool, at once.
    let hits = counters(len);
    p.par().for_each(0..len, |i| {
        hits[i].fetch_add(1, Ordering::Relaxed);
    });
    assert_each_once(&hits, "after the panic");

    // The other loops, each panicking once in one chunk.
    let v: Vec<u64> = (0..len as u64).collect();
    let boom = |x: u64| {
        if x == bad as u64 {
            panic!("boom at {x}");
        }
    };
    let msgs = [
        panic_message(|| {
            p.par().map(&v, |&x| {
                boom(x);
                x as u32
            })
        }),
        panic_message(|| {
            p.par().reduce(
                &v,
                || 0,
                |a, &x| {
                    boom(x);
                    a + x
                },
                |a, b| a + b,
            )
        }),
        panic_message(|| {
            p.par().any(&v, |&x| {
                boom(x);
                false
            })
        }),
        panic_message(|| {
            p.par().find_first(&v, |&&x| {
                boom(x);
                false
            })
        }),
        panic_message(|| {
            p.par()
                .chunks(&v, 10, |_, c| c.iter().for_each(|&x| boom(x)))
        }),
    ];
    for m in &msgs {
        assert_eq!(m, &format!("boom at {bad}"));
    }
    assert_eq!(p.par().sum::<_, u64>(&v), v.iter().sum::<u64>());
}

#[test]
fn every_chunk_panicking_still_gives_one_panic_and_a_working_pool() {
    let p = pool(3);
    let len = scale(1000, 8);
    for _ in 0..scale(20, 1) {
        let msg = panic_message(|| p.par().for_each(0..len, |i| panic!("item {i}")));
        assert!(msg.starts_with("item "), "{msg}");
    }
    assert_eq!(p.par().map(0..len, |i| i).len(), len);
}

/// Which comparison of a sort panics.
#[derive(Clone, Copy, Debug)]
enum PanicAt {
    /// The `k`-th.
    Call(usize),
    /// The `k`-th between an element from the input's first half and one
    /// from its second half. The merge sort sorts the two halves in place
    /// first, comparing elements of the same half only, so these calls are
    /// its top level's: the first is its in-order check, the next ones
    /// are in the top merge.
    Cross(usize),
}

/// Counts a sort's comparisons and panics at the chosen one.
struct Trigger {
    at: PanicAt,
    mid: usize,
    calls: AtomicUsize,
    cross: AtomicUsize,
}

impl Trigger {
    fn new(at: PanicAt, len: usize) -> Self {
        Trigger {
            at,
            mid: len / 2,
            calls: AtomicUsize::new(0),
            cross: AtomicUsize::new(0),
        }
    }

    /// A comparison of the elements that started at `a` and `b`.
    fn compare(&self, a: usize, b: usize) {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let cross = if (a < self.mid) != (b < self.mid) {
            self.cross.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            0
        };
        match self.at {
            PanicAt::Call(k) if call == k => panic!("comparison {k}"),
            PanicAt::Cross(k) if cross == k => panic!("cross comparison {k}"),
            _ => {}
        }
    }
}

/// Where the comparison of a sort of `len` elements panics: in std's
/// pieces, in the top merge (stable), in the top partition (unstable,
/// whose first `len` or so comparisons are it) and further down. All
/// well within a sort's count, which for the unstable sort varies with
/// how its partitions were shared between threads.
fn panic_points(len: usize, stable: bool) -> Vec<PanicAt> {
    use PanicAt::{Call, Cross};
    match (stable, cfg!(miri)) {
        (true, true) => vec![Cross(len / 4)],
        (true, false) => vec![
            Call(1),
            Call(10),
            Call(len),
            Cross(1),
            Cross(2),
            Cross(len / 4),
        ],
        (false, true) => vec![Call(len / 2)],
        (false, false) => vec![Call(1), Call(10), Call(len / 2), Call(len), Call(2 * len)],
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "slow under Miri; a_panicking_sort_drops_every_element_exactly_once covers these paths"
)]
fn a_comparison_that_panics_mid_sort_leaves_a_permutation() {
    let p = pool(3);
    let len = 20_011;
    // Few distinct keys: many ties, for both sorts' equal-key paths.
    let input: Vec<Keyed> = random(len, 21)
        .iter()
        .enumerate()
        .map(|(index, x)| Keyed {
            key: x % 500,
            index,
        })
        .collect();
    for stable in [true, false] {
        for at in panic_points(len, stable) {
            let what = format!("stable {stable}, panic at {at:?}");
            let trigger = Trigger::new(at, len);
            let compare = |a: &Keyed, b: &Keyed| {
                trigger.compare(a.index, b.index);
                a.key.cmp(&b.key)
            };
            let mut v = input.clone();
            let msg = panic_message(|| {
                if stable {
                    p.par().sort_by(&mut v, compare)
                } else {
                    p.par().sort_unstable_by(&mut v, compare)
                }
            });
            assert!(msg.contains("comparison"), "{what}: {msg}");
            let mut indices: Vec<usize> = v.iter().map(|x| x.index).collect();
            indices.sort_unstable();
            assert!(
                indices.iter().copied().eq(0..len),
                "{what}: not a permutation"
            );
        }
    }
    // The pool goes on.
    let mut v = input.clone();
    p.par().sort(&mut v);
    assert_stable(&v, "after the panics");
}

#[test]
fn an_inconsistent_comparison_leaves_a_permutation() {
    // A comparison that answers at random is no order: a sort may panic on
    // it (std checks some of an order's laws) or return any order, but the
    // slice must hold its elements, each once. For the stable sort the
    // answers are random only between the two halves of the input, so
    // std's pieces (inside one half) see an order and the top merge gets
    // the nonsense.
    let p = pool(3);
    let len = scale(20_011, SERIAL_LEN + 1);
    let input: Vec<Keyed> = random(len, 41)
        .iter()
        .enumerate()
        .map(|(index, &key)| Keyed { key, index })
        .collect();
    let kinds: &[bool] = if cfg!(miri) { &[true] } else { &[true, false] };
    for &stable in kinds {
        let state = AtomicU64::new(len as u64 | 1);
        let coin = || {
            // Not one sequence (threads interleave), but random enough.
            let x = state.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
            match (x >> 29) % 3 {
                0 => CmpOrdering::Less,
                1 => CmpOrdering::Equal,
                _ => CmpOrdering::Greater,
            }
        };
        let mid = len / 2;
        let compare = |a: &Keyed, b: &Keyed| {
            if stable && (a.index < mid) == (b.index < mid) {
                a.key.cmp(&b.key)
            } else {
                coin()
            }
        };
        let mut v = input.clone();
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if stable {
                p.par().sort_by(&mut v, compare)
            } else {
                p.par().sort_unstable_by(&mut v, compare)
            }
        }));
        let mut indices: Vec<usize> = v.iter().map(|x| x.index).collect();
        indices.sort_unstable();
        assert!(
            indices.iter().copied().eq(0..len),
            "stable {stable}: not a permutation"
        );
    }
}

#[test]
fn a_panicking_sort_drops_every_element_exactly_once() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);

    /// Heap data (a double drop is a double free, which Miri and ASan
    /// report) and a drop counter only this test uses.
    struct Noisy {
        key: u64,
        id: Box<usize>,
    }

    impl Drop for Noisy {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }

    let p = pool(3);
    let len = scale(10_007, SERIAL_LEN + 1);
    let keys: Vec<u64> = random(len, 33).iter().map(|x| x % 1000).collect();
    let make = || -> Vec<Noisy> {
        keys.iter()
            .enumerate()
            .map(|(i, &key)| Noisy {
                key,
                id: Box::new(i),
            })
            .collect()
    };
    let sort = |v: &mut Vec<Noisy>, stable: bool, trigger: &Trigger| {
        let compare = |a: &Noisy, b: &Noisy| {
            trigger.compare(*a.id, *b.id);
            a.key.cmp(&b.key)
        };
        if stable {
            p.par().sort_by(v, compare);
        } else {
            p.par().sort_unstable_by(v, compare);
        }
    };
    // Under Miri only the stable sort, whose merges move elements with
    // unsafe copies (the quicksort only swaps).
    let kinds: &[bool] = if cfg!(miri) { &[true] } else { &[true, false] };
    for &stable in kinds {
        if !cfg!(miri) {
            // A whole sort: nothing dropped while sorting, all once after.
            let before = DROPS.load(Ordering::SeqCst);
            let mut v = make();
            sort(&mut v, stable, &Trigger::new(PanicAt::Call(0), len));
            assert_eq!(DROPS.load(Ordering::SeqCst), before, "stable {stable}");
            assert!(v.windows(2).all(|w| w[0].key <= w[1].key));
            drop(v);
            assert_eq!(DROPS.load(Ordering::SeqCst) - before, len);
        }
        for at in panic_points(len, stable) {
            let what = format!("stable {stable}, panic at {at:?}");
            let before = DROPS.load(Ordering::SeqCst);
            let mut v = make();
            let msg = panic_message(|| sort(&mut v, stable, &Trigger::new(at, len)));
            assert!(msg.contains("comparison"), "{what}: {msg}");
            assert_eq!(
                DROPS.load(Ordering::SeqCst),
                before,
                "{what}: dropped during the sort"
            );
            // Every element once: the ids are a permutation of 0..len.
            let mut ids: Vec<usize> = v.iter().map(|x| *x.id).collect();
            ids.sort_unstable();
            assert!(
                ids.iter().copied().eq(0..len),
                "{what}: elements lost or duplicated"
            );
            drop(v);
            assert_eq!(DROPS.load(Ordering::SeqCst) - before, len, "{what}: drops");
        }
    }
}

// ---------------------------------------------------------------------
// Options and pools
// ---------------------------------------------------------------------

#[test]
fn loops_with_a_priority_give_the_same_results() {
    let p = pool(2);
    let priorities: &[Priority] = if cfg!(miri) {
        &[Priority::Low]
    } else {
        &[Priority::Low, Priority::High]
    };
    for &priority in priorities {
        let par = Par::new()
            .options(Options::new().priority(priority))
            .pool(&p);
        let len = scale(10_007, 50);
        let hits = counters(len);
        par.for_each(0..len, |i| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        assert_each_once(&hits, "priority");
        assert_same(
            &par.map(0..len, |i| i * 2),
            &(0..len).map(|i| i * 2).collect::<Vec<_>>(),
            "map",
        );
        assert_eq!(par.sum::<_, usize>(0..len), (0..len).sum::<usize>());
        assert_eq!(
            par.find_first(0..len, |&i| i % 1000 == 999),
            Some(999).filter(|&i| i < len)
        );
        if !cfg!(miri) {
            check_sorts(&par, &random(20_000, 4), &format!("{priority:?}"));
        }
    }
}

#[test]
fn an_affinity_keeps_every_item_on_its_worker() {
    let p = pool(2);
    let len = scale(10_000, 50);
    for w in [0, 1] {
        let par = p
            .par()
            .options(Options::new().affinity(Affinity::worker(w)));
        let elsewhere = AtomicUsize::new(0);
        let check = || {
            if spindle::worker_index() != Some(w) {
                elsewhere.fetch_add(1, Ordering::Relaxed);
            }
        };
        let hits = counters(len);
        par.for_each(0..len, |i| {
            check();
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        assert_each_once(&hits, "affine for_each");
        let doubled = par.map(0..len, |i| {
            check();
            i * 2
        });
        assert_eq!(doubled[len - 1], 2 * (len - 1));
        assert!(par.any(0..len, |i| {
            check();
            i == len - 1
        }));
        assert_eq!(
            elsewhere.load(Ordering::Relaxed),
            0,
            "items ran off worker {w}"
        );
        // Sorts big enough for the parallel paths (std's alone under
        // Miri): every comparison there.
        let input = random(scale(20_000, 50), 9);
        let mut expect = input.clone();
        expect.sort();
        let compare = |a: &u64, b: &u64| {
            check();
            a.cmp(b)
        };
        let mut v = input.clone();
        par.sort_by(&mut v, compare);
        assert_same(&v, &expect, "affine sort_by");
        let mut v = input.clone();
        par.sort_unstable_by(&mut v, compare);
        assert_same(&v, &expect, "affine sort_unstable_by");
        assert_eq!(elsewhere.into_inner(), 0, "comparisons ran off worker {w}");
    }
    // From a job on the other worker, too.
    let (tx, rx) = mpsc::channel();
    let p2 = p.clone();
    p.spawn_with(Options::new().affinity(Affinity::worker(1)), move || {
        let par = p2
            .par()
            .options(Options::new().affinity(Affinity::worker(0)));
        let off = par.map(0..100, |_| spindle::worker_index() != Some(0));
        tx.send(off.iter().filter(|&&b| b).count()).unwrap();
    })
    .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)).unwrap(), 0);
}

#[test]
fn an_affinity_to_a_missing_worker_panics_naming_spindle_par() {
    let p = pool(2);
    let par = p
        .par()
        .options(Options::new().affinity(Affinity::worker(99)));
    let ran = AtomicUsize::new(0);
    let msg = panic_message(|| {
        par.for_each(0..10, |_| {
            ran.fetch_add(1, Ordering::Relaxed);
        })
    });
    assert!(msg.contains("spindle::par"), "{msg}");
    let msg = panic_message(|| par.map(0..10, |i| i));
    assert!(msg.contains("spindle::par"), "{msg}");
    let mut v = random(SERIAL_LEN + 1, 1);
    let msg = panic_message(|| par.sort(&mut v));
    assert!(msg.contains("spindle::par"), "{msg}");
    let msg = panic_message(|| par.sort_unstable(&mut v));
    assert!(msg.contains("spindle::par"), "{msg}");
    assert_eq!(ran.into_inner(), 0);
    // An empty set of workers likewise.
    let none = p
        .par()
        .options(Options::new().affinity(Affinity::workers([])));
    let msg = panic_message(|| none.for_each(0..10, |_| {}));
    assert!(msg.contains("spindle::par"), "{msg}");
    // The pool goes on.
    assert_eq!(p.par().sum::<_, u32>(0..10u32), 45);
}

#[test]
fn small_sorts_honour_the_options_as_loops_do() {
    // Below the cutoff a sort is std's, but it still runs where an
    // affinity says, and a bad affinity is still an error.
    let p = pool(2);
    let on_0 = p
        .par()
        .options(Options::new().affinity(Affinity::worker(0)));
    let elsewhere = AtomicUsize::new(0);
    let mut v = random(100, 3);
    on_0.sort_by(&mut v, |a, b| {
        if spindle::worker_index() != Some(0) {
            elsewhere.fetch_add(1, Ordering::Relaxed);
        }
        a.cmp(b)
    });
    assert_eq!(
        elsewhere.into_inner(),
        0,
        "comparisons of a 100-element sort ran off worker 0"
    );
    let missing = p
        .par()
        .options(Options::new().affinity(Affinity::worker(99)));
    let msg = panic_message(|| missing.sort_unstable(&mut v));
    assert!(msg.contains("spindle::par"), "{msg}");
}

#[test]
fn loops_run_from_threads_outside_the_pool() {
    let p = pool(2);
    let len = scale(10_007, 50);
    // Three at once: one of them takes the pool's participant slot, the
    // others hand their loops to the workers.
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..3u64)
            .map(|t| {
                let p = &p;
                s.spawn(move || {
                    let v = p.par().map(0..len as u64, |i| i * t);
                    let total: u64 = p.par().sum(&v);
                    let mut w = random(len, t);
                    p.par().sort_unstable(&mut w);
                    assert!(w.windows(2).all(|x| x[0] <= x[1]));
                    total
                })
            })
            .collect();
        for (t, h) in threads.into_iter().enumerate() {
            let n = len as u64;
            assert_eq!(h.join().unwrap(), t as u64 * n * (n - 1) / 2);
        }
    });
}

#[test]
fn loops_run_from_inside_a_job_of_another_pool() {
    let a = pool(1);
    let b = pool(3);
    let len = scale(10_007, 20);
    // From `a`'s participant (inside `install`): the loop runs on `b`'s
    // threads (4 of them), not on `a`'s (2).
    let seen = a.install(|| b.par().map(0..len, |i| (i, spindle::current_num_threads())));
    assert!(
        seen.iter().enumerate().all(|(k, &(i, n))| i == k && n == 4),
        "install"
    );
    // From a job on `a`'s worker.
    let b2 = b.clone();
    let got = within(60, "par from a job of another pool", move || {
        let (tx, rx) = mpsc::channel();
        a.spawn(move || {
            let threads = b2.par().map(0..len, |_| spindle::current_num_threads());
            let mut v = random(scale(20_000, 50), 2);
            b2.par().sort(&mut v);
            let sorted = v.windows(2).all(|w| w[0] <= w[1]);
            tx.send((threads.iter().all(|&n| n == 4), sorted)).unwrap();
        });
        rx.recv().unwrap()
    });
    assert_eq!(got, (true, true));
}

#[test]
fn free_functions_use_the_pool_they_are_called_in() {
    let p = pool(3);
    let len = scale(10_007, 50);
    p.install(|| {
        let other = AtomicUsize::new(0);
        par::for_each(0..len, |_| {
            if spindle::current_num_threads() != 4 {
                other.fetch_add(1, Ordering::Relaxed);
            }
        });
        assert_eq!(other.into_inner(), 0);
        check_free_functions(len, scale(10_007, 50));
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the global pool's workers outlive main by design, which Miri reports as a leak"
)]
fn free_functions_run_on_the_global_pool() {
    let off_pool = AtomicUsize::new(0);
    par::for_each(0..10_007, |_| {
        if spindle::current_thread_index().is_none() {
            off_pool.fetch_add(1, Ordering::Relaxed);
        }
    });
    assert_eq!(off_pool.into_inner(), 0);
    check_free_functions(10_007, 10_007);
    // `Par::new()` outside every pool is the global pool too.
    let low = Par::new().options(Options::new().priority(Priority::Low));
    check_sorts(&low, &random(10_007, 8), "Par::new() with Low priority");
    assert_eq!(low.sum::<_, u64>(0..100u64), 4950);
}

/// Every free function once, against the serial result: the loops over
/// `len` items, the sorts of `sort_len` elements.
fn check_free_functions(len: usize, sort_len: usize) {
    let n = len as u64;
    let mut v: Vec<u64> = (0..n).rev().collect();
    par::for_each(&mut v, |x| *x += 1);
    assert_eq!(v[0], n);
    let hits = counters(len);
    par::chunks(&v, 7, |i, c| {
        assert_eq!(c[0], n - 7 * i as u64);
        hits[i].fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(
        hits.iter()
            .filter(|h| h.load(Ordering::Relaxed) == 1)
            .count(),
        len.div_ceil(7)
    );
    par::chunks_mut(&mut v, 7, |i, c| c[0] = i as u64);
    assert_eq!(v[7], 1);
    assert_eq!(par::map(0..n, |i| i * i)[len - 1], (n - 1) * (n - 1));
    assert_eq!(
        par::reduce(
            0..n,
            String::new,
            |s, i| s + &(i % 10).to_string(),
            |a, b| a + &b
        ),
        (0..n).map(|i| (i % 10).to_string()).collect::<String>()
    );
    assert_eq!(par::sum::<_, u64>(0..n), n * (n - 1) / 2);
    assert_eq!(par::min(0..n), Some(0));
    assert_eq!(par::max(&v), v.iter().max());
    assert!(par::any(0..n, |i| i == n - 1));
    assert!(par::all(0..n, |i| i < n));
    assert_eq!(par::find_first(0..n, |&i| i > 3 && i % 5 == 0), Some(5));

    let input = random(sort_len, 17);
    let mut expect = input.clone();
    expect.sort();
    let mut expect_desc = input.clone();
    expect_desc.sort_by(|a, b| b.cmp(a));
    let key = |x: &u64| x % 100;
    let mut expect_key = input.clone();
    expect_key.sort_by_key(key);

    let mut w = input.clone();
    par::sort(&mut w);
    assert_same(&w, &expect, "par::sort");
    let mut w = input.clone();
    par::sort_by(&mut w, |a, b| b.cmp(a));
    assert_same(&w, &expect_desc, "par::sort_by");
    let mut w = input.clone();
    par::sort_by_key(&mut w, key);
    assert_same(&w, &expect_key, "par::sort_by_key");
    let mut w = input.clone();
    par::sort_unstable(&mut w);
    assert_same(&w, &expect, "par::sort_unstable");
    let mut w = input.clone();
    par::sort_unstable_by(&mut w, |a, b| b.cmp(a));
    assert_same(&w, &expect_desc, "par::sort_unstable_by");
    let mut w = input.clone();
    par::sort_unstable_by_key(&mut w, key);
    assert!(
        w.windows(2).all(|x| key(&x[0]) <= key(&x[1])),
        "par::sort_unstable_by_key"
    );
}

#[test]
fn loops_and_sorts_nest_inside_loops() {
    let p = pool(3);
    let rows = scale(64, 4);
    // A loop in each item of a loop (the free function finds the pool).
    let sums = p
        .par()
        .map(0..rows as u64, |r| par::sum::<_, u64>(0..r * 100));
    let expect: Vec<u64> = (0..rows as u64).map(|r| (0..r * 100).sum()).collect();
    assert_same(&sums, &expect, "nested sums");
    // A parallel sort in each chunk of a loop (std's sort under Miri).
    let piece = scale(SERIAL_LEN + 1, 50);
    let input = random(piece * scale(6, 2), 5);
    let mut v = input.clone();
    p.par()
        .chunks_mut(&mut v, piece, |_, c| par::sort_unstable(c));
    let mut expect = input;
    for c in expect.chunks_mut(piece) {
        c.sort_unstable();
    }
    assert_same(&v, &expect, "nested sorts");
}

// ---------------------------------------------------------------------
// Parallelism
// ---------------------------------------------------------------------

/// Waits until both workers of `p` have run a job and gone idle, so a
/// loop's first check for idle threads sees them.
fn warm_up(p: &Pool) {
    let (tx, rx) = mpsc::channel();
    for w in 0..p.num_workers() {
        let tx = tx.clone();
        p.spawn_with(Options::new().affinity(Affinity::worker(w)), move || {
            tx.send(()).unwrap()
        })
        .unwrap();
    }
    for _ in 0..p.num_workers() {
        rx.recv_timeout(Duration::from_secs(60)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
}

#[test]
fn two_items_run_on_two_threads_at_once() {
    // Each item waits for the other at a barrier: only two threads
    // running them at the same time get through.
    let p = pool(2);
    warm_up(&p);
    within(
        30,
        "a 2-item loop whose items meet at a barrier",
        move || {
            for _ in 0..scale(20, 2) {
                let barrier = Barrier::new(2);
                p.par().for_each(0..2, |_| {
                    barrier.wait();
                });
            }
        },
    );
}

#[test]
fn a_loop_on_a_fresh_pool_runs_its_two_items_at_once() {
    // As `two_items_run_on_two_threads_at_once`, but right after `build`,
    // before the workers have looked for work (so none counts as idle
    // yet), and with a meeting that gives up instead of a barrier (which
    // would hang).
    let tries = scale(50, 2);
    let give_up = Duration::from_millis(scale(500, 20_000) as u64);
    let mut alone = 0;
    for _ in 0..tries {
        let p = pool(2);
        let arrived = AtomicUsize::new(0);
        let gave_up = AtomicBool::new(false);
        p.par().for_each(0..2, |_| {
            arrived.fetch_add(1, Ordering::SeqCst);
            let start = Instant::now();
            while arrived.load(Ordering::SeqCst) < 2 {
                if start.elapsed() > give_up {
                    gave_up.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::yield_now();
            }
        });
        alone += usize::from(gave_up.into_inner());
    }
    assert_eq!(
        alone, 0,
        "{alone} of {tries} 2-item loops on a new 2-worker pool ran both items on one thread"
    );
}

#[test]
#[cfg_attr(miri, ignore = "measures wall-clock time")]
fn sleeping_items_overlap_across_workers() {
    // 1000 items of 1 ms: a second serially, about 200 ms on 5 threads.
    // Sleeping threads need no core, so this holds on a 2-core machine.
    let p = pool(4);
    warm_up(&p);
    let start = Instant::now();
    p.par()
        .for_each(0..1000, |_| std::thread::sleep(Duration::from_millis(1)));
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(700),
        "1000 x 1 ms took {took:?}"
    );
}
