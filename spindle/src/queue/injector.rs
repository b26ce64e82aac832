//! The global queue: jobs submitted from outside the pool, and the overflow
//! of full worker deques.
//!
//! A mutex-protected FIFO per priority class with an atomic total length,
//! so the common "is there anything?" check on every idle loop takes no
//! lock. Affine jobs never come here (they go to a worker's mailbox). Workers look here on a
//! fairness tick even when they have local work, so injected jobs are never
//! starved by a worker that keeps feeding itself.

use std::collections::VecDeque;

use crate::facade::{AtomicUsize, Mutex, Ordering};
use crate::job::{JobRef, Priority};
use crate::util::CachePadded;

pub(crate) struct Injector {
    len: CachePadded<AtomicUsize>,
    queues: Mutex<[VecDeque<JobRef>; 3]>,
}

impl Injector {
    pub(crate) fn new() -> Self {
        Self {
            len: CachePadded::new(AtomicUsize::new(0)),
            queues: Mutex::new([VecDeque::new(), VecDeque::new(), VecDeque::new()]),
        }
    }

    /// True if the queue looked empty (one relaxed load).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }

    /// Appends jobs in order, each to its class's queue; the caller
    /// notifies sleepers afterwards.
    pub(crate) fn push_batch(&self, jobs: impl IntoIterator<Item = JobRef>) {
        let mut q = crate::util::lock::lock(&self.queues);
        let mut added = 0;
        for job in jobs {
            debug_assert!(!job.is_affine(), "affine jobs go to mailboxes");
            q[job.priority() as usize].push_back(job);
            added += 1;
        }
        // Under the lock, so `len` never runs ahead of the queue's contents.
        let len = self.len.load(Ordering::Relaxed);
        self.len.store(len + added, Ordering::Release);
    }

    /// Appends one job; the caller notifies sleepers afterwards.
    pub(crate) fn push(&self, job: JobRef) {
        self.push_batch(core::iter::once(job));
    }

    /// Takes the oldest job of the highest class that has one.
    pub(crate) fn pop(&self) -> Option<JobRef> {
        self.pop_where(|q| q.iter_mut().find_map(VecDeque::pop_front))
    }

    /// Takes the oldest job of `class`.
    pub(crate) fn pop_class(&self, class: Priority) -> Option<JobRef> {
        self.pop_where(|q| q[class as usize].pop_front())
    }

    fn pop_where(
        &self,
        f: impl FnOnce(&mut [VecDeque<JobRef>; 3]) -> Option<JobRef>,
    ) -> Option<JobRef> {
        if self.is_empty() {
            return None;
        }
        let mut q = crate::util::lock::lock(&self.queues);
        let job = f(&mut q);
        if job.is_some() {
            let len = self.len.load(Ordering::Relaxed);
            self.len.store(len - 1, Ordering::Release);
        }
        job
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::facade::Arc;
    use crate::job::{JobHeader, Priority};
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

    fn job_ref(header: &JobHeader) -> JobRef {
        // SAFETY: the headers outlive the model's queue and are never run.
        unsafe { JobRef::new(NonNull::from(header), Priority::Normal) }
    }

    /// A batch of two jobs racing two consumers (three threads), with one
    /// job already queued: each job comes out exactly once, and once
    /// everything is drained `len` is 0.
    ///
    /// Catches: `len` written outside the lock (a consumer that took the
    /// first job stores its count of 0 after the batch's store, `len` says
    /// empty with two jobs inside, and the final drain's fast path leaves
    /// them behind), and a pop that hands the same job to both consumers.
    #[test]
    fn push_batch_racing_two_consumers() {
        loom::model(|| {
            let headers: Arc<Vec<JobHeader>> =
                Arc::new((0..3).map(|_| JobHeader::new(nothing)).collect());
            let inj = Arc::new(Injector::new());
            inj.push(job_ref(&headers[0]));
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let inj = inj.clone();
                    thread::spawn(move || inj.pop())
                })
                .collect();
            inj.push_batch(headers[1..].iter().map(job_ref));
            let mut got: Vec<JobRef> = consumers
                .into_iter()
                .filter_map(|c| c.join().unwrap())
                .collect();
            while let Some(job) = inj.pop() {
                got.push(job);
            }
            assert!(inj.is_empty());
            assert_eq!(inj.len.load(Ordering::SeqCst), 0);
            got.sort_by_key(|j| j.header_ptr());
            let want: Vec<JobRef> = headers.iter().map(job_ref).collect();
            assert_eq!(got, want, "a job lost or taken twice");
        });
    }

    /// Two producers each push a job and then raise a flag; this thread
    /// pops once meanwhile. Once it has seen both flags, at least one job
    /// is inside, so `is_empty` (one relaxed load of `len`) must say so.
    ///
    /// Catches: `len` updates that can be reordered against each other
    /// (stored after unlocking, or computed from a stale count), which
    /// make a worker's S3 re-check or `pop` fast path skip a queued job.
    #[test]
    fn never_empty_while_a_job_is_inside() {
        loom::model(|| {
            let headers: Arc<Vec<JobHeader>> =
                Arc::new((0..2).map(|_| JobHeader::new(nothing)).collect());
            let inj = Arc::new(Injector::new());
            let done: Arc<Vec<crate::facade::AtomicBool>> = Arc::new(
                (0..2)
                    .map(|_| crate::facade::AtomicBool::new(false))
                    .collect(),
            );
            let producers: Vec<_> = (0..2)
                .map(|i| {
                    let (inj, h, done) = (inj.clone(), headers.clone(), done.clone());
                    thread::spawn(move || {
                        inj.push(job_ref(&h[i]));
                        done[i].store(true, Ordering::Release);
                    })
                })
                .collect();
            let popped = usize::from(inj.pop().is_some());
            if done.iter().all(|d| d.load(Ordering::Acquire)) {
                assert!(
                    !inj.is_empty(),
                    "is_empty with {} job(s) inside",
                    2 - popped
                );
            }
            for p in producers {
                p.join().unwrap();
            }
            let mut rest = 0;
            while inj.pop().is_some() {
                rest += 1;
            }
            assert_eq!(popped + rest, 2);
        });
    }
}
