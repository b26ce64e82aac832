//! `join`: the fork-join primitive, as a free function.

use crate::error::Error;
use crate::options::Options;
use crate::pool::{global, with_worker};
use crate::worker::{with_current, Here};

/// Runs `a` and `b`, potentially in parallel, on the current thread's pool
/// (or the global pool from outside any pool), and returns both results.
///
/// `a` runs on the calling thread. `b` is kept in the worker's private
/// stack and runs right after `a` unless an idle thread took it; then the
/// caller runs other jobs until `b` is done. Nothing is allocated.
///
/// Both closures always run, also when `a` panics. A panic is re-raised
/// after both have finished; if both panic, `a`'s is re-raised and `b`'s
/// goes to the pool's panic handler (see
/// [`Builder::panic_handler`](crate::Builder::panic_handler)).
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 {
///         return n;
///     }
///     let (a, b) = spindle::join(|| fib(n - 1), || fib(n - 2));
///     a + b
/// }
/// assert_eq!(fib(20), 6765);
/// ```
///
/// Both closures must be `Send`:
///
/// ```compile_fail
/// let rc = std::rc::Rc::new(1);
/// spindle::join(|| *rc, || 2);
/// ```
#[inline(always)]
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    // The hot path takes the slot through a witness rather than a
    // closure: moving `a` and `b` into a closure's environment stores them
    // with narrow moves that the join then reads back with wide ones, a
    // store-forwarding stall that made skynet 50% slower.
    let here = Here::new();
    match here.slot() {
        Some(w) => w.join(a, b),
        None => join_outside(a, b),
    }
}

/// [`join`] with [`Options`] for `b` (see [`Pool::join_with`](crate::Pool::join_with)), on the
/// current thread's pool or the global pool.
///
/// # Errors
///
/// An affinity the pool cannot honour; then neither closure runs.
///
/// ```
/// use spindle::{Options, Priority};
///
/// let (a, b) = spindle::join_with(Options::new().priority(Priority::Low), || 1, || 2)?;
/// assert_eq!(a + b, 3);
/// # Ok::<(), spindle::Error>(())
/// ```
pub fn join_with<A, B, RA, RB>(options: Options, a: A, b: B) -> Result<(RA, RB), Error>
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    with_current(|w| {
        let Some(w) = w else {
            return global().join_with(options, a, b);
        };
        let placement = w.registry().place(&options)?;
        if placement.is_plain() {
            return Ok(w.join(a, b));
        }
        Ok(w.join_placed(a, b, placement))
    })
}

/// `join` from a thread outside every pool: runs it on the global pool.
#[cold]
#[inline(never)]
fn join_outside<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    with_worker(|w| w.join(a, b))
}
