//! `JoinHandle`: await (or block on) a task's output, or abort it.

use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};

use super::error::JobError;
use super::raw::Header;

/// An owned permission to await a spawned task's output.
///
/// It is a future: `.await` gives `Ok(value)`, or a [`JobError`] if the
/// task panicked or was cancelled. [`join`](Self::join) blocks instead
/// (running other jobs while it waits, on a pool thread). Dropping the
/// handle detaches the task: it still runs to completion, and a panic
/// nobody joins goes to the pool's panic handler.
///
/// ```
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// let handle = pool.spawn_async(async { 6 * 7 });
/// assert_eq!(pool.block_on(handle).unwrap(), 42);
/// # Ok::<(), spindle::Error>(())
/// ```
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    /// Set once the output was taken.
    done: bool,
    _output: PhantomData<T>,
}

// SAFETY: the handle gives access to the task's `T` output (moved out once)
// and to atomic state; `T: Send` because the output crosses threads.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only reads the state word or aborts (atomic).
unsafe impl<T: Send> Sync for JoinHandle<T> {}
// A panic while a handle is in use leaves nothing half-updated: the
// handle only reads the task's atomic state and takes its output once
// (as tokio's join handles are). So it may cross `catch_unwind`, as the
// boundary of a wasm-bindgen `async` export does with unwinding panics.
impl<T> std::panic::UnwindSafe for JoinHandle<T> {}
impl<T> std::panic::RefUnwindSafe for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    ///
    /// `raw` is a task with output `T` whose join reference (and
    /// `JOIN_INTEREST`) this handle takes over.
    pub(crate) unsafe fn new(raw: NonNull<Header>) -> Self {
        Self {
            raw,
            done: false,
            _output: PhantomData,
        }
    }

    /// The task (for `AbortHandle`).
    pub(super) fn raw(&self) -> NonNull<Header> {
        self.raw
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle's reference keeps the task alive.
        unsafe { self.raw.as_ref() }
    }

    /// Requests cancellation: a task not yet finished stops at its next
    /// suspension point (its future is dropped on a worker) and the handle
    /// yields [`JobError`] with [`is_cancelled`](JobError::is_cancelled).
    /// A task that already finished keeps its result.
    pub fn abort(&self) {
        super::abort::abort(self.raw);
    }

    /// True once the task has finished (its output is ready to take).
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }

    /// Blocks until the task finishes and returns its output. On a pool
    /// thread the caller runs other jobs meanwhile (or, with fibers,
    /// suspends its fiber); elsewhere the thread sleeps.
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(1).build()?;
    /// let h = pool.spawn_async(async { "done" });
    /// assert_eq!(h.join().unwrap(), "done");
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn join(self) -> Result<T, JobError> {
        super::block::run_here(self)
    }

    /// Takes the output; the task is complete and we have join interest.
    fn take(&mut self) -> Result<T, JobError> {
        let mut out: Poll<Result<T, JobError>> = Poll::Pending;
        // SAFETY: complete, and the handle owns the output (JOIN_INTEREST);
        // `out` has the task's output type (the handle's `T`).
        unsafe { (self.header().vtable.take_output)(self.raw, (&raw mut out).cast()) };
        self.done = true;
        match out {
            Poll::Ready(r) => r,
            Poll::Pending => unreachable!("spindle: a task's output was taken twice"),
        }
    }

    /// Stores `waker` in the (handle-owned) slot.
    fn write_waker(&self, waker: &Waker) {
        // SAFETY: JOIN_WAKER is clear and the task not complete (checked by
        // the caller's state read), so the slot is the handle's.
        unsafe {
            Header::trailer(self.raw)
                .as_ref()
                .waker
                .with_mut(|w| *w = Some(waker.clone()))
        };
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JobError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "spindle: JoinHandle polled after it returned");
        let state = &self.header().state;
        let s = state.load();
        if s.is_complete() {
            return Poll::Ready(self.take());
        }
        if s.has_join_waker() {
            // SAFETY: JOIN_WAKER set and not complete: the task only reads
            // the slot (to wake) after completing; we only read it here.
            let same = unsafe {
                Header::trailer(self.raw)
                    .as_ref()
                    .waker
                    .with(|w| (*w).as_ref().is_some_and(|w| w.will_wake(cx.waker())))
            };
            if same {
                return Poll::Pending;
            }
            if state.unset_join_waker().is_err() {
                return Poll::Ready(self.take());
            }
        }
        self.write_waker(cx.waker());
        match state.set_join_waker() {
            Ok(()) => Poll::Pending,
            Err(_) => Poll::Ready(self.take()),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let prev = self.header().state.drop_join_interest();
        if prev.is_complete() {
            if !self.done {
                // The output is ours and nobody will read it. Its drop may
                // panic: that goes to the pool's handler (not to whoever
                // drops the handle), and the task is still released.
                let take = self.header().vtable.take_output;
                let raw = self.raw;
                // SAFETY: complete with our interest: we own the output.
                let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
                    take(raw, core::ptr::null_mut())
                }));
                if let Err(p) = dropped {
                    // SAFETY: the trailer lives as long as the task.
                    let pool = unsafe { Header::trailer(self.raw).as_ref().pool };
                    hand_to_pool(pool, p);
                }
            }
        } else {
            // The waker slot is ours again: empty it.
            // SAFETY: JOIN_WAKER was cleared with JOIN_INTEREST while the
            // task was not complete, so the task never reads the slot.
            unsafe {
                Header::trailer(self.raw)
                    .as_ref()
                    .waker
                    .with_mut(|w| *w = None)
            };
        }
        if self.header().state.release(1) {
            // SAFETY: last reference.
            unsafe { (self.header().vtable.dealloc)(self.raw) };
        }
    }
}

/// Gives a panic to pool `pool`'s handler if the pool is still alive;
/// otherwise reports it to `tracing` (feature; the panic hook printed it
/// already) and drops it.
#[cold]
fn hand_to_pool(pool: u64, payload: Box<dyn std::any::Any + Send>) {
    let mut payload = Some(payload);
    let handled = crate::pool::registry::Registry::with_live(pool, |r| {
        if let Some(p) = payload.take() {
            r.handle_panic(p);
        }
    });
    if handled.is_none() {
        if let Some(p) = payload.take() {
            crate::observe::warn(format_args!(
                "dropping a task's output panicked after its pool was gone ({})",
                crate::unwind::payload_message(&*p)
            ));
            crate::unwind::drop_payload(p);
        }
    }
}

impl<T> core::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
