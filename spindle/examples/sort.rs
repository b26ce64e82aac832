//! A parallel stable merge sort with `join`: both the sort and its merges
//! split in two until the pieces are small, and idle threads steal the
//! halves. Checked against, and timed beside, std's `sort`.
//!
//! ```sh
//! cargo run --release -p spindle --example sort            # 2,000,000 u64
//! cargo run --release -p spindle --example sort -- 10000000
//! ```

use std::time::Instant;

/// Below this many elements, std's sort and a plain merge are faster than
/// splitting further.
const GRAIN: usize = 4 * 1024;

/// Sorts `v` stably, using `buf` (same length) as scratch space.
fn merge_sort<T: Ord + Copy + Send + Sync>(v: &mut [T], buf: &mut [T]) {
    if v.len() <= GRAIN {
        v.sort();
        return;
    }
    let mid = v.len() / 2;
    {
        let (left, right) = v.split_at_mut(mid);
        let (buf_l, buf_r) = buf.split_at_mut(mid);
        spindle::join(|| merge_sort(left, buf_l), || merge_sort(right, buf_r));
    }
    let (left, right) = v.split_at(mid);
    merge(left, right, buf);
    v.copy_from_slice(buf);
}

/// Merges sorted `a` and `b` into `out` (stable: `a` first on ties),
/// splitting the work in two while it is big: the middle element of the
/// longer run, and where it falls in the other, cut both into halves that
/// merge independently.
fn merge<T: Ord + Copy + Send + Sync>(a: &[T], b: &[T], out: &mut [T]) {
    debug_assert_eq!(a.len() + b.len(), out.len());
    if out.len() <= GRAIN {
        merge_serial(a, b, out);
        return;
    }
    let (ia, ib) = if a.len() >= b.len() {
        let ia = a.len() / 2;
        // Elements of `b` equal to a[ia] go after it (they come later).
        (ia, b.partition_point(|x| x < &a[ia]))
    } else {
        let ib = b.len() / 2;
        // Elements of `a` equal to b[ib] go before it.
        (a.partition_point(|x| x <= &b[ib]), ib)
    };
    let (out_l, out_r) = out.split_at_mut(ia + ib);
    spindle::join(
        || merge(&a[..ia], &b[..ib], out_l),
        || merge(&a[ia..], &b[ib..], out_r),
    );
}

fn merge_serial<T: Ord + Copy>(a: &[T], b: &[T], out: &mut [T]) {
    let (mut i, mut j) = (0, 0);
    for slot in out.iter_mut() {
        if j == b.len() || (i < a.len() && a[i] <= b[j]) {
            *slot = a[i];
            i += 1;
        } else {
            *slot = b[j];
            j += 1;
        }
    }
}

fn main() -> Result<(), spindle::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("usage: sort [number of elements]"))
        .unwrap_or(2_000_000);
    let pool = spindle::Pool::builder().build()?;
    // xorshift: the same pseudo-random input on every run.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let input: Vec<u64> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 1_000_000 // duplicates, so stability matters
        })
        .collect();

    let mut expected = input.clone();
    let t = Instant::now();
    expected.sort();
    let serial = t.elapsed();

    let mut v = input.clone();
    let mut buf = vec![0u64; n];
    let t = Instant::now();
    pool.install(|| merge_sort(&mut v, &mut buf));
    let parallel = t.elapsed();
    assert_eq!(v, expected, "the parallel sort disagrees with std's");

    // Stability: sort (key, original index) pairs by key only.
    let mut pairs: Vec<Key> = input.iter().enumerate().map(|(i, &k)| Key(k, i)).collect();
    let mut buf = vec![Key(0, 0); n];
    pool.install(|| merge_sort(&mut pairs, &mut buf));
    assert!(
        pairs
            .windows(2)
            .all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)),
        "equal keys changed order"
    );

    println!(
        "{n} u64 on {} threads: spindle merge sort {parallel:.2?}, std sort {serial:.2?} ({:.2}x)",
        pool.num_workers() + 1,
        serial.as_secs_f64() / parallel.as_secs_f64(),
    );
    Ok(())
}

/// A key with its original position; ordered by the key alone.
#[derive(Clone, Copy, Debug)]
struct Key(u64, usize);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}
