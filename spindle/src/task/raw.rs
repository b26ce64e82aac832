//! One async task in memory, and everything that runs or wakes it.
//!
//! A task is one allocation, a [`Cell`]:
//!
//! ```text
//!   offset 0   Header   (64 bytes, one cache line, asserted)
//!                JobHeader: `execute` = this task's run function, so the
//!                           task travels through the same deques and
//!                           injector as every other job
//!                State:     the packed state word (`state.rs`)
//!                vtable:    the functions that know the future's type
//!                registry:  the pool, without a reference count (what
//!                           keeps it alive: see the field's docs)
//!                links:     the pool's task list (`pool/tasks.rs`)
//!   offset 64  Trailer  the join waker (see `state.rs` for who owns it)
//!   then       Stage<F> the future, then its output
//! ```
//!
//! The header and trailer sit at fixed offsets whatever the future's type,
//! so a `JoinHandle` reaches the waker slot without the vtable.

use core::alloc::Layout;
use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::alloc;
use super::error::JobError;
use super::poll_record::{Polling, POLLING};
use super::schedule::{schedule, Queue};
use super::state::Shutdown;
use super::state::{State, ToIdle, ToRunning, Wake};
use crate::facade::UnsafeCell;
use crate::job::{JobHeader, JobRef};
use crate::pool::registry::{Placement, Registry};
use crate::pool::tasks::{Links, TaskHooks};
use crate::unwind::drop_payload;
use crate::worker;

/// The functions that depend on the future's type.
pub(crate) struct Vtable {
    /// Drops the future and completes the task as cancelled. The caller
    /// holds `RUNNING`; `refs` references are released after.
    pub(crate) cancel: unsafe fn(NonNull<Header>, refs: usize),
    /// Moves the output into `*dst` (a `Poll<Result<T, JobError>>`), or
    /// drops it if `dst` is null. The task is complete; the caller has the
    /// output's ownership (see `state.rs`).
    pub(crate) take_output: unsafe fn(NonNull<Header>, dst: *mut ()),
    /// Drops the cell and frees its memory.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
}

/// The first 64 bytes of every task.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) job: JobHeader,
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// The pool. Alive while the task is unfinished: while the pool lives
    /// its handle and workers hold the registry (queued and running tasks
    /// are theirs to run); after the pool's drop, the task list holds it
    /// while any task is listed (`list.rs`), and every task still queued
    /// then is listed (shutdown took the rest).
    registry: *const Registry,
    pub(crate) links: Links,
}

#[cfg(not(loom))]
const _: () = assert!(
    core::mem::size_of::<Header>() <= 64,
    "task header exceeds a cache line"
);
const _: () = assert!(core::mem::offset_of!(Header, job) == 0);

/// The join waker slot, and the pool's number.
#[repr(C)]
pub(crate) struct Trailer {
    pub(crate) waker: UnsafeCell<Option<Waker>>,
    /// `Registry::id` of the task's pool: how a handle that outlives the
    /// pool (and so may not touch `Header::registry`) finds out whether
    /// the pool is still there, to give it a panic.
    pub(crate) pool: u64,
}

/// What the task holds: the future, then its output.
enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JobError>),
    Consumed,
}

/// The whole allocation.
#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    trailer: Trailer,
    stage: UnsafeCell<Stage<F>>,
}

/// Where the trailer is in every cell.
const TRAILER_OFFSET: usize = core::mem::size_of::<Header>();

impl Header {
    /// The pool this task schedules on. Valid until the task completes.
    ///
    /// # Safety
    ///
    /// The task is not complete, and the caller keeps it from completing
    /// while it uses the result (it holds `RUNNING`, or set `NOTIFIED` for
    /// a queue entry that has not been pushed yet).
    pub(crate) unsafe fn registry(&self) -> &Registry {
        // SAFETY: see the field: unfinished tasks keep it alive one way or
        // the other, and the caller keeps this one unfinished.
        unsafe { &*self.registry }
    }

