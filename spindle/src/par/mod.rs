//! Data parallelism over the pool: parallel loops over index ranges and
//! slices, `map` into a `Vec`, reductions, searches that stop early, and
//! parallel sorts.
//!
//! ```
//! use spindle::par;
//!
//! let mut v: Vec<u64> = (0..100_000).rev().collect();
//! par::sort_unstable(&mut v);
//! assert!(v.windows(2).all(|w| w[0] <= w[1]));
//!
//! let squares: Vec<u64> = par::map(&v, |x| x * x);
//! let total: u64 = par::sum(&squares);
//! assert_eq!(total, (0..100_000u64).map(|x| x * x).sum());
//!
//! par::for_each(&mut v, |x| *x += 1);
//! assert_eq!(par::find_first(&v, |x| **x % 1000 == 0), Some(&1000));
//! ```
//!
//! Each function is a plain call on the current thread's pool (the
//! global pool from outside every pool), like [`join`](crate::join). For
//! [`Options`] (priority, affinity), a given pool or a minimum grain, make
//! a [`Par`] ([`Par::new`] or [`Pool::par`](crate::Pool::par)) and call
//! the same methods on it.
//!
//! # What runs where, and what it costs
//!
//! A loop over `n` items on a pool of `t` threads (its workers, and the
//! calling thread if it takes part from outside) works in chunks of
//! `max(n / (256 t), grain)` items (`grain` is 1 unless set). The calling
//! thread first splits the range into a piece per thread (halving it
//! `ceil(log2 t)` times, each second half stealable), then runs chunk
//! after chunk; before each one it looks (a few relaxed
//! loads) whether another thread of the pool is idle and has nothing of
//! this thread's to take. Only then does it split the rest in two: the
//! second half goes where idle threads steal it, and both halves go on
//! the same way. This is lazy binary splitting: a loop splits about as
//! often as threads run out of work, so a loop on a busy pool, or on one
//! thread, costs one check per chunk over the plain serial loop, and an
//! uneven loop (some items far dearer than others) still balances down to
//! one chunk. Set a grain ([`Par::grain`]) when a chunk of `n / (256 t)`
//! items is too little work to be worth a steal (a few microseconds).
//!
//! The sorts are a parallel quicksort (`sort_unstable*`: in place, no
//! allocation) and a parallel merge sort (`sort*`: stable, one buffer of
//! `n` elements), each handing pieces below `n / (8 t)` (quicksort) or
//! `n / (2 t)` (merge sort, whose every level costs a merge and a copy)
//! elements, at least 4096, to the standard library's sort of the same
//! kind. Inputs of up to 4096 elements (on the calling thread, unless an
//! affinity says where), and every input on a pool of one thread, are
//! sorted by the standard library right away.
//!
//! # Panics
//!
//! A panic in a closure or a comparison is re-raised on the caller once
//! every part already started has finished, like [`join`](crate::join)'s
//! (chunks not yet started are skipped). The loop's data stays valid: a
//! panicking sort leaves the slice a permutation of its input, and `map`
//! drops nothing it has not made (values made before the panic are
//! leaked, not dropped).

mod each;
mod fold;
mod items;
mod merge_sort;
mod quick_sort;
mod search;
mod sort;
mod split;

use core::cmp::Ordering;
use core::iter::Sum;

pub use items::{IntoItems, Items};

use crate::options::Options;
use crate::pool::placement::Placement;
use crate::pool::Pool;
use crate::worker::WorkerLocal;
use split::{chunk_for, eager_levels, Split};

/// A parallel loop's settings: the pool it runs in, the [`Options`] of
/// the jobs it splits into, and the least number of items a thread runs
/// at a time. The methods are the module's functions (see [`par`](self)).
///
/// ```
/// use spindle::{par::Par, Options, Priority};
///
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// let background = Par::new().options(Options::new().priority(Priority::Low));
/// let n = background.pool(&pool).map(0..1000u32, |i| i * 2);
/// assert_eq!(n[999], 1998);
/// # Ok::<(), spindle::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Par<'p> {
    pool: Option<&'p Pool>,
    options: Options,
    grain: usize,
}

