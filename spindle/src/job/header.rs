//! The job header, its packed state word, and `JobRef`, the tagged pointer
//! that queues carry.

use core::ptr::NonNull;

use crate::facade::{AtomicU32, Ordering};
pub(crate) use crate::options::Priority;

/// Set when the job starts running. A second start is a scheduler bug
/// (rule 1 of the module spec); debug builds abort on it.
pub(crate) const STARTED: u32 = 1 << 2;
/// Set on a job a scope waits for (spawned into a scope), before the job
/// is published; never changed after. A scope's wait runs only such jobs
/// on its own stack (see `worker::Floor`).
pub(crate) const SCOPE_JOB: u32 = 1 << 3;
/// Bits 8..10: the job's priority class (see [`Priority`]).
pub(crate) const PRIORITY_SHIFT: u32 = 8;
/// Mask of the priority bits in the state word.
pub(crate) const PRIORITY_MASK: u32 = 0b11 << PRIORITY_SHIFT;
/// Bits 12..32: the job's affinity set id (`affinity.rs`), 0 for "any
/// worker". Written before the job is published, never after.
pub(crate) const AFFINITY_SHIFT: u32 = 12;

const _: () = assert!(crate::affinity::MAX_SETS as u64 <= (u32::MAX >> AFFINITY_SHIFT) as u64);

/// What every job starts with: how to run it, and its state.
///
/// `execute` receives the header's own address and casts it back to the
/// concrete job type (the header is its first field, `#[repr(C)]`).
#[repr(C, align(8))]
pub(crate) struct JobHeader {
    execute: unsafe fn(NonNull<JobHeader>),
    state: AtomicU32,
}

// A header's budget is 32 bytes (what a job costs before its closure);
// this one takes 16.
const _: () = assert!(core::mem::size_of::<JobHeader>() <= 32);
const _: () = assert!(core::mem::align_of::<JobHeader>() >= 8);

impl JobHeader {
    /// A header for a job of `Normal` priority.
    pub(crate) fn new(execute: unsafe fn(NonNull<JobHeader>)) -> Self {
        Self {
            execute,
            state: AtomicU32::new((Priority::Normal as u32) << PRIORITY_SHIFT),
        }
    }

    /// A header with options: `priority`, and the affinity set `affinity`
    /// (0: any worker).
    pub(crate) fn with_options(
        execute: unsafe fn(NonNull<JobHeader>),
        priority: Priority,
        affinity: u32,
    ) -> Self {
        Self {
            execute,
            state: AtomicU32::new(
                ((priority as u32) << PRIORITY_SHIFT) | (affinity << AFFINITY_SHIFT),
            ),
        }
    }

    /// The affinity set id (0: any worker).
    pub(crate) fn affinity(&self) -> u32 {
        self.state.load(Ordering::Relaxed) >> AFFINITY_SHIFT
    }

    pub(crate) fn priority(&self) -> Priority {
        let bits = (self.state.load(Ordering::Relaxed) & PRIORITY_MASK) >> PRIORITY_SHIFT;
        Priority::from_bits(bits as usize)
    }

    /// Marks the job as one a scope waits for.
    ///
    /// # Safety
    ///
    /// The job is not published yet (no other thread reads its header).
    #[inline(always)]
    pub(crate) unsafe fn mark_scope_job(&self) {
        // A plain load and store: nobody else sees the header yet.
        let state = self.state.load(Ordering::Relaxed);
        self.state.store(state | SCOPE_JOB, Ordering::Relaxed);
    }

    /// True if a scope waits for this job (`mark_scope_job`).
    #[inline(always)]
    pub(crate) fn is_scope_job(&self) -> bool {
        self.state.load(Ordering::Relaxed) & SCOPE_JOB != 0
    }

    /// Debug builds: records the start and aborts on a second one.
    #[inline(always)]
    pub(crate) fn mark_started(&self) {
        if cfg!(debug_assertions) {
            let old = self.state.fetch_or(STARTED, Ordering::Relaxed);
            if old & STARTED != 0 {
                crate::unwind::abort("spindle: a job was executed twice (scheduler bug)");
            }
        }
    }
}

/// Mask of the tag bits in a `JobRef` (the header is 8-aligned: 3 free
/// bits): two carry the priority class, the third [`AFFINE`].
const TAG_MASK: usize = 0b111;
/// Mask of the priority bits of the tag.
const TAG_PRIORITY: usize = 0b11;
/// Tag bit: the job has an affinity set (it goes to a mailbox).
const AFFINE: usize = 0b100;
/// The tag of a plain job: `Normal`, any worker.
const PLAIN: usize = Priority::Normal as usize;

/// A one-word, tagged pointer to a [`JobHeader`]: what queues hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct JobRef(NonNull<JobHeader>);

// SAFETY: every constructor of a job requires its closure (and result) to be
// `Send`, so the job may run on any thread; `JobRef` itself is an address.
unsafe impl Send for JobRef {}

