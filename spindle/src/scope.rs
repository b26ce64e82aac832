//! `scope`: spawn jobs that borrow from the enclosing stack; the scope
//! returns only when all of them have finished.

use core::marker::PhantomData;
use std::any::Any;

use crate::error::Error;
use crate::fiber::FiberRef;
use crate::job::{HeapJob, JobResult};
use crate::latch::Latch;
use crate::options::Options;
use crate::pool::{with_worker, Pool};
use crate::registry::{Placement, Registry};
use crate::sleep::Parker;
use crate::sync::{Arc, AtomicUsize, Mutex, Ordering, UnsafeCell};
use crate::worker::{self, WorkerLocal};

/// In `Scope::pending`: the owner sleeps and must be unparked at zero.
const SLEEPING: usize = 1;
/// In `Scope::pending`: the owner's fiber is suspended on the scope and
/// must be woken at zero (the fiber is in `Scope::fiber`).
const FIBER_WAITING: usize = 2;
/// One pending job, in `Scope::pending`.
const ONE: usize = 4;

/// A scope in which jobs borrowing from the enclosing stack can be
/// spawned; see [`Pool::scope`] and [`scope`](crate::scope()).
///
/// `'scope` is the lifetime of the borrows spawned jobs may hold.
pub struct Scope<'scope> {
    /// `pending jobs * ONE | FIBER_WAITING | SLEEPING`; the scope body
    /// counts as one job.
    pending: AtomicUsize,
    /// The owner's suspended fiber, when `FIBER_WAITING` is set: written
    /// by the owner before it sets the bit, read by the last job after it
    /// saw the bit.
    fiber: UnsafeCell<Option<FiberRef>>,
    /// The owner slot's parker (lives as long as the registry).
    owner: *const Parker,
    registry: *const Registry,
    /// The first panic of a spawned job, re-raised when the scope ends.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Invariant in `'scope`, like `std::thread::Scope`.
    _marker: PhantomData<&'scope mut &'scope ()>,
}

// SAFETY: shared state is atomics and a mutex; the raw pointers point into
// the registry, which outlives the scope (its owner slot keeps it alive).
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
    let scope = Scope {
        pending: AtomicUsize::new(ONE),
        fiber: UnsafeCell::new(None),
        owner: &**registry.sleep.parker(w.index()),
        registry,
        panic: Mutex::new(None),
        _marker: PhantomData,
    };
    let result = JobResult::call(|| op(&scope));
    // The body is done: drop its own count. No wake-up needed, we are the
    // owner.
    scope.pending.fetch_sub(ONE, Ordering::AcqRel);
    w.wait_until(&scope);
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
        self.spawn_placed(f, Placement::PLAIN);
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
        self.spawn_placed(f, placement);
        Ok(())
    }

    fn spawn_placed<F>(&self, f: F, placement: Placement)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        self.pending.fetch_add(ONE, Ordering::Relaxed);
        let ptr = ScopePtr(self);
        let job = move || {
            let ptr = ptr;
            // SAFETY: the scope waits for this job before it is dropped.
            let scope = unsafe { &*ptr.0 };
            if let JobResult::Panic(p) = JobResult::call(|| f(scope)) {
                scope.record_panic(p);
            }
            // SAFETY: `ptr` is live until this call sets the count to zero.
            unsafe { Scope::complete_one(ptr.0) };
        };
        let cur = worker::current();
        // SAFETY: `CURRENT` points to a live slot run by this thread.
        match unsafe { cur.as_ref() } {
            Some(w) if core::ptr::eq(w.registry(), self.registry) => {
                let (job, heap) =
                    HeapJob::alloc(job, Some(&w.cache), placement.priority, placement.affinity);
                if heap {
                    w.record_heap_fallback();
                }
                if placement.is_plain() {
                    w.push_or_run(job);
                } else {
                    w.push_public(job);
                }
            }
            _ => {
                // Spawned from a thread outside the scope's pool.
                let (job, _) = HeapJob::alloc(job, None, placement.priority, placement.affinity);
                // SAFETY: the registry outlives the scope.
                unsafe { &*self.registry }.inject(job);
            }
        }
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

    /// One spawned job finished.
    ///
    /// # Safety
    ///
    /// `this` is live on entry; it may be freed by the owner as soon as the
    /// count reaches zero, so nothing of it is read after the decrement.
    unsafe fn complete_one(this: *const Self) {
        // SAFETY: live on entry (contract); read what we need first.
        let owner = unsafe { (*this).owner };
        // SAFETY: as above.
        let old = unsafe { (*this).pending.fetch_sub(ONE, Ordering::AcqRel) };
        if old & !(SLEEPING | FIBER_WAITING) != ONE {
            return;
        }
        if old & FIBER_WAITING != 0 {
            // The owner's fiber stays suspended, and the scope alive, until
            // this wake.
            // SAFETY: the owner wrote `fiber` before its `fetch_or` of the
            // bit, which our AcqRel decrement read; it is not written again
            // while suspended.
            let fiber = unsafe { (*this).fiber.with(|f| *f) };
            fiber.expect("FIBER_WAITING without a fiber").wake();
        } else if old & SLEEPING != 0 {
            // SAFETY: the owner's parker lives in the registry, which this
            // job's thread keeps alive.
            unsafe { (*owner).unpark() };
        }
    }
}

impl Latch for Scope<'_> {
    fn probe(&self) -> bool {
        self.pending.load(Ordering::Acquire) < ONE
    }

    fn prepare_sleep(&self, _parker: &Arc<Parker>) -> bool {
        self.pending.fetch_or(SLEEPING, Ordering::AcqRel) >= ONE
    }

    fn prepare_fiber_wait(&self, fiber: FiberRef) -> bool {
        // SAFETY: only the owner writes `fiber`; the last job reads it only
        // after seeing `FIBER_WAITING`, set below with release.
        self.fiber.with_mut(|f| unsafe { *f = Some(fiber) });
        self.pending.fetch_or(FIBER_WAITING, Ordering::AcqRel) >= ONE
    }
}