impl Par<'static> {
    /// The defaults: the current thread's pool (or the global pool),
    /// default options, no minimum grain.
    pub fn new() -> Self {
        Par::default()
    }
}

impl<'p> Par<'p> {
    /// Runs in `pool` (a thread of another pool waits for it as
    /// [`Pool::install`] does).
    pub fn pool<'q>(self, pool: &'q Pool) -> Par<'q> {
        Par {
            pool: Some(pool),
            options: self.options,
            grain: self.grain,
        }
    }

    /// The priority and affinity of every job the loop splits into; the
    /// whole loop runs where they place it.
    ///
    /// # Panics
    ///
    /// The loops panic if the pool cannot honour the affinity (see
    /// [`Pool::spawn_with`](crate::Pool::spawn_with)'s errors).
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The least number of items (chunks, for [`chunks`](Par::chunks))
    /// a thread runs between checks for idle threads, and so the smallest
    /// piece an idle thread can steal. Default 1: the grain is then
    /// `n / (256 t)` for `n` items on `t` threads. 0 is taken as 1.
    pub fn grain(mut self, min_items: usize) -> Self {
        self.grain = min_items;
        self
    }

    /// Runs `f` on a thread of the loop's pool, where the options place
    /// it, with the placement and the pool's thread count.
    fn enter<R, F>(&self, f: F) -> R
    where
        R: Send,
        F: FnOnce(Placement, usize) -> R + Send,
    {
        let op = |w: &WorkerLocal| {
            let registry = w.registry();
            let placement = registry
                .place(&self.options)
                .unwrap_or_else(|e| panic!("spindle::par: {e}"));
            // The threads that can take part: the workers, and the caller
            // if it is the pool's participant (a worker's loop does not
            // count on an outside thread joining in).
            let participant = usize::from(w.index() == registry.num_workers());
            let threads = registry.num_workers() + participant;
            if placement.is_plain() {
                return f(placement, threads);
            }
            let ((), r) = w.join_placed(|| (), || f(placement, threads), placement);
            r
        };
        match self.pool {
            Some(pool) => pool.in_worker(op),
            None => crate::pool::with_worker(op),
        }
    }

    /// The loop engine: `leaf(offset, chunk)` for every chunk of `items`,
    /// results combined left to right.
    fn drive<I, R, L, C>(&self, items: I, leaf: L, combine: C) -> R
    where
        I: Items,
        R: Send,
        L: Fn(usize, I) -> R + Sync,
        C: Fn(R, R) -> R + Sync,
    {
        let (leaf, combine) = (&leaf, &combine);
        self.enter(move |placement, threads| {
            let split = Split {
                chunk: chunk_for(items.len(), threads, self.grain),
                placement,
                leaf,
                combine,
            };
            split.run(items, 0, eager_levels(threads))
        })
    }
}

/// Calls `f` on every item of `items`, in parallel: every index of a
/// range, every `&T` of a slice or every `&mut T` of a mutable slice.
///
/// ```
/// let mut v = vec![1u32; 10_000];
/// spindle::par::for_each(&mut v, |x| *x *= 3);
/// assert!(v.iter().all(|&x| x == 3));
///
/// let hits = std::sync::atomic::AtomicUsize::new(0);
/// spindle::par::for_each(0..1000, |i| {
///     if i % 10 == 0 {
///         hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     }
/// });
/// assert_eq!(hits.into_inner(), 100);
/// ```
pub fn for_each<I: IntoItems>(items: I, f: impl Fn(I::Item) + Sync) {
    Par::new().for_each(items, f)
}

