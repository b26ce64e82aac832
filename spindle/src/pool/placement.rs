//! Where a job goes: the checked form of a submission's options, and the
//! queues a job from outside the pool, or a job that is not plain
//! (`High`, `Low`, affine), is pushed to.

use super::registry::Registry;
use crate::error::Error;
use crate::facade::Ordering;
use crate::job::JobRef;
use crate::options::{Options, Priority};
use crate::worker::WorkerLocal;

/// A submission's options, checked against the pool: what goes in the
/// job's header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Placement {
    pub(crate) priority: Priority,
    /// Affinity set id; 0: any worker.
    pub(crate) affinity: u32,
}

impl Placement {
    /// `Normal`, any worker.
    pub(crate) const PLAIN: Placement = Placement {
        priority: Priority::Normal,
        affinity: 0,
    };

    pub(crate) fn is_plain(self) -> bool {
        self.priority == Priority::Normal && self.affinity == 0
    }
}

impl Registry {
    /// Checks `options` against this pool: the priority and affinity set
    /// id to put in a job's header.
    pub(crate) fn place(&self, options: &Options) -> Result<Placement, Error> {
        let affinity = match &options.affinity {
            None => 0,
            Some(a) => {
                self.affinity
                    .intern(a, self.num_workers, self.pinned.as_deref())?
                    .0
            }
        };
        Ok(Placement {
            priority: options.priority,
            affinity,
        })
    }

    /// Queues a job that is not plain (`High`, `Low`, or affine); `local`
    /// is the calling thread's slot if it is one of this pool's.
    ///
    /// An affine job goes to the mailbox of a worker of its set: the
    /// caller's own slot if it is in the set, else the next member in
    /// round-robin order; that worker is woken. Other jobs go to the
    /// caller's deque for their class, or from outside, to the injector.
    #[cold]
    pub(crate) fn push_special(&self, job: JobRef, local: Option<&WorkerLocal>) {
        debug_assert!(!job.is_plain());
        if job.is_affine() {
            // SAFETY: the job is live until executed, and not yet queued.
            let id = unsafe { job.header_ptr().as_ref() }.affinity();
            let set = self.affinity.get(id);
            let home = match local {
                Some(w) if set.contains(w.index()) => w.index(),
                _ if set.len() == 1 => set.nth(0),
                _ => set.nth(self.affine_next.fetch_add(1, Ordering::Relaxed) % set.len()),
            };
            self.pending.queued_affine();
            self.slots[home].mailbox.push(job.priority(), job, set);
            self.sleep.notify_slot(home);
            return;
        }
        self.pending.queued(job.priority());
        match local {
            Some(w) => w.push_class(job),
            None => self.injector.push(job),
        }
        self.sleep.notify_work(1);
    }

    /// Queues a job from a thread that is not one of this pool's slots.
    pub(crate) fn inject(&self, job: JobRef) {
        if job.is_plain() {
            self.injector.push(job);
            self.sleep.notify_work(1);
        } else {
            self.push_special(job, None);
        }
    }
}
