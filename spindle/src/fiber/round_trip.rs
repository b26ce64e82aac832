//! The context switch alone, timed: the `spindle-switch` row of the
//! `fiber-switch` benchmark. It separates what [`context::switch`] costs
//! from what a scheduler yield adds on top (the ready queue, the private
//! join stack, the slot re-read after a resume).
//!
//! Two contexts, the calling thread's stack and one fiber stack, switch to
//! each other from the same non-inlined loop, so each `switch` returns to
//! the call site the CPU's return predictor expects: the shape of two
//! fibers yielding to each other from the same code in a pool.

use std::time::Duration;

/// Times `n` round trips (2n switches) between the calling thread and a
/// fresh fiber, after one untimed round trip that starts the fiber.
/// `None` where this target has no context switch.
///
/// # Panics
///
/// If the fiber stack cannot be mapped, or if the fiber did not run once
/// per round trip (a broken switch).
pub fn context_switch_round_trips(n: u32) -> Option<Duration> {
    #[cfg(spindle_fibers)]
    {
        Some(imp::run(n, false))
    }
    #[cfg(not(spindle_fibers))]
    {
        let _ = n;
        None
    }
}

/// As [`context_switch_round_trips`], but the two contexts switch from two
/// different call sites (two copies of the loop), as a fiber yielding to
/// a scheduler loop does: each `switch` then returns to an address the
/// CPU's return predictor did not expect. The difference between the two
/// is the cost of those mispredictions.
pub fn context_switch_round_trips_two_sites(n: u32) -> Option<Duration> {
    #[cfg(spindle_fibers)]
    {
        Some(imp::run(n, true))
    }
    #[cfg(not(spindle_fibers))]
    {
        let _ = n;
        None
    }
}

#[cfg(spindle_fibers)]
mod imp {
    use super::super::context::{init, switch};
    use super::super::stack::Stack;
    use core::ptr;
    use std::time::{Duration, Instant};

    /// What both contexts share, indexed by context (`[0]` the thread,
    /// `[1]` the fiber): saved stack pointers and switches made.
    struct Ping {
        sp: [*mut u8; 2],
        turns: [u64; 2],
        /// The fiber switches from its own copy of the loop.
        two_sites: bool,
    }

    /// `n` switches from context `me` to the other one, each returning
    /// when the other switches back. One call site for both contexts:
    /// nothing here may branch on `me`, or the compiler makes two loops
    /// and every `switch` returns where the CPU did not predict (that
    /// doubles the round trip).
    ///
    /// # Safety
    ///
    /// `p` is valid; `p.sp[1 - me]` is the other context's saved (or
    /// fresh) stack pointer, and that context switches back each time.
    /// `SITE` only makes distinct copies (distinct call sites) of the
    /// loop for `run(_, true)`.
    #[inline(never)]
    unsafe fn ping<const SITE: usize>(p: *mut Ping, me: usize, n: u32) {
        // Opaque, so that no specialised copy per constant `me` (a clone,
        // or a loop unswitched on it) gives each context its own site.
        let me = core::hint::black_box(me);
        for _ in 0..n {
            // SAFETY: the caller's contract; only one context runs at a
            // time, so the raw accesses never overlap.
            unsafe {
                (*p).turns[me] += 1;
                switch(&raw mut (*p).sp[me], (*p).sp[1 - me]);
            }
        }
    }

    /// The fiber: switches back forever. It is abandoned, suspended, when
    /// the thread is done; its frames hold nothing to drop.
    ///
    /// # Safety
    ///
    /// `arg` is the `Ping` of the thread that started this context, alive
    /// whenever this context runs.
    unsafe extern "C" fn fiber(arg: *mut ()) -> ! {
        let p: *mut Ping = arg.cast();
        loop {
            // SAFETY: the thread resumes us only while its `Ping` lives,
            // and always from `ping`, whose loop switches back.
            unsafe {
                if (*p).two_sites {
                    ping::<1>(p, 1, u32::MAX);
                } else {
                    ping::<0>(p, 1, u32::MAX);
                }
            }
        }
    }

    pub(super) fn run(n: u32, two_sites: bool) -> Duration {
        let stack = Stack::new(64 * 1024).expect("spindle: mapping a fiber stack");
        let mut p = Ping {
            sp: [ptr::null_mut(); 2],
            turns: [0; 2],
            two_sites,
        };
        let pp: *mut Ping = &mut p;
        // SAFETY: the stack is fresh and outlives the fiber's use of it
        // (we never resume it after `stack` drops).
        unsafe { (*pp).sp[1] = init(stack.top(), fiber, pp.cast()) };
        // SAFETY: `sp[1]` is the fresh fiber, which switches back from
        // `ping` every turn; `p` outlives every resume.
        let time = unsafe {
            ping::<0>(pp, 0, 1);
            let start = Instant::now();
            ping::<0>(pp, 0, n);
            start.elapsed()
        };
        // SAFETY: the fiber is suspended; nothing else touches `p`.
        let turns = unsafe { (*pp).turns };
        let want = u64::from(n) + 1;
        assert_eq!(turns, [want; 2], "spindle: a context missed a turn");
        time
    }
}

#[cfg(all(test, not(loom), not(miri), spindle_fibers))]
mod tests {
    #[test]
    fn the_fiber_runs_once_per_round_trip() {
        // The count is checked inside; a switch that returned without
        // running the fiber would fail its assert.
        assert!(super::context_switch_round_trips(1000).is_some());
        assert!(super::context_switch_round_trips_two_sites(1000).is_some());
    }
}