    /// The join waker slot.
    pub(crate) fn trailer(this: NonNull<Header>) -> NonNull<Trailer> {
        // SAFETY: every header is the start of a `Cell`, whose trailer
        // follows at a fixed offset (repr(C), header size a multiple of 8).
        unsafe { this.byte_add(TRAILER_OFFSET).cast() }
    }
}

/// Allocates a task for `future` on `registry`, with the state of a
/// freshly spawned task (queued, three references). Returns its header;
/// the caller inserts it in the task list and queues it.
pub(crate) fn new_task<F>(future: F, registry: &Registry, placement: Placement) -> NonNull<Header>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let cell = Cell {
        header: Header {
            job: JobHeader::with_options(run::<F>, placement.priority, placement.affinity),
            state: State::new(),
            vtable: &Vtable {
                cancel: cancel::<F>,
                take_output: take_output::<F>,
                dealloc: dealloc::<F>,
            },
            registry,
            links: Links::new(),
        },
        trailer: Trailer {
            waker: UnsafeCell::new(None),
            pool: registry.id(),
        },
        stage: UnsafeCell::new(Stage::Running(future)),
    };
    let p = alloc::alloc(Layout::new::<Cell<F>>()).cast::<Cell<F>>();
    // SAFETY: freshly allocated for exactly this layout.
    unsafe { p.as_ptr().write(cell) };
    p.cast()
}

/// The queue entry for a task, tagged with the task's options.
pub(crate) fn job_ref(header: NonNull<Header>) -> JobRef {
    // SAFETY: the header lives until its references are gone, and the
    // queue entry holds one (the `NOTIFIED` rule in `state.rs`).
    unsafe { JobRef::from_header(header.cast()) }
}

/// `yield_async`'s wake: marks the poll as yielding and wakes the task.
/// When `waker` is the waker of the task being polled on this thread (the
/// common case: `yield_async().await` directly in a task), the wake is
/// recorded for the poller instead, which saves the wake's atomic
/// read-modify-write: the poller sets `NOTIFIED` in the transition it
/// makes anyway.
pub(crate) fn yield_wake(waker: &Waker) {
    let in_place = POLLING.with(|p| {
        let mut poll = p.get();
        let own = !poll.task.is_null()
            && core::ptr::eq(waker.data(), poll.task.cast())
            && core::ptr::eq(waker.vtable(), &WAKER_VTABLE);
        poll.yielded = true;
        poll.woken_in_place |= own;
        p.set(poll);
        own
    });
    if !in_place {
        waker.wake_by_ref();
    }
}

