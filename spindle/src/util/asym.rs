//! Asymmetric fences: a free fence for a hot side that runs all the time,
//! paid for by an expensive one on a rare side.
//!
//! A Dekker-style handshake (store my flag, then load yours) needs a
//! store-load fence on both sides. When one side runs millions of times a
//! second (a worker popping its own join halves) and the other almost
//! never (an idle thread taking a hidden job), the fast side can use a
//! compiler fence only, if the slow side forces a full memory barrier on
//! every running thread of the process: Linux's
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`. For each thread it
//! interrupts (or finds descheduled, which is a barrier too), it runs a
//! full fence at some point between the call's start and its return; so
//! every memory access the thread made before that point is visible to the
//! caller after the call, and every access the caller made before the call
//! is visible to the thread after that point. A fast side whose store and
//! load are kept in program order (the compiler fence) then behaves as if
//! it had a real fence between them, at whichever point the barrier hit.
//!
//! The choice is made at compile time, so the fast side has no branch: on
//! Linux the fast side's fence is a compiler fence, and if the running
//! kernel refuses `membarrier` (an old kernel, a sandbox that filters it)
//! the slow side is simply never taken. Everywhere else (other systems,
//! Miri, loom, ThreadSanitizer) both sides use a real `SeqCst` fence.
//!
//! Papers: E. Ladan-Mozes, I-T. A. Lee, D. Vyukov, *Location-Based Memory
//! Fences*, SPAA 2011; D. Dice, H. Huang, M. Yang, *Asymmetric Dekker
//! Synchronization*, 2001 (the technique); Linux `membarrier(2)`.

use core::sync::atomic::AtomicU8;

use crate::facade::{fence, Ordering};

/// True where the fast side's fence is a compiler fence only (no branch on
/// the hot path: decided at compile time). Then the slow side must use the
/// barrier, and where the running kernel refuses it, the slow side is not
/// taken at all ([`slow_side_allowed`] is false). Elsewhere both sides use
/// `SeqCst` fences.
const COMPILER_FENCE_ONLY: bool = cfg!(all(
    any(target_os = "linux", target_os = "android"),
    not(miri),
    not(loom),
    not(spindle_tsan)
));

/// Whether the process registered for expedited barriers: unknown yet,
/// no, yes. A process-wide setting, not part of any protocol (hence
/// `core`'s atomic even under loom).
static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const NO: u8 = 1;
const YES: u8 = 2;

/// True if the slow side may run: the barrier works in this process
/// (registering for it on the first call), or the fast side uses a real
/// fence anyway. Where it is false, the slow side must not be taken: its
/// fence would not pair with the fast side's.
pub(crate) fn slow_side_allowed() -> bool {
    if !COMPILER_FENCE_ONLY {
        return true;
    }
    match STATE.load(Ordering::Acquire) {
        YES => true,
        NO => false,
        _ => {
            let ok = register();
            // Every caller computes the same answer; the first store wins.
            let _ = STATE.compare_exchange(
                UNKNOWN,
                if ok { YES } else { NO },
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            STATE.load(Ordering::Acquire) == YES
        }
    }
}

/// The fast side's fence, between its store and its load.
#[inline(always)]
pub(crate) fn light() {
    if COMPILER_FENCE_ONLY {
        core::sync::atomic::compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The slow side's fence. Call only where [`slow_side_allowed`].
#[inline]
pub(crate) fn heavy() {
    if COMPILER_FENCE_ONLY {
        let ok = barrier();
        debug_assert!(ok, "membarrier failed after it registered");
        if ok {
            return;
        }
    }
    fence(Ordering::SeqCst);
}
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(miri),
    not(loom),
    not(spindle_tsan)
))]
mod sys {
    // From <linux/membarrier.h>.
    const CMD_QUERY: libc::c_int = 0;
    const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    fn membarrier(cmd: libc::c_int) -> libc::c_long {
        // SAFETY: `membarrier` takes a command, flags and a CPU id, and
        // only synchronises; no memory of ours is passed.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_uint,
                0 as libc::c_int,
            )
        }
    }

    /// Asks the kernel for expedited private barriers; true if granted.
    pub(super) fn register() -> bool {
        let supported = membarrier(CMD_QUERY);
        if supported < 0 || supported & libc::c_long::from(CMD_PRIVATE_EXPEDITED) == 0 {
            return false;
        }
        membarrier(CMD_REGISTER_PRIVATE_EXPEDITED) == 0
    }

    /// One barrier on every running thread of the process.
    pub(super) fn barrier() -> bool {
        membarrier(CMD_PRIVATE_EXPEDITED) == 0
    }
}

#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(miri),
    not(loom),
    not(spindle_tsan)
)))]
mod sys {
    pub(super) fn register() -> bool {
        false
    }

    pub(super) fn barrier() -> bool {
        false
    }
}

use sys::{barrier, register};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_stable_and_both_sides_run() {
        let first = slow_side_allowed();
        assert_eq!(slow_side_allowed(), first);
        light();
        if first {
            heavy();
        }
        if COMPILER_FENCE_ONLY {
            // This project's machines run Linux with membarrier: without it
            // hidden steals are off, which would go unnoticed otherwise.
            assert!(first, "membarrier refused: hidden steals are off");
        }
    }
}
