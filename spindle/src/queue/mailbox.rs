//! A worker's mailbox: the affine jobs it is home to, by priority class.
//!
//! An affine job waits in the mailbox of one worker of its set (its home),
//! which takes any of them; another worker of the set may take it too, and
//! workers outside the set never do. A spin lock guards the queues (only
//! affine submissions and picks take it); `len` answers "anything here?"
//! without the lock.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::affinity::WorkerSet;
use crate::facade::{AtomicUsize, Ordering};
use crate::job::JobRef;
use crate::options::Priority;
use crate::sync::spin_lock::SpinLock;
use crate::util::CachePadded;

/// How many entries of another worker's mailbox a helper looks at before
/// giving up (the home worker runs the rest).
const HELP_SCAN: usize = 32;

pub(crate) struct Mailbox {
    len: CachePadded<AtomicUsize>,
    queues: SpinLock<[VecDeque<Entry>; 3]>,
}

struct Entry {
    job: JobRef,
    set: Arc<WorkerSet>,
}

impl Mailbox {
    pub(crate) fn new() -> Self {
        Self {
            len: CachePadded::new(AtomicUsize::new(0)),
            queues: SpinLock::new([VecDeque::new(), VecDeque::new(), VecDeque::new()]),
        }
    }

    /// True if the mailbox looked empty (one relaxed load).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }

    /// Queues `job` (of class `class`, allowed on `set`); the caller
    /// notifies the home worker afterwards.
    pub(crate) fn push(&self, class: Priority, job: JobRef, set: Arc<WorkerSet>) {
        let mut q = self.queues.lock();
        q[class as usize].push_back(Entry { job, set });
        // Under the lock, so `len` never runs ahead of the contents.
        self.len.fetch_add(1, Ordering::Release);
    }

    /// The home worker: the oldest job of `class`.
    pub(crate) fn pop(&self, class: Priority) -> Option<JobRef> {
        if self.is_empty() {
            return None;
        }
        let mut q = self.queues.lock();
        let e = q[class as usize].pop_front()?;
        self.len.fetch_sub(1, Ordering::Relaxed);
        Some(e.job)
    }

    /// Another worker, `index`: the oldest job of `class` among the first
    /// few whose set includes it.
    pub(crate) fn take_for(&self, index: usize, class: Priority) -> Option<JobRef> {
        if self.is_empty() {
            return None;
        }
        let mut q = self.queues.lock();
        let q = &mut q[class as usize];
        let at = q
            .iter()
            .take(HELP_SCAN)
            .position(|e| e.set.contains(index))?;
        let e = q.remove(at).expect("position is in range");
        self.len.fetch_sub(1, Ordering::Relaxed);
        Some(e.job)
    }

    /// Takes `job` (of class `class`) out if it is still here: a `join`
    /// whose half this is runs it itself. Looks from the newest end,
    /// where a half its worker just queued is.
    pub(crate) fn remove(&self, class: Priority, job: JobRef) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut q = self.queues.lock();
        let q = &mut q[class as usize];
        let Some(at) = q.iter().rposition(|e| e.job == job) else {
            return false;
        };
        q.remove(at);
        self.len.fetch_sub(1, Ordering::Relaxed);
        true
    }

    /// Takes every job, oldest first, class by class (shutdown drain).
    pub(crate) fn take_all(&self) -> Vec<JobRef> {
        let mut q = self.queues.lock();
        let jobs: Vec<JobRef> = q
            .iter_mut()
            .flat_map(|c| c.drain(..))
            .map(|e| e.job)
            .collect();
        self.len.fetch_sub(jobs.len(), Ordering::Relaxed);
        jobs
    }
}