/// The job function of a task: one poll (or cancellation).
///
/// # Safety
///
/// `job` is the header of a `Cell<F>` taken from a queue (its entry's
/// reference is ours).
unsafe fn run<F>(job: NonNull<JobHeader>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let header = job.cast::<Header>();
    let cell = job.cast::<Cell<F>>();
    // SAFETY: live while we hold the queue entry's reference.
    let h = unsafe { header.as_ref() };
    let cancel_now = match h.state.to_running() {
        ToRunning::Skip => {
            if h.state.release(1) {
                // SAFETY: that was the last reference.
                unsafe { (h.vtable.dealloc)(header) };
            }
            return;
        }
        ToRunning::Cancel => true,
        // A pool that is shutting down cancels its tasks instead of
        // polling them (a task that keeps waking itself would otherwise
        // keep the pool alive).
        // SAFETY: we hold RUNNING.
        ToRunning::Poll => unsafe { h.registry() }.is_terminating(),
    };
    if cancel_now {
        // SAFETY: we hold RUNNING and the poll's reference.
        unsafe { cancel::<F>(header, 2) };
        return;
    }
    let outer = POLLING.with(|p| p.replace(Polling::of(header.as_ptr())));
    // SAFETY: the waker borrows our reference (ManuallyDrop: no release).
    let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw_waker(header)) });
    let mut cx = Context::from_waker(&waker);
    let span = crate::observe::span(crate::observe::Kind::Task, crate::observe::Name::of::<F>());
    let polled = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: RUNNING gives us the stage; the future never moves (it
        // lives in the cell until dropped in place).
        unsafe {
            cell.as_ref().stage.with_mut(|s| match &mut *s {
                Stage::Running(f) => Pin::new_unchecked(f).poll(&mut cx),
                _ => unreachable!("spindle: polled a finished task"),
            })
        }
    }));
    drop(span);
    let this_poll = POLLING.with(|p| p.replace(outer));
    debug_assert!(
        core::ptr::eq(this_poll.task, header.as_ptr()),
        "spindle: another poll's record was current at the end of this one"
    );
    match polled {
        Ok(Poll::Pending) if !h.links.is_listed() && !list_before_idle(header) => {
            // The pool is being dropped: it would never find this task.
            // SAFETY: we still hold RUNNING and the poll's reference.
            unsafe { cancel::<F>(header, 2) }
        }
        Ok(Poll::Pending) => match h.state.to_idle(this_poll.woken_in_place) {
            ToIdle::Idle => {}
            // SAFETY: notified, not queued: the poll's reference is the
            // queue entry's now.
            ToIdle::Requeue => unsafe {
                schedule(
                    header,
                    Queue::Requeue {
                        yielded: this_poll.yielded,
                    },
                )
            },
            // SAFETY: we still hold RUNNING and the poll's reference.
            ToIdle::Cancel => unsafe { cancel::<F>(header, 2) },
        },
        Ok(Poll::Ready(v)) => {
            // SAFETY: RUNNING; the future is done.
            let dropped = unsafe { drop_future::<F>(cell) };
            let result = match dropped {
                Ok(()) => Ok(v),
                Err(p) => {
                    // The output is lost with the panic; its own drop must
                    // not unwind out of the job either.
                    if let Err(q) = catch_unwind(AssertUnwindSafe(move || drop(v))) {
                        drop_payload(q);
                    }
                    Err(JobError::panic(p))
                }
            };
            // SAFETY: RUNNING, future dropped; the poll's and the owned
            // references are released there.
            unsafe { complete::<F>(header, result, 2) };
        }
        Err(payload) => {
            // A panicking poll leaves the future in whatever state; it is
            // dropped all the same (once). A panic in that drop is lost
            // behind the first one.
            // SAFETY: as above.
            if let Err(q) = unsafe { drop_future::<F>(cell) } {
                drop_payload(q);
            }
            // SAFETY: as above.
            unsafe { complete::<F>(header, Err(JobError::panic(payload)), 2) };
        }
    }
}

/// A task about to go idle for the first time joins its pool's task list
/// (the list of the worker that polled it), so that dropping the pool
/// finds it. Tasks that finish in their first poll never touch the list.
/// False if the list is closed. Takes the cell's pointer (not a
/// `&Header`): the list hands it back to code that reaches the whole cell.
fn list_before_idle(header: NonNull<Header>) -> bool {
    // SAFETY: we hold RUNNING and the poll's reference.
    let h = unsafe { header.as_ref() };
    // SAFETY: RUNNING: the registry is alive (the poller holds it).
    let registry = unsafe { h.registry() };
    let shard = worker::with_current_in(registry, |w| match w {
        Some(w) => w.index(),
        None => core::ptr::from_ref(h).addr() >> 8,
    });
    registry.tasks.insert(links_of(header), shard, &HOOKS)
}

/// Drops the future in place; returns a panic of its destructor.
///
/// # Safety
///
/// The caller holds RUNNING and the stage is `Running`.
unsafe fn drop_future<F: Future>(
    cell: NonNull<Cell<F>>,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    // SAFETY: RUNNING gives us the stage.
    catch_unwind(AssertUnwindSafe(|| unsafe {
        cell.as_ref().stage.with_mut(|s| *s = Stage::Consumed)
    }))
}

/// Drops the future and completes the task as cancelled.
///
/// # Safety
///
/// The caller holds RUNNING on a `Cell<F>`, and `refs` references to
/// release (the poll's and the owned one, or only the owned one).
unsafe fn cancel<F>(header: NonNull<Header>, refs: usize)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // SAFETY: caller's contract.
    let dropped = unsafe { drop_future::<F>(header.cast()) };
    let result = match dropped {
        Ok(()) => Err(JobError::cancelled()),
        Err(p) => Err(JobError::panic(p)),
    };
    // SAFETY: caller's contract; the future is dropped.
    unsafe { complete::<F>(header, result, refs) };
}

