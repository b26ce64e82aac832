//! The one way a closure becomes a queued job: a block from the calling
//! slot's job cache when the caller runs one of this pool's slots (else a
//! heap allocation), then onto that slot's queues, or, from anywhere else,
//! through the global injector. `spawn`, `Scope::spawn` and `dispatch`
//! all go through here.

use super::registry::{Placement, Registry};
use crate::job::{HeapJob, JobRef};
use crate::worker::{with_current_in, Here};

/// Where a job from a slot of the pool goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Push {
    /// Onto the slot's queue for its class (or its worker's mailbox), for
    /// thieves to see; a full deque moves its older half to the injector.
    Public,
    /// A job a scope waits for: marked as such, so that the scope's wait
    /// may run it on the waiting stack (`worker::Floor`). Otherwise like
    /// `Public`, but a plain job meeting a full deque runs right here
    /// instead: one thread spawning a million jobs into a scope is paced
    /// by its own deque rather than by memory.
    ScopeJob,
}

impl Registry {
    /// Queues `f` as one job with `placement` (already checked against
    /// this pool).
    pub(crate) fn submit<F: FnOnce() + Send>(&self, f: F, placement: Placement, push: Push) {
        // Not through a closure: `f` would be copied into it.
        let here = Here::new();
        match here.slot_in(self) {
            Some(w) => {
                let job = alloc_on(w, f, placement);
                if push == Push::ScopeJob {
                    // SAFETY: just allocated, not published yet: the header
                    // is alive and no other thread reads it.
                    unsafe { job.header_ptr().as_ref().mark_scope_job() };
                }
                match push {
                    Push::ScopeJob if job.is_plain() => w.push_or_run(job),
                    _ => w.push_public(job),
                }
            }
            None => {
                let (job, _) = HeapJob::alloc(f, None, placement.priority, placement.affinity);
                self.inject(job);
            }
        }
    }

    /// Queues a job whose memory lives elsewhere (a task graph's node) from
    /// the calling thread: onto its slot's queues if it runs one of this
    /// pool's, else through the global injector.
    ///
    /// # Safety
    ///
    /// The rules of `job`: `job` stays alive until it has executed, and is
    /// queued once per execution.
    pub(crate) unsafe fn queue(&self, job: JobRef) {
        with_current_in(self, |w| match w {
            Some(w) => w.push_public(job),
            None => self.inject(job),
        })
    }

    /// Queues a batch of jobs with `placement`, with one decision about
    /// waking workers for all of them (plain jobs; others go one by one
    /// where their class or set says, each waking whoever may take it).
    /// Returns how many were queued. `before_queue(n)` runs once every job
    /// is built and before any is queued (a counter is raised there).
    pub(crate) fn submit_batch<F, I>(
        &self,
        jobs: I,
        placement: Placement,
        before_queue: impl FnOnce(usize),
    ) -> usize
    where
        F: FnOnce() + Send,
        I: IntoIterator<Item = F>,
    {
        with_current_in(self, |w| {
            let refs: Vec<JobRef> = jobs
                .into_iter()
                .map(|f| match w {
                    Some(w) => alloc_on(w, f, placement),
                    None => HeapJob::alloc(f, None, placement.priority, placement.affinity).0,
                })
                .collect();
            let n = refs.len();
            if n == 0 {
                return 0;
            }
            before_queue(n);
            if !placement.is_plain() {
                for job in refs {
                    self.push_special(job, w);
                }
                return n;
            }
            match w {
                Some(w) => refs.into_iter().for_each(|j| w.push_batch_quiet(j)),
                None => self.injector.push_batch(refs),
            }
            self.sleep.notify_work(n);
            n
        })
    }
}

/// Wraps `f` in a block of `w`'s job cache (the heap if it is empty or `f`
/// too big, which the slot's counters record).
fn alloc_on<F: FnOnce() + Send>(
    w: &crate::worker::WorkerLocal,
    f: F,
    placement: Placement,
) -> JobRef {
    let (job, heap) = HeapJob::alloc(f, Some(&w.cache), placement.priority, placement.affinity);
    if heap {
        w.record_heap_fallback();
    }
    job
}