/// Calls `f(index, chunk)` on each chunk of `size` items of `slice`, in
/// parallel (the last chunk may be shorter).
///
/// # Panics
///
/// If `size` is 0.
///
/// ```
/// let v: Vec<u32> = (0..10).collect();
/// let sums = std::sync::Mutex::new(vec![0; 4]);
/// spindle::par::chunks(&v, 3, |i, c| sums.lock().unwrap()[i] = c.iter().sum());
/// assert_eq!(*sums.lock().unwrap(), [3, 12, 21, 9]);
/// ```
pub fn chunks<T: Sync>(slice: &[T], size: usize, f: impl Fn(usize, &[T]) + Sync) {
    Par::new().chunks(slice, size, f)
}

/// Calls `f(index, chunk)` on each chunk of `size` items of `slice`, in
/// parallel, with the chunk mutable (the last one may be shorter).
///
/// # Panics
///
/// If `size` is 0.
///
/// ```
/// let mut image = vec![0u8; 64 * 48];
/// spindle::par::chunks_mut(&mut image, 64, |row, pixels| pixels.fill(row as u8));
/// assert_eq!(image[64 * 47], 47);
/// ```
pub fn chunks_mut<T: Send>(slice: &mut [T], size: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    Par::new().chunks_mut(slice, size, f)
}

/// `f` of every item, in parallel, collected in order into a `Vec` that
/// is allocated once.
///
/// ```
/// let roots: Vec<f64> = spindle::par::map(0..1000u32, |i| f64::from(i).sqrt());
/// assert_eq!(roots[81], 9.0);
/// ```
pub fn map<I: IntoItems, U: Send>(items: I, f: impl Fn(I::Item) -> U + Sync) -> Vec<U> {
    Par::new().map(items, f)
}

/// Folds the items in parallel: each thread folds its chunks from
/// `identity()` with `fold`, and the partial results are combined with
/// `combine`, always left with right, so a `combine` that is associative
/// gives the serial fold's result (also when it is not commutative).
///
/// ```
/// let v: Vec<u64> = (1..=1000).collect();
/// let sum_of_squares = spindle::par::reduce(&v, || 0u64, |acc, x| acc + x * x, |a, b| a + b);
/// assert_eq!(sum_of_squares, 333_833_500);
/// ```
pub fn reduce<I, T>(
    items: I,
    identity: impl Fn() -> T + Sync,
    fold: impl Fn(T, I::Item) -> T + Sync,
    combine: impl Fn(T, T) -> T + Sync,
) -> T
where
    I: IntoItems,
    T: Send,
{
    Par::new().reduce(items, identity, fold, combine)
}

/// The sum of the items (the type's `Sum`, as `Iterator::sum` gives it).
///
/// ```
/// let v: Vec<u32> = (0..1000).collect();
/// let total: u32 = spindle::par::sum(&v);
/// assert_eq!(total, 499_500);
/// ```
pub fn sum<I, S>(items: I) -> S
where
    I: IntoItems,
    S: Sum<I::Item> + Sum<S> + Send,
{
    Par::new().sum(items)
}

/// The least item (the first of equal ones), `None` if there are none.
///
/// ```
/// assert_eq!(spindle::par::min(&[3, 1, 2][..]), Some(&1));
/// ```
pub fn min<I>(items: I) -> Option<I::Item>
where
    I: IntoItems,
    I::Item: Ord + Send,
{
    Par::new().min(items)
}

/// The greatest item (the last of equal ones), `None` if there are none.
///
/// ```
/// assert_eq!(spindle::par::max(0..10u64), Some(9));
/// ```
pub fn max<I>(items: I) -> Option<I::Item>
where
    I: IntoItems,
    I::Item: Ord + Send,
{
    Par::new().max(items)
}

/// True if `f` holds for some item. Stops early: once one is found, no
/// new chunk starts.
///
/// ```
/// assert!(spindle::par::any(0..1_000_000u64, |i| i * i == 998_001));
/// ```
pub fn any<I: IntoItems>(items: I, f: impl Fn(I::Item) -> bool + Sync) -> bool {
    Par::new().any(items, f)
}