/// Stores the result, marks the task complete, wakes the joiner, leaves
/// the pool's task list and releases `refs` references.
///
/// # Safety
///
/// The caller holds RUNNING on a `Cell<F>` whose future is dropped.
unsafe fn complete<F>(header: NonNull<Header>, result: Result<F::Output, JobError>, refs: usize)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let cell = header.cast::<Cell<F>>();
    // SAFETY: RUNNING gives us the stage (the `Release` in `to_complete`
    // publishes it to the handle).
    unsafe {
        cell.as_ref()
            .stage
            .with_mut(|s| *s = Stage::Finished(result))
    };
    // SAFETY: live: we hold references.
    let h = unsafe { header.as_ref() };
    // SAFETY: the registry is alive: whoever completes a task holds a
    // strong reference to it (a worker's, the dropping pool's, or the
    // `keep` of an outside `schedule` draining it); RUNNING keeps the task
    // unfinished until `to_complete`.
    let registry = unsafe { h.registry() };
    let prev = h.state.to_complete();
    if !prev.has_join_interest() {
        // Nobody will read the output: drop it here. A panic nobody joins
        // goes to the pool's handler, as a detached job's does.
        let mut out: Poll<Result<F::Output, JobError>> = Poll::Pending;
        // SAFETY: complete, without join interest: the output is ours.
        unsafe { take_output::<F>(header, (&raw mut out).cast()) };
        let dropped = catch_unwind(AssertUnwindSafe(move || match out {
            Poll::Ready(Err(e)) if e.is_panic() => Some(e.into_panic()),
            _ => None,
        }));
        match dropped {
            Ok(Some(p)) | Err(p) => registry.handle_panic(p),
            Ok(None) => {}
        }
    } else if prev.has_join_waker() {
        // SAFETY: JOIN_WAKER was set when we completed: the slot is the
        // task's now and holds a waker; the handle no longer writes it.
        // A foreign waker that panics must not unwind out of the job
        // (the task would stay listed and keep its references).
        let woke = catch_unwind(AssertUnwindSafe(|| unsafe {
            Header::trailer(header).as_ref().waker.with(|w| {
                if let Some(w) = &*w {
                    w.wake_by_ref();
                }
            })
        }));
        if let Err(p) = woke {
            registry.handle_panic(p);
        }
    }
    // Last use of the registry: leaving the list may free it.
    registry.tasks.remove(links_of(header));
    if h.state.release(refs) {
        // SAFETY: that was the last reference.
        unsafe { (h.vtable.dealloc)(header) };
    }
}

/// # Safety
///
/// The task (a `Cell<F>`) is complete and the caller owns its output.
unsafe fn take_output<F: Future>(header: NonNull<Header>, dst: *mut ()) {
    let cell = header.cast::<Cell<F>>();
    // SAFETY: ownership of the output (caller) gives us the stage.
    let stage = unsafe {
        cell.as_ref()
            .stage
            .with_mut(|s| core::mem::replace(&mut *s, Stage::Consumed))
    };
    let out = match stage {
        Stage::Finished(r) => r,
        // Already taken: a completer that dropped the output of a task
        // nobody joins never calls this twice; kept total for safety.
        Stage::Consumed => return,
        Stage::Running(_) => unreachable!("spindle: output of a running task"),
    };
    if dst.is_null() {
        drop(out);
    } else {
        // SAFETY: the caller passes a `Poll<Result<F::Output, JobError>>`.
        unsafe { *dst.cast::<Poll<Result<F::Output, JobError>>>() = Poll::Ready(out) };
    }
}

/// # Safety
///
/// The last reference to a `Cell<F>` is gone.
unsafe fn dealloc<F: Future>(header: NonNull<Header>) {
    let cell = header.cast::<Cell<F>>();
    // SAFETY: last reference: nobody else touches the cell; it was
    // written in `new_task` and is dropped once, here.
    unsafe { cell.as_ptr().drop_in_place() };
    // SAFETY: allocated in `new_task` with this layout.
    unsafe { alloc::dealloc(cell.cast(), Layout::new::<Cell<F>>()) };
}

