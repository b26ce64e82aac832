//! How the calling thread blocks on a [`WaitCell`]: the one function every
//! sync primitive waits through.
//!
//! A thread that runs a pool slot (a worker, or an outside thread in a
//! pool's participant slot) installs the slot here while it runs it; a
//! wait then suspends the slot's running fiber, or runs other jobs, as the
//! slot decides. Any other thread parks on its own parker. The sync layer
//! so never names the worker layer above it.

use core::cell::Cell;

use super::parker::thread_parker;
use super::wait_cell::WaitCell;

/// May a wait run other jobs on the waiting stack while it cannot suspend?
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Help {
    /// Yes: a `join`, a scope, a counter, an event. The waited-for work may
    /// be among the jobs it runs.
    Allowed,
    /// No: a lock. A job run on top of the waiting frame could want the
    /// same lock, and neither could go on (the deadlock of rayon #592).
    Forbidden,
}

/// What a thread that runs a pool slot waits with.
pub(crate) trait Blocker {
    /// Returns once `cell` is set.
    fn block(&self, cell: &WaitCell, help: Help);
}

std::thread_local! {
    /// The slot this thread runs, as a blocker; `None` outside every pool.
    static BLOCKER: Cell<Option<*const dyn Blocker>> = const { Cell::new(None) };
}

/// Makes `blocker` the calling thread's (the slot it runs now, or none);
/// returns the previous one, to restore.
///
/// # Safety
///
/// A `Some` blocker stays alive, and is used by this thread only, until
/// it is replaced here.
pub(crate) unsafe fn set_blocker(
    blocker: Option<*const dyn Blocker>,
) -> Option<*const dyn Blocker> {
    BLOCKER.with(|b| b.replace(blocker))
}

/// Blocks the calling thread (or its running fiber) until `cell` is set.
pub(crate) fn block(cell: &WaitCell, help: Help) {
    if cell.probe() {
        return;
    }
    if let Some(b) = BLOCKER.with(Cell::get) {
        // SAFETY: `set_blocker`'s contract: alive and ours while installed.
        unsafe { &*b }.block(cell, help);
        return;
    }
    let parker = thread_parker();
    while !cell.probe() {
        if cell.prepare_sleep(&parker) {
            parker.park();
        }
    }
}
