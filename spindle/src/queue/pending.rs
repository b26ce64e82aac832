//! How many jobs of the special kinds are queued: `High`, `Low`, and
//! affine (in a worker's mailbox). While all three are zero a worker takes
//! the plain path (one deque, the injector, stealing) it took before
//! priorities existed; one load of this line, which nobody writes while
//! only `Normal` work flows, tells it so.
//!
//! Rule: a count is raised *before* its job becomes visible in a queue and
//! lowered only *after* the job is taken out, so it is never below the
//! number of such jobs queued. A worker that reads zero may still find a
//! job that was just pushed (a stale zero): it then finds it on its next
//! pick, or in the sleep re-check, which looks at every queue.

use crate::facade::{AtomicUsize, Ordering};
use crate::options::Priority;
use crate::util::CachePadded;

pub(crate) struct Pending {
    counts: CachePadded<Counts>,
}

struct Counts {
    high: AtomicUsize,
    low: AtomicUsize,
    affine: AtomicUsize,
}

impl Pending {
    pub(crate) fn new() -> Self {
        Self {
            counts: CachePadded::new(Counts {
                high: AtomicUsize::new(0),
                low: AtomicUsize::new(0),
                affine: AtomicUsize::new(0),
            }),
        }
    }

    /// True if any special job may be queued.
    #[inline(always)]
    pub(crate) fn any(&self) -> bool {
        let c = &*self.counts;
        (c.high.load(Ordering::Relaxed)
            | c.low.load(Ordering::Relaxed)
            | c.affine.load(Ordering::Relaxed))
            != 0
    }

    fn class(&self, class: Priority) -> Option<&AtomicUsize> {
        match class {
            Priority::High => Some(&self.counts.high),
            Priority::Normal => None,
            Priority::Low => Some(&self.counts.low),
        }
    }

    /// True if a job of `class` may be queued outside mailboxes (always
    /// for `Normal`, which is not counted).
    #[inline]
    pub(crate) fn may_have(&self, class: Priority) -> bool {
        self.class(class)
            .is_none_or(|c| c.load(Ordering::Relaxed) != 0)
    }

    /// True if an affine job may be queued.
    #[inline]
    pub(crate) fn may_have_affine(&self) -> bool {
        self.counts.affine.load(Ordering::Relaxed) != 0
    }

    /// Before a job of `class` goes into a deque or the injector.
    pub(crate) fn queued(&self, class: Priority) {
        if let Some(c) = self.class(class) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// After a job of `class` came out of a deque or the injector.
    #[inline]
    pub(crate) fn taken(&self, class: Priority) {
        if let Some(c) = self.class(class) {
            c.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Before an affine job goes into a mailbox.
    pub(crate) fn queued_affine(&self) {
        self.counts.affine.fetch_add(1, Ordering::Relaxed);
    }

    /// After an affine job came out of a mailbox.
    pub(crate) fn taken_affine(&self) {
        self.counts.affine.fetch_sub(1, Ordering::Relaxed);
    }
}