impl JobRef {
    /// Tags `header` with `priority`, which must be the one in its state
    /// word. It is passed in rather than read back, so that the tag is a
    /// constant on the fork path instead of a load of the word just stored.
    ///
    /// # Safety
    ///
    /// `header` must point to a live job header that obeys the module's
    /// rules until the job has been executed.
    #[inline(always)]
    pub(crate) unsafe fn new(header: NonNull<JobHeader>, priority: Priority) -> Self {
        // SAFETY: the caller guarantees the header is live.
        debug_assert_eq!(unsafe { header.as_ref() }.priority(), priority);
        JobRef(header.map_addr(|a| a | priority as usize))
    }

    /// Tags `header` with `priority` and affinity set `affinity` (0: none),
    /// which must be the ones in its state word: passed in, like
    /// [`JobRef::new`]'s, so a spawn does not read back the word it just
    /// wrote.
    ///
    /// # Safety
    ///
    /// As for [`JobRef::new`].
    #[inline(always)]
    pub(crate) unsafe fn tagged(
        header: NonNull<JobHeader>,
        priority: Priority,
        affinity: u32,
    ) -> Self {
        // SAFETY: the caller guarantees the header is live.
        debug_assert_eq!(unsafe { header.as_ref() }.affinity(), affinity);
        // SAFETY: as above.
        let r = unsafe { JobRef::new(header, priority) };
        if affinity != 0 {
            JobRef(r.0.map_addr(|a| a | AFFINE))
        } else {
            r
        }
    }

    /// Tags `header` with what its state word holds: its priority, and
    /// whether it has an affinity set.
    ///
    /// # Safety
    ///
    /// As for [`JobRef::new`].
    pub(crate) unsafe fn from_header(header: NonNull<JobHeader>) -> Self {
        // SAFETY: the caller guarantees the header is live.
        let h = unsafe { header.as_ref() };
        let affine = if h.affinity() != 0 { AFFINE } else { 0 };
        JobRef(header.map_addr(|a| a | h.priority() as usize | affine))
    }

    /// True for `Normal` jobs without affinity: the ones the plain queues
    /// (a slot's deque, the injector's main queue) take.
    #[inline(always)]
    pub(crate) fn is_plain(self) -> bool {
        self.0.addr().get() & TAG_MASK == PLAIN
    }

    /// True if the job has an affinity set.
    #[inline]
    pub(crate) fn is_affine(self) -> bool {
        self.0.addr().get() & AFFINE != 0
    }

    /// The raw tagged pointer, to store in a deque slot.
    #[inline(always)]
    pub(crate) fn into_raw(self) -> NonNull<JobHeader> {
        self.0
    }

    /// Rebuilds a `JobRef` from [`JobRef::into_raw`].
    ///
    /// # Safety
    ///
    /// `raw` must come from `into_raw`, and the job not have executed.
    #[inline(always)]
    pub(crate) unsafe fn from_raw(raw: NonNull<JobHeader>) -> Self {
        JobRef(raw)
    }

    /// The priority carried in the tag, readable without touching the job.
    #[inline]
    pub(crate) fn priority(self) -> Priority {
        Priority::from_bits(self.0.addr().get() & TAG_PRIORITY)
    }

    /// The untagged header address.
    #[inline(always)]
    pub(crate) fn header_ptr(self) -> NonNull<JobHeader> {
        self.0.map_addr(|a| {
            // SAFETY: clearing tag bits of a non-null, 8-aligned address
            // whose untagged value is non-null leaves it non-null.
            unsafe { core::num::NonZeroUsize::new_unchecked(a.get() & !TAG_MASK) }
        })
    }

    /// Runs the job.
    ///
    /// # Safety
    ///
    /// The caller took this `JobRef` from a queue (or created it) and has the
    /// sole right to execute it (rule 1).
    #[inline(always)]
    pub(crate) unsafe fn execute(self) {
        let header = self.header_ptr();
        // SAFETY: the header is live until executed (rule 2); `execute` is
        // the function its job type installed for exactly this pointer.
        unsafe { (header.as_ref().execute)(header) }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    unsafe fn nothing(_: NonNull<JobHeader>) {}

    #[test]
    fn tag_round_trip() {
        let h = JobHeader::new(nothing);
        let p = NonNull::from(&h);
        // SAFETY: `h` outlives the reference and is never executed.
        let r = unsafe { JobRef::new(p, Priority::Normal) };
        assert_eq!(r.priority(), Priority::Normal);
        assert_eq!(r.header_ptr(), p);
        // SAFETY: from `into_raw` of a live job.
        assert_eq!(unsafe { JobRef::from_raw(r.into_raw()) }, r);
        assert_eq!(h.priority(), Priority::Normal);
        assert!(r.is_plain() && !r.is_affine());
        let h = JobHeader::with_options(nothing, Priority::Low, 5);
        let p = NonNull::from(&h);
        // SAFETY: as above.
        let r = unsafe { JobRef::from_header(p) };
        assert_eq!((r.priority(), h.affinity()), (Priority::Low, 5));
        assert!(!r.is_plain() && r.is_affine());
        assert_eq!(r.header_ptr(), p);
        // SAFETY: as above.
        assert_eq!(unsafe { JobRef::tagged(p, Priority::Low, 5) }, r);
        let h = JobHeader::with_options(nothing, Priority::High, 0);
        // SAFETY: as above.
        let r = unsafe { JobRef::from_header(NonNull::from(&h)) };
        assert_eq!(r.priority(), Priority::High);
        assert!(!r.is_plain() && !r.is_affine());
    }
}