/// True if `f` holds for every item. Stops early at the first that fails.
///
/// ```
/// assert!(spindle::par::all(&[2, 4, 6][..], |x| x % 2 == 0));
/// ```
pub fn all<I: IntoItems>(items: I, f: impl Fn(I::Item) -> bool + Sync) -> bool {
    Par::new().all(items, f)
}

/// The first item (in order) for which `f` holds. Stops early: chunks
/// after one that found an item do not run.
///
/// ```
/// let v: Vec<u32> = (0..10_000).collect();
/// assert_eq!(spindle::par::find_first(&v, |x| **x > 500 && **x % 7 == 0), Some(&504));
/// ```
pub fn find_first<I>(items: I, f: impl Fn(&I::Item) -> bool + Sync) -> Option<I::Item>
where
    I: IntoItems,
    I::Item: Send,
{
    Par::new().find_first(items, f)
}

/// Sorts `v` in parallel, stably (equal elements keep their order): a
/// merge sort over the standard library's `sort`, with one buffer of
/// `v.len()` elements.
///
/// ```
/// let mut v = vec![5, 3, 9, 1];
/// spindle::par::sort(&mut v);
/// assert_eq!(v, [1, 3, 5, 9]);
/// ```
pub fn sort<T: Ord + Send + Sync>(v: &mut [T]) {
    Par::new().sort(v)
}

/// [`sort`] with a comparison function.
///
/// ```
/// let mut v = vec![5, 3, 9, 1];
/// spindle::par::sort_by(&mut v, |a, b| b.cmp(a));
/// assert_eq!(v, [9, 5, 3, 1]);
/// ```
pub fn sort_by<T: Send + Sync>(v: &mut [T], compare: impl Fn(&T, &T) -> Ordering + Sync) {
    Par::new().sort_by(v, compare)
}

/// [`sort`] by a key (computed at each comparison, as std's
/// `sort_by_key` does).
///
/// ```
/// let mut v = vec![(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd')];
/// spindle::par::sort_by_key(&mut v, |p| p.0);
/// assert_eq!(v, [(1, 'b'), (1, 'd'), (2, 'a'), (2, 'c')]);
/// ```
pub fn sort_by_key<T: Send + Sync, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K + Sync) {
    Par::new().sort_by_key(v, key)
}

/// Sorts `v` in parallel, in place, without allocating; equal elements
/// may be reordered: a quicksort over the standard library's
/// `sort_unstable`.
///
/// ```
/// let mut v: Vec<u32> = (0..10_000).map(|i| i * 7919 % 10_007).collect();
/// spindle::par::sort_unstable(&mut v);
/// assert!(v.windows(2).all(|w| w[0] <= w[1]));
/// ```
pub fn sort_unstable<T: Ord + Send + Sync>(v: &mut [T]) {
    Par::new().sort_unstable(v)
}

/// [`sort_unstable`] with a comparison function.
///
/// ```
/// let mut v = vec![1.5, -0.5, 3.0];
/// spindle::par::sort_unstable_by(&mut v, |a: &f64, b| a.total_cmp(b));
/// assert_eq!(v, [-0.5, 1.5, 3.0]);
/// ```
pub fn sort_unstable_by<T: Send + Sync>(v: &mut [T], compare: impl Fn(&T, &T) -> Ordering + Sync) {
    Par::new().sort_unstable_by(v, compare)
}

/// [`sort_unstable`] by a key (computed at each comparison).
///
/// ```
/// let mut v = vec!["ccc", "a", "bb"];
/// spindle::par::sort_unstable_by_key(&mut v, |s| s.len());
/// assert_eq!(v, ["a", "bb", "ccc"]);
/// ```
pub fn sort_unstable_by_key<T: Send + Sync, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K + Sync) {
    Par::new().sort_unstable_by_key(v, key)
}
