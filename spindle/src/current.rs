//! Where the calling thread stands: `current_num_threads` and
//! `current_thread_index`, for code that sizes its splits or indexes
//! per-thread buffers by the pool it runs in.

use crate::pool::handle::global;
use crate::worker::with_current;

/// How many threads can run the current pool's jobs at once: its workers
/// plus the one participating thread (see [`Pool`](crate::Pool)), that is
/// `pool.num_workers() + 1`. The current pool is the one whose worker or
/// participant the calling thread is; anywhere else it is the global pool
/// (the one behind [`join`](crate::join) and the other free functions),
/// which this starts if it is not running yet.
///
/// Use it to size a split: more parts than this add overhead, fewer leave
/// threads idle.
///
/// ```
/// let pool = spindle::Pool::builder().workers(3).build()?;
/// assert_eq!(pool.install(spindle::current_num_threads), 4);
/// let (tx, rx) = std::sync::mpsc::channel();
/// pool.spawn(move || tx.send(spindle::current_num_threads()).unwrap());
/// assert_eq!(rx.recv().unwrap(), 4);
/// # Ok::<(), spindle::Error>(())
/// ```
pub fn current_num_threads() -> usize {
    match with_current(|w| w.map(|w| w.registry().num_slots())) {
        Some(n) => n,
        None => global().num_workers() + 1,
    }
}

/// The index of the calling thread's place in the current pool, in
/// `0..current_num_threads()`: workers are `0..num_workers()` (the index
/// [`Affinity::worker`](crate::Affinity::worker) takes, as
/// [`worker_index`](crate::worker_index) returns it), and a thread that
/// takes part from outside (in `install`, `join`, `scope`, `wait` or
/// `block_on`) is `num_workers()`. `None` on a thread that is neither.
///
/// Only one thread at a time holds any index, so a slice of
/// `current_num_threads()` per-thread buffers indexed by it is never
/// shared between two running threads. Do not hold such a buffer across a
/// wait (`join`, `scope`, `Counter`, `Mutex`...), though: while a job
/// waits, its thread runs other jobs (on another fiber, or on top of the
/// waiting one), and those get the same index.
///
/// ```
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// assert_eq!(spindle::current_thread_index(), None);
/// // The caller takes part as the pool's participant.
/// assert_eq!(pool.install(spindle::current_thread_index), Some(2));
/// let (tx, rx) = std::sync::mpsc::channel();
/// pool.spawn(move || tx.send(spindle::current_thread_index()).unwrap());
/// assert!(matches!(rx.recv().unwrap(), Some(0 | 1)));
/// # Ok::<(), spindle::Error>(())
/// ```
pub fn current_thread_index() -> Option<usize> {
    with_current(|w| w.map(|w| w.index()))
}
