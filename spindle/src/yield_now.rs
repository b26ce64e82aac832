//! `yield_now`: let other work run, then continue.

use crate::worker::with_current;

/// Lets other work run, then returns.
///
/// From a job on a pool built with [`fibers`](crate::Builder::fibers): the
/// job's fiber goes to the back of its worker's ready fibers, and the
/// worker resumes the ones ahead of it, or runs one other job on a fresh
/// fiber, before coming back to it. Without fibers (or with every fiber
/// of the worker in use), and outside every pool: the operating system's
/// `yield` only. Another job is never run on top of the yielding one: it
/// could want a lock the yielding job holds.
///
/// ```
/// let pool = spindle::Pool::builder().workers(1).fibers(4).build()?;
/// let (a, b) = pool.join(
///     || { spindle::yield_now(); 1 },
///     || 2,
/// );
/// assert_eq!(a + b, 3);
/// # Ok::<(), spindle::Error>(())
/// ```
pub fn yield_now() {
    with_current(|w| match w {
        Some(w) => w.yield_now(),
        None => std::thread::yield_now(),
    })
}
