//! The context switch for AArch64 (AAPCS64: Linux, the BSDs, macOS).
//!
//! A suspended context is nothing but its stack pointer: [`switch`] stores
//! the state the ABI says a callee must preserve below the current stack
//! pointer, stores the stack pointer, loads the other context's, and
//! reloads that one's state. Everything else (caller-saved registers, the
//! condition flags, FPSR's cumulative exception bits) is already dead at
//! the call, because `switch` is an ordinary `extern "C"` call to the
//! compiler.
//!
//! Callee-saved in AAPCS64 (§6.1.1 and §6.1.2): x19–x28, the frame
//! pointer x29, the stack pointer, and the low 64 bits of v8–v15 (d8–d15).
//! The link register x30 holds our return address, so it is saved too and
//! is what a resumed context returns through. x18 is not touched: it is a
//! temporary on Linux and reserved for the platform elsewhere.
//!
//! The FPCR (rounding mode, flush-to-zero, default NaN, trap enables) is
//! per-context state like MXCSR on x86_64. [`switch`] leaves it alone:
//! Rust code runs in the default floating-point environment, so it is the
//! same in every context. [`switch_float_env`] saves and restores it too,
//! for pools whose jobs call foreign code that changes it
//! (`Builder::fiber_float_env`). Both use the same frame, but `switch`
//! leaves its FPCR slot unwritten: a context must be resumed by the
//! variant that suspended it (or be fresh from [`init`], whose frame holds
//! the default). A pool's slots use one variant throughout.
//!
//! Saved frame, at a suspended context's stack pointer `sp` (addresses grow
//! upwards in this picture; the stack grows down, towards `sp + 0x00`):
//!
//! ```text
//!   sp + 0xb0  ┄┄ the caller of `switch`'s frame ┄┄
//!   sp + 0xa8  unused (keeps sp 16-byte aligned)
//!   sp + 0xa0  FPCR
//!   sp + 0x98  d15
//!   sp + 0x90  d14
//!   sp + 0x88  d13
//!   sp + 0x80  d12
//!   sp + 0x78  d11
//!   sp + 0x70  d10
//!   sp + 0x68  d9
//!   sp + 0x60  d8
//!   sp + 0x58  x28
//!   sp + 0x50  x27
//!   sp + 0x48  x26
//!   sp + 0x40  x25
//!   sp + 0x38  x24
//!   sp + 0x30  x23
//!   sp + 0x28  x22
//!   sp + 0x20  x21
//!   sp + 0x18  x20
//!   sp + 0x10  x19
//!   sp + 0x08  x30 (lr): return address into the caller of `switch`
//!   sp + 0x00  x29 (fp)                <- saved stack pointer
//! ```
//!
//! A fresh context ([`init`]) gets the same frame, built by hand: its
//! "return address" is [`trampoline`], x19 holds the entry's argument and
//! x20 the entry function, so the first switch to it "returns" into the
//! trampoline, which calls `entry(arg)`. The entry never returns.
//!
//! The stack pointer stays 16-byte aligned throughout, as AAPCS64 requires
//! (and the hardware checks, on Linux): the frame is reserved and released
//! by a single pre-/post-indexed `stp`/`ldp` of a multiple of 16, and every
//! stack pointer `switch` loads was aligned when it was saved or built.
//!
//! Unwinding never crosses these frames: every fiber entry catches panics
//! (and is `extern "C"`, so an escaping one aborts), and the trampoline has
//! no unwind info and clears fp and lr, so a backtrace ends there.

use core::arch::naked_asm;

/// Bytes `switch` keeps on a suspended stack.
pub(crate) const FRAME_SIZE: usize = 0xb0;

const OFF_X29: usize = 0x00;
const OFF_X30: usize = 0x08;
const OFF_X19: usize = 0x10;
const OFF_X20: usize = 0x18;
const OFF_X21: usize = 0x20;
const OFF_X23: usize = 0x30;
const OFF_X25: usize = 0x40;
const OFF_X27: usize = 0x50;
const OFF_D8: usize = 0x60;
const OFF_D10: usize = 0x70;
const OFF_D12: usize = 0x80;
const OFF_D14: usize = 0x90;
const OFF_FPCR: usize = 0xa0;

