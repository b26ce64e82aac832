//! Completion signals that a waiting slot can sleep on.
//!
//! A latch is set once by whoever finishes the work. A waiter first helps
//! (runs other jobs); when there is nothing to help with, it calls
//! [`Latch::prepare_sleep`], which records that the setter must unpark it,
//! and then sleeps through the pool's sleep protocol. The setter must read
//! everything it needs to wake the waiter *before* it sets the latch: the
//! latch may live in the waiter's stack frame and vanish the moment the
//! waiter sees it set (the same rule as rayon's `Latch::set` taking a raw
//! pointer).

use crate::job::{DONE, SLEEPING};
use crate::sleep::Parker;
use crate::sync::{Arc, AtomicU32, Ordering};

/// Something a slot can wait for while running other jobs.
pub(crate) trait Latch {
    /// True once set; `Acquire`, so the work's results are visible.
    fn probe(&self) -> bool;

    /// Arranges for `parker` to be unparked when the latch is set. Returns
    /// false if it is already set (then the caller must not sleep).
    fn prepare_sleep(&self, parker: &Arc<Parker>) -> bool;
}

/// A stack job's latch: the `DONE` bit of its header's state word. The
/// job knows its owner's parker already, so sleeping only sets `SLEEPING`.
impl Latch for AtomicU32 {
    #[inline]
    fn probe(&self) -> bool {
        self.load(Ordering::Acquire) & DONE != 0
    }

    fn prepare_sleep(&self, _parker: &Arc<Parker>) -> bool {
        // AcqRel: our SLEEPING must be ordered with the setter's `fetch_or`
        // of DONE; whichever RMW comes second sees the other.
        self.fetch_or(SLEEPING, Ordering::AcqRel) & DONE == 0
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sleep::Sleep;
    use loom::thread;

    /// The setter sets DONE while the owner prepares to sleep: the owner
    /// either sees DONE or is unparked; it never sleeps forever.
    #[test]
    fn job_latch_set_racing_sleep() {
        loom::model(|| {
            let sleep = Arc::new(Sleep::new(1));
            let latch = Arc::new(AtomicU32::new(0));
            let (s2, l2) = (sleep.clone(), latch.clone());
            let setter = thread::spawn(move || {
                let old = l2.fetch_or(DONE, Ordering::AcqRel);
                if old & SLEEPING != 0 {
                    s2.parker(0).unpark();
                }
            });
            sleep.start_searching();
            while !latch.probe() {
                if latch.prepare_sleep(sleep.parker(0)) {
                    sleep.sleep(0, || latch.probe());
                }
            }
            sleep.stop_searching(false);
            setter.join().unwrap();
        });
    }
}
