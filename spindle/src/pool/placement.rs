//! Where a job goes: the checked form of a submission's options, and the
//! queues a job from outside the pool, or a job that is not plain
//! (`High`, `Low`, affine), is pushed to.

use super::registry::Registry;
use crate::error::Error;
use crate::facade::Ordering;
use crate::job::JobRef;
use crate::options::{Options, Priority};
use crate::worker::WorkerLocal;

/// [`Options`] checked against a pool, once: submit with it as often as
/// you like, with no `Result` to handle.
///
/// A priority alone fits every pool, so a [`Priority`] converts into a
/// `Placement` directly; options with an [`Affinity`](crate::Affinity) are
/// checked by [`Pool::placement`](crate::Pool::placement), and the
/// placement it returns belongs to that pool. The `_placed` forms of the
/// submit methods take one:
///
/// ```
/// use spindle::{Affinity, Options, Placement, Priority};
///
/// let pool = spindle::Pool::builder().workers(2).build()?;
/// // Checked once (an unknown worker would be an error here)...
/// let on_one = pool.placement(&Options::new().affinity(Affinity::worker(1)))?;
/// // ...then used with no `?` at every submission.
/// let (tx, rx) = std::sync::mpsc::channel();
/// for _ in 0..4 {
///     let tx = tx.clone();
///     pool.spawn_placed(on_one, move || tx.send(spindle::worker_index()).unwrap());
/// }
/// pool.spawn_placed(Priority::High, || {});
/// for _ in 0..4 {
///     assert_eq!(rx.recv().unwrap(), Some(1));
/// }
/// assert_eq!(Placement::from(Priority::Low).priority(), Priority::Low);
/// # Ok::<(), spindle::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub(crate) priority: Priority,
    /// Affinity set id; 0: any worker.
    pub(crate) affinity: u32,
    /// The pool whose affinity table `affinity` indexes; 0 for a placement
    /// with no affinity, which fits every pool.
    pool: u64,
}

impl Placement {
    /// `Normal`, any worker.
    pub(crate) const PLAIN: Placement = Placement {
        priority: Priority::Normal,
        affinity: 0,
        pool: 0,
    };

    pub(crate) fn is_plain(self) -> bool {
        self.priority == Priority::Normal && self.affinity == 0
    }

    /// The priority class jobs submitted with it get.
    pub fn priority(self) -> Priority {
        self.priority
    }

    /// Whether it restricts the workers a job may run on.
    pub fn has_affinity(self) -> bool {
        self.affinity != 0
    }
}

impl Default for Placement {
    /// `Normal`, any worker: what the plain submit methods use.
    fn default() -> Self {
        Self::PLAIN
    }
}

impl From<Priority> for Placement {
    /// That class, any worker: fits every pool.
    fn from(priority: Priority) -> Self {
        Self {
            priority,
            ..Self::PLAIN
        }
    }
}

#[cold]
#[inline(never)]
fn foreign_placement() -> ! {
    panic!("spindle: a Placement with an affinity was used on a pool other than the one whose `Pool::placement` made it")
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
            pool: if affinity == 0 { 0 } else { self.id() },
        })
    }

    /// `placement` for a submission to this pool.
    ///
    /// # Panics
    ///
    /// If `placement` has an affinity and was made by another pool's
    /// [`Pool::placement`](crate::Pool::placement): its affinity names that
    /// pool's workers. A programmer error, like indexing out of bounds.
    #[inline]
    pub(crate) fn own(&self, placement: impl Into<Placement>) -> Placement {
        let placement = placement.into();
        if placement.pool != 0 && placement.pool != self.id() {
            foreign_placement();
        }
        placement
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