// The asm below stores registers in pairs (`stp a, b, [sp, #off]` puts `a`
// at `off` and `b` at `off + 8`), the first pair (x29, x30) by the
// pre-indexed store that reserves the frame, so at offset 0. These offsets
// are what that order produces, and `init` writes the same layout.
const _: () = assert!(OFF_X29 == 0 && OFF_X30 == OFF_X29 + 8);
const _: () = assert!(OFF_X19 == OFF_X30 + 8 && OFF_X20 == OFF_X19 + 8);
const _: () = assert!(OFF_X21 == OFF_X19 + 16 && OFF_X23 == OFF_X21 + 16);
const _: () = assert!(OFF_X25 == OFF_X23 + 16 && OFF_X27 == OFF_X25 + 16);
const _: () = assert!(OFF_D8 == OFF_X27 + 16 && OFF_D10 == OFF_D8 + 16);
const _: () = assert!(OFF_D12 == OFF_D10 + 16 && OFF_D14 == OFF_D12 + 16);
const _: () = assert!(OFF_FPCR == OFF_D14 + 16 && FRAME_SIZE == OFF_FPCR + 16);
// The pair offsets are immediates scaled by 8 with a 7-bit signed range:
// multiples of 8 in [-512, 504]. That covers the pre-indexed `-FRAME_SIZE`
// and the post-indexed `FRAME_SIZE` as well.
const _: () = assert!(
    OFF_D14.is_multiple_of(8)
        && OFF_D14 <= 504
        && FRAME_SIZE.is_multiple_of(8)
        && FRAME_SIZE <= 504
);
// sp must be 16-byte aligned whenever it is used to access memory: the
// frame is reserved in one step, so its size must keep the alignment.
const _: () = assert!(FRAME_SIZE.is_multiple_of(16));

/// FPCR at process start on Linux: round to nearest, no flush-to-zero, no
/// default NaN, no traps.
const FPCR_DEFAULT: u64 = 0;

/// Saves the current context's callee-saved registers on its stack,
/// writes its stack pointer to `*save`, and resumes the context whose
/// stack pointer is `to`. Returns when some later switch resumes the saved
/// context. The FPCR is left as it is (see the module docs).
///
/// # Safety
///
/// `save` must be valid for a write. `to` must be a stack pointer saved by
/// `switch` (a context suspended on this thread and not resumed since) or
/// returned by [`init`] and not used yet; its stack must be alive.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn switch(save: *mut *mut u8, to: *mut u8) {
    naked_asm!(
        // x0 = save, x1 = to, x30 = our return address.
        "stp x29, x30, [sp, #-{frame}]!", // reserve the frame; fp, lr -> 0x00, 0x08
        "stp x19, x20, [sp, #{x19}]",     // -> 0x10, 0x18
        "stp x21, x22, [sp, #{x21}]",     // -> 0x20, 0x28
        "stp x23, x24, [sp, #{x23}]",     // -> 0x30, 0x38
        "stp x25, x26, [sp, #{x25}]",     // -> 0x40, 0x48
        "stp x27, x28, [sp, #{x27}]",     // -> 0x50, 0x58
        "stp d8, d9, [sp, #{d8}]",        // -> 0x60, 0x68
        "stp d10, d11, [sp, #{d10}]",     // -> 0x70, 0x78
        "stp d12, d13, [sp, #{d12}]",     // -> 0x80, 0x88
        "stp d14, d15, [sp, #{d14}]",     // -> 0x90, 0x98
        "mov x10, sp",                    // `str` cannot store sp itself
        "str x10, [x0]",                  // *save = our stack pointer
        "mov sp, x1",                     // switch stacks: now on the other context's
        "ldp x19, x20, [sp, #{x19}]",     // its x19, x20 <- 0x10, 0x18
        "ldp x21, x22, [sp, #{x21}]",     // its x21, x22 <- 0x20, 0x28
        "ldp x23, x24, [sp, #{x23}]",     // its x23, x24 <- 0x30, 0x38
        "ldp x25, x26, [sp, #{x25}]",     // its x25, x26 <- 0x40, 0x48
        "ldp x27, x28, [sp, #{x27}]",     // its x27, x28 <- 0x50, 0x58
        "ldp d8, d9, [sp, #{d8}]",        // its d8, d9 <- 0x60, 0x68
        "ldp d10, d11, [sp, #{d10}]",     // its d10, d11 <- 0x70, 0x78
        "ldp d12, d13, [sp, #{d12}]",     // its d12, d13 <- 0x80, 0x88
        "ldp d14, d15, [sp, #{d14}]",     // its d14, d15 <- 0x90, 0x98
        "ldp x29, x30, [sp], #{frame}",   // its fp, lr <- 0x00, 0x08; drop the frame
        "ret",                            // to x30: its caller of `switch` (or the trampoline)
        frame = const FRAME_SIZE,
        x19 = const OFF_X19,
        x21 = const OFF_X21,
        x23 = const OFF_X23,
        x25 = const OFF_X25,
        x27 = const OFF_X27,
        d8 = const OFF_D8,
        d10 = const OFF_D10,
        d12 = const OFF_D12,
        d14 = const OFF_D14,
    )
}

