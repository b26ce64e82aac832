//! `scope`: spawn jobs that borrow from the enclosing stack; the scope
//! returns only when all of them have finished.

use core::marker::PhantomData;
use std::any::Any;

use crate::error::Error;
use crate::facade::{AtomicUsize, Mutex, Ordering};
use crate::job::JobResult;
use crate::options::Options;
use crate::pool::registry::{Placement, Registry};
use crate::pool::submit::Push;
use crate::pool::{with_worker, Pool};
use crate::sync::wait_cell::WaitCell;
use crate::worker::WorkerLocal;

/// A scope in which jobs borrowing from the enclosing stack can be
/// spawned; see [`Pool::scope`] and [`scope`](crate::scope()).
///
/// `'scope` is the lifetime of the borrows spawned jobs may hold.
pub struct Scope<'scope> {
    /// Spawned jobs not finished yet, plus one for the scope body.
    pending: AtomicUsize,
    /// What the owner waits on: set by whoever brings `pending` to zero.
    done: WaitCell,
    registry: *const Registry,
    /// The first panic of a spawned job, re-raised when the scope ends.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Invariant in `'scope`, like `std::thread::Scope`.
    _marker: PhantomData<&'scope mut &'scope ()>,
}

// SAFETY: shared state is atomics, a wait cell and a mutex; the raw
// pointer points to the registry, which outlives the scope (its owner
// slot keeps it alive).
unsafe impl Sync for Scope<'_> {}
// SAFETY: as above.
unsafe impl Send for Scope<'_> {}

impl Pool {
    /// Creates a scope, runs `op` in it, and waits for every job spawned in
    /// it (by `op` or by those jobs) before returning `op`'s result.
    ///
    /// Spawned jobs may borrow anything that outlives the call. While
    /// waiting, the calling thread runs jobs. If `op` or any spawned job
    /// panics, the panic is re-raised here once all jobs have finished
    /// (`op`'s first; other panics go to the pool's panic handler).
    ///
    /// ```
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let mut data = vec![1, 2, 3, 4];
    /// pool.scope(|s| {
    ///     for x in data.iter_mut() {
    ///         s.spawn(move |_| *x *= 10);
    ///     }
    /// });
    /// assert_eq!(data, [10, 20, 30, 40]);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn scope<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&Scope<'scope>) -> R + Send,
        R: Send,
    {
        self.in_worker(|w| run_scope(w, op))
    }
}

/// [`Pool::scope`] on the current thread's pool, or the global pool.
pub fn scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
    R: Send,
{
    with_worker(|w| run_scope(w, op))
}

fn run_scope<'scope, OP, R>(w: &WorkerLocal, op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
{
    let registry = w.registry();
    // Jobs the body spawns land above this on the slot's deque; the wait
    // below runs them first (see `Floor`).
    let floor = w.floor();
    let scope = Scope {
        pending: AtomicUsize::new(1),
        done: WaitCell::new(),
        registry,
        panic: Mutex::new(None),
        _marker: PhantomData,
    };
    let result = JobResult::call(|| op(&scope));
    // The body is done: drop its own count (setting the cell if it was the
    // last), then wait for the spawned jobs.
    // SAFETY: `scope` lives in this frame until the cell is set.
    unsafe { Scope::complete_one(&scope) };
    w.wait_until_above(&scope.done, floor);
    let spawned_panic = scope.take_panic();
    match result {
        JobResult::Panic(p) => {
            if let Some(q) = spawned_panic {
                registry.handle_panic(q);
            }
            std::panic::resume_unwind(p)
        }
        JobResult::Ok(v) => {
            if let Some(q) = spawned_panic {
                std::panic::resume_unwind(q);
            }
            v
        }
        JobResult::None => unreachable!("scope body did not run"),
    }
}

/// A `*const Scope` that may cross threads (the scope outlives its jobs).
struct ScopePtr<'scope>(*const Scope<'scope>);
// SAFETY: `Scope` is `Sync`, and the scope outlives every job holding this.
unsafe impl Send for ScopePtr<'_> {}

