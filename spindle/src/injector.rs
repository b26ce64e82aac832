//! The global queue: jobs submitted from outside the pool, and the overflow
//! of full worker deques.
//!
//! A mutex-protected FIFO with an atomic length, so the common "is there
//! anything?" check on every idle loop takes no lock. Workers look here on a
//! fairness tick even when they have local work, so injected jobs are never
//! starved by a worker that keeps feeding itself.

use std::collections::VecDeque;

use crate::job::JobRef;
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::util::CachePadded;

pub(crate) struct Injector {
    len: CachePadded<AtomicUsize>,
    queue: Mutex<VecDeque<JobRef>>,
}

impl Injector {
    pub(crate) fn new() -> Self {
        Self {
            len: CachePadded::new(AtomicUsize::new(0)),
            queue: Mutex::new(VecDeque::new()),
        }
    }

    /// True if the queue looked empty (one relaxed load).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }

    /// Appends jobs in order; the caller notifies sleepers afterwards.
    pub(crate) fn push_batch(&self, jobs: impl IntoIterator<Item = JobRef>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.extend(jobs);
        // Under the lock, so `len` never runs ahead of the queue's contents.
        self.len.store(q.len(), Ordering::Release);
    }

    /// Appends one job; the caller notifies sleepers afterwards.
    pub(crate) fn push(&self, job: JobRef) {
        self.push_batch(core::iter::once(job));
    }

    /// Takes the oldest job.
    pub(crate) fn pop(&self) -> Option<JobRef> {
        if self.is_empty() {
            return None;
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let job = q.pop_front();
        self.len.store(q.len(), Ordering::Release);
        job
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::job::{JobHeader, Priority};
    use crate::sync::Arc;
    use core::ptr::NonNull;
    use loom::thread;

    unsafe fn nothing(_: NonNull<JobHeader>) {}

    /// Two producers and a consumer: each job comes out exactly once.
    #[test]
    fn each_job_taken_once() {
        loom::model(|| {
            let headers: Arc<Vec<JobHeader>> =
                Arc::new((0..2).map(|_| JobHeader::new(nothing)).collect());
            let inj = Arc::new(Injector::new());
            let mut producers = Vec::new();
            for i in 0..2 {
                let (inj, h) = (inj.clone(), headers.clone());
                producers.push(thread::spawn(move || {
                    // SAFETY: the header outlives the test and is never executed.
                    inj.push(unsafe { JobRef::new(NonNull::from(&h[i]), Priority::Normal) });
                }));
            }
            let mut got = 0;
            for _ in 0..2 {
                if inj.pop().is_some() {
                    got += 1;
                }
            }
            for p in producers {
                p.join().unwrap();
            }
            while inj.pop().is_some() {
                got += 1;
            }
            assert_eq!(got, 2);
        });
    }
}