/// [`switch`], also saving the FPCR (rounding mode, flush-to-zero) with
/// the context and restoring the resumed context's: for code that changes
/// it (foreign libraries setting a rounding mode).
///
/// # Safety
///
/// As for [`switch`], with `to` saved by `switch_float_env` (a frame saved
/// by `switch` has no FPCR in it) or returned by [`init`].
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn switch_float_env(save: *mut *mut u8, to: *mut u8) {
    naked_asm!(
        // x0 = save, x1 = to, x30 = our return address.
        "stp x29, x30, [sp, #-{frame}]!", // reserve the frame; fp, lr -> 0x00, 0x08
        "stp x19, x20, [sp, #{x19}]",     // -> 0x10, 0x18
        "stp x21, x22, [sp, #{x21}]",     // -> 0x20, 0x28
        "stp x23, x24, [sp, #{x23}]",     // -> 0x30, 0x38
        "stp x25, x26, [sp, #{x25}]",     // -> 0x40, 0x48
        "stp x27, x28, [sp, #{x27}]",     // -> 0x50, 0x58
        "stp d8, d9, [sp, #{d8}]",        // -> 0x60, 0x68
        "stp d10, d11, [sp, #{d10}]",     // -> 0x70, 0x78
        "stp d12, d13, [sp, #{d12}]",     // -> 0x80, 0x88
        "stp d14, d15, [sp, #{d14}]",     // -> 0x90, 0x98
        "mrs x9, fpcr",                   // x9 = our FPCR, kept for the compare below
        "str x9, [sp, #{fpcr}]",          // -> 0xa0
        "mov x10, sp",                    // `str` cannot store sp itself
        "str x10, [x0]",                  // *save = our stack pointer
        "mov sp, x1",                     // switch stacks: now on the other context's
        "ldp x19, x20, [sp, #{x19}]",     // its x19, x20 <- 0x10, 0x18
        "ldp x21, x22, [sp, #{x21}]",     // its x21, x22 <- 0x20, 0x28
        "ldp x23, x24, [sp, #{x23}]",     // its x23, x24 <- 0x30, 0x38
        "ldp x25, x26, [sp, #{x25}]",     // its x25, x26 <- 0x40, 0x48
        "ldp x27, x28, [sp, #{x27}]",     // its x27, x28 <- 0x50, 0x58
        "ldp d8, d9, [sp, #{d8}]",        // its d8, d9 <- 0x60, 0x68
        "ldp d10, d11, [sp, #{d10}]",     // its d10, d11 <- 0x70, 0x78
        "ldp d12, d13, [sp, #{d12}]",     // its d12, d13 <- 0x80, 0x88
        "ldp d14, d15, [sp, #{d14}]",     // its d14, d15 <- 0x90, 0x98
        "ldr x10, [sp, #{fpcr}]",         // x10 = its FPCR <- 0xa0
        "cmp x9, x10",                    // writing FPCR is slow on many cores, so
        "b.eq 2f",                        // skip the write when it already holds that value
        "msr fpcr, x10",                  // its FPCR
        "2:",                             // (label, not an instruction)
        "ldp x29, x30, [sp], #{frame}",   // its fp, lr <- 0x00, 0x08; drop the frame
        "ret",                            // to x30: its caller of `switch` (or the trampoline)
        frame = const FRAME_SIZE,
        x19 = const OFF_X19,
        x21 = const OFF_X21,
        x23 = const OFF_X23,
        x25 = const OFF_X25,
        x27 = const OFF_X27,
        d8 = const OFF_D8,
        d10 = const OFF_D10,
        d12 = const OFF_D12,
        d14 = const OFF_D14,
        fpcr = const OFF_FPCR,
    )
}