impl<'scope> Scope<'scope> {
    /// Spawns `f` to run in this scope, potentially in parallel.
    ///
    /// The job goes to the calling worker's deque, where idle threads can
    /// steal it. Its block comes from the worker's job cache, so after
    /// warm-up a spawn does not allocate. If the deque is full, the job
    /// runs right here instead (back-pressure: one thread spawning millions
    /// of jobs is paced by its own queue, not by memory).
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        self.spawn_in(f, Placement::PLAIN, crate::observe::Name::of::<F>());
    }

    /// [`Scope::spawn`] with [`Options`]: a priority class and the workers
    /// the job may run on. A job with options goes to the queue for its
    /// class (or its worker's mailbox) even when the deque is full.
    ///
    /// # Errors
    ///
    /// An affinity the pool cannot honour (see [`Affinity`](crate::Affinity));
    /// the job is then not spawned.
    ///
    /// ```
    /// use spindle::{Affinity, Options, Priority};
    ///
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let mut ran_on = None;
    /// pool.scope(|s| {
    ///     s.spawn_with(Options::new().affinity(Affinity::worker(1)), |_| {
    ///         ran_on = spindle::worker_index();
    ///     })
    /// })?;
    /// assert_eq!(ran_on, Some(1));
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn spawn_with<F>(&self, options: Options, f: F) -> Result<(), Error>
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        // SAFETY: the registry outlives the scope.
        let placement = unsafe { &*self.registry }.place(&options)?;
        self.spawn_in(f, placement, options.name_or::<F>());
        Ok(())
    }

    /// [`Scope::spawn`] with a [`Placement`](crate::Placement) checked
    /// beforehand (or a [`Priority`](crate::Priority)).
    ///
    /// # Panics
    ///
    /// If `placement` has an affinity and was made by another pool.
    ///
    /// ```
    /// use spindle::Priority;
    ///
    /// let pool = spindle::Pool::builder().workers(2).build()?;
    /// let mut hits = [0; 2];
    /// let (a, b) = hits.split_at_mut(1);
    /// pool.scope(|s| {
    ///     s.spawn_placed(Priority::High, |_| a[0] += 1);
    ///     s.spawn_placed(Priority::Low, |_| b[0] += 1);
    /// });
    /// assert_eq!(hits, [1, 1]);
    /// # Ok::<(), spindle::Error>(())
    /// ```
    pub fn spawn_placed<F>(&self, placement: impl Into<Placement>, f: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        // SAFETY: the registry outlives the scope.
        let placement = unsafe { &*self.registry }.own(placement);
        self.spawn_in(f, placement, crate::observe::Name::of::<F>());
    }

    /// `name`: the job's name in traces (`observe`).
    fn spawn_in<F>(&self, f: F, placement: Placement, name: crate::observe::Name)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        self.pending.fetch_add(1, Ordering::Relaxed);
        let ptr = ScopePtr(self);
        let job = move || {
            let ptr = ptr;
            // SAFETY: the scope waits for this job before it is dropped.
            let scope = unsafe { &*ptr.0 };
            let span = crate::observe::span(crate::observe::Kind::Job, name);
            let result = JobResult::call(|| f(scope));
            drop(span);
            if let JobResult::Panic(p) = result {
                scope.record_panic(p);
            }
            // SAFETY: `ptr` is live until this call sets the cell.
            unsafe { Scope::complete_one(ptr.0) };
        };
        // A plain spawn from a slot of the scope's pool runs the job here
        // if its deque is full (back-pressure, see `spawn`).
        let push = if placement.is_plain() {
            Push::ScopeJob
        } else {
            Push::Public
        };
        // SAFETY: the registry outlives the scope.
        unsafe { &*self.registry }.submit(job, placement, push);
    }

    fn record_panic(&self, p: Box<dyn Any + Send>) {
        let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(p);
        } else {
            drop(slot);
            // SAFETY: the registry outlives the scope.
            unsafe { &*self.registry }.handle_panic(p);
        }
    }

    fn take_panic(&self) -> Option<Box<dyn Any + Send>> {
        self.panic.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// One spawned job (or the body) finished: the last one sets the cell
    /// the owner waits on.
    ///
    /// # Safety
    ///
    /// `this` is live on entry; it may be freed by the owner as soon as the
    /// cell is set, so nothing of it is read after that.
    unsafe fn complete_one(this: *const Self) {
        // SAFETY: live on entry (contract); the owner waits for the cell,
        // not for the count, so the scope stays until the set below.
        let scope = unsafe { &*this };
        // Release: this job's effects happen before the owner's acquire of
        // the cell. Acquire: the last decrement sees every earlier one's.
        if scope.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: the scope is live until this set, which is its last
            // use; set once (the count reaches zero once).
            unsafe { WaitCell::set(&scope.done) };
        }
    }
}