// ---- Waker ----

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

fn raw_waker(header: NonNull<Header>) -> RawWaker {
    RawWaker::new(header.as_ptr().cast_const().cast(), &WAKER_VTABLE)
}

/// # Safety
///
/// `p` is a task header on which the waker holds a reference.
unsafe fn header_of<'a>(p: *const ()) -> (NonNull<Header>, &'a Header) {
    // SAFETY: wakers are made only from live task headers (`raw_waker`).
    let h = unsafe { NonNull::new_unchecked(p.cast_mut().cast::<Header>()) };
    // SAFETY: the waker's reference keeps it alive.
    (h, unsafe { h.as_ref() })
}

unsafe fn waker_clone(p: *const ()) -> RawWaker {
    // SAFETY: the waker contract: `p` came from `raw_waker`.
    let (h, header) = unsafe { header_of(p) };
    header.state.acquire();
    raw_waker(h)
}

unsafe fn waker_wake(p: *const ()) {
    // SAFETY: as in `waker_clone`.
    let (h, header) = unsafe { header_of(p) };
    match header.state.wake_by_val() {
        // SAFETY: notified by us; our reference becomes the queue's.
        Wake::Submit => unsafe { schedule(h, Queue::Woken) },
        Wake::Nothing => {}
        // SAFETY: we released the last reference.
        Wake::Dealloc => unsafe { (header.vtable.dealloc)(h) },
    }
}

unsafe fn waker_wake_by_ref(p: *const ()) {
    // SAFETY: as in `waker_clone`.
    let (h, header) = unsafe { header_of(p) };
    match header.state.wake_by_ref() {
        // SAFETY: notified by us with a new reference for the queue. A
        // task waking itself while running gets `Nothing` (the poller
        // requeues it).
        Wake::Submit => unsafe { schedule(h, Queue::Woken) },
        Wake::Nothing | Wake::Dealloc => {}
    }
}

unsafe fn waker_drop(p: *const ()) {
    // SAFETY: as in `waker_clone`.
    let (h, header) = unsafe { header_of(p) };
    if header.state.release(1) {
        // SAFETY: last reference.
        unsafe { (header.vtable.dealloc)(h) };
    }
}

// ---- The pool's task list ----

/// How the pool's task list (`pool/tasks.rs`) holds and closes a task.
static HOOKS: TaskHooks = TaskHooks {
    hold: hook_hold,
    close: hook_close,
};

/// The list's handle on a task: its header's links.
fn links_of(header: NonNull<Header>) -> NonNull<Links> {
    // SAFETY: a field of a live header, in bounds.
    unsafe { NonNull::new_unchecked(core::ptr::addr_of_mut!((*header.as_ptr()).links)) }
}

/// The task whose links these are.
fn header_of_links(links: NonNull<Links>) -> NonNull<Header> {
    // SAFETY: every `Links` the list holds is the `links` field of a task
    // header (`links_of`), so stepping back by the field's offset stays in
    // the same allocation.
    unsafe { links.byte_sub(core::mem::offset_of!(Header, links)).cast() }
}

/// # Safety
///
/// `links` is a listed task's (which holds its owned reference).
unsafe fn hook_hold(links: NonNull<Links>) {
    // SAFETY: listed, so alive (caller's contract).
    unsafe { header_of_links(links).as_ref() }.state.acquire();
}

/// Cancels a listed task that is idle (a running or queued one is marked
/// and cancels itself), then releases the reference `hook_hold` took.
///
/// # Safety
///
/// The caller holds that reference.
unsafe fn hook_close(links: NonNull<Links>) {
    let t = header_of_links(links);
    // SAFETY: we hold a reference.
    let h = unsafe { t.as_ref() };
    if h.state.shutdown() == Shutdown::Cancel {
        // SAFETY: we hold RUNNING; the owned reference goes.
        unsafe { (h.vtable.cancel)(t, 1) };
    }
    if h.state.release(1) {
        // SAFETY: last reference.
        unsafe { (h.vtable.dealloc)(t) };
    }
}
