//! Running a future to completion on the calling thread: `Pool::block_on`
//! and `JoinHandle::join`.

use core::future::Future;
use core::pin::pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};
use std::task::Wake;

use crate::facade::{Arc, AtomicBool, Mutex, Ordering};
use crate::pool::Pool;
use crate::sync::block::{block, Help};
use crate::sync::wait_cell::WaitCell;

/// The waker of a blocked caller: a flag for wakes that come while it is
/// polling, and the cell it blocks on between polls.
#[derive(Default)]
struct Signal {
    /// Woken since the last poll began.
    woken: AtomicBool,
    /// The cell of the wait in progress, if the caller blocks now.
    waiting: Mutex<Option<NonNull<WaitCell>>>,
}

// SAFETY: the cell pointer is followed only by the waker that takes it out
// under the lock, while the caller blocks on the cell (so it is alive
// until that waker sets it); `WaitCell` is `Sync`.
unsafe impl Send for Signal {}
// SAFETY: as above.
unsafe impl Sync for Signal {}

impl Signal {
    /// Lists `cell` as the one to set, unless a wake came first (then
    /// returns false and the caller polls again). The check is under the
    /// lock the waker takes after setting `woken`: either we see the flag
    /// or it finds the cell.
    fn register(&self, cell: &WaitCell) -> bool {
        let mut slot = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if self.woken.load(Ordering::Acquire) {
            return false;
        }
        *slot = Some(NonNull::from(cell));
        true
    }
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        let cell = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(cell) = cell {
            // SAFETY: a listed cell is alive until set, and only the waker
            // that took it out of the slot sets it.
            unsafe { WaitCell::set(cell.as_ptr()) };
        }
    }
}

/// Polls `future` on this thread until it is ready. Between polls a pool
/// thread runs other jobs (or suspends its fiber); any other thread
/// sleeps until the future's waker is called.
pub(crate) fn run_here<F: Future>(future: F) -> F::Output {
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(signal.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        // Cleared before the poll, so a wake during the poll is seen. A
        // swap, not a store: a read-modify-write reads the latest value,
        // so either it reads a wake's `true` (and acquires what the waker
        // did, e.g. completing the task the future checks) or that wake's
        // `true` comes after it and `register` sees it. A plain store could
        // sit in a store buffer past the poll's loads and erase the wake.
        signal.woken.swap(false, Ordering::Acquire);
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        let cell = WaitCell::new();
        if signal.register(&cell) {
            // Listed: the next wake sets the cell (a pool thread runs
            // other jobs, or suspends its fiber, meanwhile).
            block(&cell, Help::Allowed);
        }
    }
}

impl Pool {
    /// Runs `future` to completion on the calling thread and returns its
    /// output. While the future is pending the caller runs the pool's jobs
    /// (it takes the pool's participant slot, as [`install`](Pool::install)
    /// does); if another outside thread holds that slot, it sleeps until
    /// the future is woken. The future need not be `Send`: it never leaves
    /// this thread. While it holds the participant slot, tasks it spawns
    /// with [`spindle::spawn_async`] go to this pool.
    ///
    /// [`spindle::spawn_async`]: crate::spawn_async
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let total = pool.block_on(async {
    ///     let parts: Vec<_> = (0..4u64)
    ///         .map(|i| spindle::spawn_async(async move { i * 10 }))
    ///         .collect();
    ///     let mut total = 0;
    ///     for p in parts {
    ///         total += p.await.unwrap();
    ///     }
    ///     total
    /// });
    /// assert_eq!(total, 60);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.with_local(|_| run_here(future))
    }
}