/// First code of a fresh context, "returned" into by its first `switch`:
/// calls `x20(x19)`, that is `entry(arg)`, with the stack aligned as a call
/// expects and the frame chain ended. `entry` never returns; if it did,
/// `brk` traps.
#[unsafe(naked)]
unsafe extern "C" fn trampoline() {
    naked_asm!(
        // sp = top - 16 here, 16-byte aligned (see `init`); x30 = this
        // function's own address (we got here by `ret`).
        "mov x29, xzr", // fp = 0: the end of the frame-record chain
        "mov x30, xzr", // lr = 0: no caller, as glibc's `_start` does
        "mov x0, x19",  // first argument: arg
        "blr x20",      // entry(arg); lr = the `brk` below
        "brk #0",       // entry returned: impossible, trap
    )
}

/// Prepares a fresh context on the stack whose highest address is `top`;
/// the first [`switch`] to the returned stack pointer calls `entry(arg)`.
///
/// # Safety
///
/// `top` must be the upper end of a writable stack of at least
/// `FRAME_SIZE + 16` bytes (plus whatever `entry` uses) that no live
/// context is using.
pub(crate) unsafe fn init(
    top: *mut u8,
    entry: unsafe extern "C" fn(*mut ()) -> !,
    arg: *mut (),
) -> *mut u8 {
    // After the first `switch` drops the frame, sp = sp + FRAME_SIZE =
    // top - 16, 16-aligned as the trampoline's call needs. The 16 bytes
    // above that are left zero, like the x86_64 frame's null return
    // address: an empty frame record where debuggers stop walking.
    let top = top.map_addr(|a| a & !15);
    // SAFETY: the caller gives us at least `FRAME_SIZE + 16` bytes below
    // `top` (aligning down only moves `top` into them).
    let sp = unsafe { top.sub(16 + FRAME_SIZE) };
    for off in (0..FRAME_SIZE + 16).step_by(8) {
        // SAFETY: `sp + off` for `off < FRAME_SIZE + 16` lies in
        // `[top - 16 - FRAME_SIZE, top - 8]`, inside the caller's stack,
        // and is 8-aligned (`sp` is 16-aligned).
        unsafe { sp.add(off).cast::<usize>().write(0) };
    }
    // Every other slot stays zero: x21–x28, the d registers, and x29 (the
    // trampoline clears it again anyway).
    let words: [(usize, usize); 4] = [
        (OFF_X30, trampoline as *const () as usize),
        (OFF_X19, arg as usize),
        (OFF_X20, entry as *const () as usize),
        (OFF_FPCR, FPCR_DEFAULT as usize),
    ];
    for (off, value) in words {
        // SAFETY: as above, `off < FRAME_SIZE`.
        unsafe { sp.add(off).cast::<usize>().write(value) };
    }
    sp
}
