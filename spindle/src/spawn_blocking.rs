//! `spawn_blocking`: run blocking code (file I/O, DNS, FFI, a lock held
//! long) on threads apart from the workers, and await it as a task.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::{Arc, Mutex};

use crate::pool::Pool;
use crate::task::JoinHandle;

/// Where a blocking call leaves its result for the task that awaits it.
struct Slot<T> {
    state: Mutex<SlotState<T>>,
}

struct SlotState<T> {
    result: Option<std::thread::Result<T>>,
    waker: Option<Waker>,
    /// The call was dropped without running (no thread could be had).
    dropped: bool,
}

impl<T> Slot<T> {
    fn finish(&self, f: impl FnOnce(&mut SlotState<T>)) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s);
        let waker = s.waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The call as queued: runs `f` and fills the slot; dropped unrun, it
/// marks the slot so.
struct Call<F, T> {
    f: Option<F>,
    slot: Arc<Slot<T>>,
}

impl<F: FnOnce() -> T, T> Call<F, T> {
    fn run(mut self) {
        let f = self.f.take().expect("run once");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        self.slot.finish(|s| s.result = Some(r));
    }
}

impl<F, T> Drop for Call<F, T> {
    fn drop(&mut self) {
        if self.f.is_some() {
            self.slot.finish(|s| s.dropped = true);
        }
    }
}

/// The awaiting side.
struct Wait<T> {
    slot: Arc<Slot<T>>,
}

impl<T> Future for Wait<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        match s.result.take() {
            Some(Ok(v)) => Poll::Ready(v),
            // Re-raised here, in the task: its handle reports the panic.
            Some(Err(p)) => {
                drop(s);
                std::panic::resume_unwind(p)
            }
            None if s.dropped => {
                panic!("spindle: spawn_blocking: the system refused a thread for the call")
            }
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Pool {
    /// Runs `f` on one of the pool's blocking threads, a set apart from
    /// the workers, and returns a handle to await (or [`join`](JoinHandle::join))
    /// its result. Use it for code that blocks (file I/O, DNS, FFI, a long
    /// lock): on a worker it would stall that worker's share of the pool.
    ///
    /// The threads start as calls come, up to
    /// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)
    /// (then calls queue), and each exits after
    /// [`blocking_keep_alive`](crate::Builder::blocking_keep_alive) with
    /// nothing to do. They are not workers: [`worker_index`](crate::worker_index)
    /// is `None` there, and they never run the pool's jobs.
    ///
    /// A panic in `f` comes back as the handle's [`JobError`](crate::JobError)
    /// (`is_panic`). [`JoinHandle::abort`] stops the waiting, not the call:
    /// blocking code cannot be interrupted, and runs to its end. Dropping
    /// the pool does not wait for blocking calls.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let h = pool.spawn_blocking(|| {
    ///     std::thread::sleep(std::time::Duration::from_millis(5));
    ///     spindle::worker_index()
    /// });
    /// assert_eq!(h.join().unwrap(), None);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState {
                result: None,
                waker: None,
                dropped: false,
            }),
        });
        let call = Call {
            f: Some(f),
            slot: slot.clone(),
        };
        self.registry()
            .blocking
            .submit(Box::new(move || call.run()));
        self.spawn_async(Wait { slot })
    }

    /// Blocking threads alive now (for tests and monitoring).
    #[doc(hidden)]
    pub fn __blocking_threads(&self) -> usize {
        self.registry().blocking.threads()
    }
}

/// [`Pool::spawn_blocking`] on the pool of the calling thread (a worker,
/// or a thread waiting on a pool as its participant), else the global
/// pool.
///
/// ```
/// let answer = spindle::spawn_blocking(|| 6 * 7).join().unwrap();
/// assert_eq!(answer, 42);
/// ```
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Pool::current() {
        Some(pool) => pool.spawn_blocking(f),
        None => crate::pool::global().spawn_blocking(f),
    }
}
