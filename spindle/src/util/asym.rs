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
//! Where `membarrier` is not available (other systems, an old kernel, a
//! sandbox that filters it, Miri, loom, ThreadSanitizer) both sides use a
//! real `SeqCst` fence: correct, and the fast side pays for it.
//!
//! Papers: E. Ladan-Mozes, I-T. A. Lee, D. Vyukov, *Location-Based Memory
//! Fences*, SPAA 2011; D. Dice, H. Huang, M. Yang, *Asymmetric Dekker
//! Synchronization*, 2001 (the technique); Linux `membarrier(2)`.

use core::sync::atomic::AtomicU8;

use crate::facade::{fence, Ordering};

/// Whether this process can use the heavy side: unknown yet, no, yes. A
/// process-wide setting, not part of any protocol (hence `core`'s atomic
/// even under loom, where it stays "no").
static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const NO: u8 = 1;
const YES: u8 = 2;

/// True if the fast side may use a compiler fence only: the heavy side
/// works in this process. Decided once (registering the process for
/// expedited barriers on the way); call it before any fast side runs, and
/// give every fast side the same answer (a pool reads it when it builds
/// its slots).
pub(crate) fn available() -> bool {
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

/// The fast side's fence between its store and its load. `asymmetric` is
/// what [`available`] said when the fast side was set up.
#[inline(always)]
pub(crate) fn light(asymmetric: bool) {
    if asymmetric {
        core::sync::atomic::compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The slow side's fence: a barrier on every running thread (where
/// [`available`]), else a plain `SeqCst` fence, which pairs with the fast
/// side's real fence.
#[inline]
pub(crate) fn heavy() {
    if STATE.load(Ordering::Acquire) == YES && barrier() {
        return;
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
        let first = available();
        assert_eq!(available(), first);
        light(first);
        heavy();
        if cfg!(all(target_os = "linux", not(miri), not(spindle_tsan))) {
            // This project's machines run Linux with membarrier; a refusal
            // would only cost speed, but it would go unnoticed otherwise.
            eprintln!("asymmetric fences available: {first}");
        }
    }
}
