//! The context switch for x86_64 (System V ABI: Linux, the BSDs, macOS).
//!
//! A suspended context is nothing but its stack pointer: [`switch`] pushes
//! the state the ABI says a callee must preserve onto the current stack,
//! stores the stack pointer, loads the other context's, and pops that
//! one's state. Everything else (caller-saved registers, flags) is already
//! dead at the call, because `switch` is an ordinary `extern "C"` call to
//! the compiler.
//!
//! Callee-saved in the System V ABI: rbx, rbp, r12–r15, the stack pointer,
//! the MXCSR control bits and the x87 control word (§3.2.1 and §3.2.3 of
//! the psABI). Nothing else.
//!
//! [`switch`] saves the registers only. Rust code runs in the default
//! floating-point environment (the compiler assumes it: changing the
//! rounding mode or exception masks from Rust is not supported), so the
//! control words are the same in every context, and `stmxcsr`/`ldmxcsr`
//! would cost more than the rest of the switch (measured: 11.0 ns → 4.3 ns
//! per round trip without them). [`switch_float_env`] also saves and
//! restores them, for pools whose jobs call foreign code that changes them
//! (`Builder::fiber_float_env`). Both use the same frame, but `switch`
//! leaves its control-word slot unwritten: a context must be resumed by
//! the variant that suspended it (or be fresh from [`init`], whose frame
//! holds the defaults). A pool's slots use one variant throughout.
//!
//! Saved frame, at a suspended context's stack pointer `sp` (addresses grow
//! upwards in this picture; the stack grows down, towards `sp + 0x00`):
//!
//! ```text
//!   sp + 0x40  ┄┄ the caller of `switch`'s frame ┄┄
//!   sp + 0x38  return address into the caller of `switch`
//!   sp + 0x30  MXCSR (4 bytes), x87 control word (2 bytes), 2 unused
//!   sp + 0x28  rbp
//!   sp + 0x20  rbx
//!   sp + 0x18  r12
//!   sp + 0x10  r13
//!   sp + 0x08  r14
//!   sp + 0x00  r15                    <- saved stack pointer
//! ```
//!
//! A fresh context ([`init`]) gets the same frame, built by hand: its
//! "return address" is [`trampoline`], r12 holds the entry's argument and
//! r13 the entry function, so the first switch to it "returns" into the
//! trampoline, which calls `entry(arg)`. The entry never returns.
//!
//! Unwinding never crosses these frames: every fiber entry catches panics
//! (and is `extern "C"`, so an escaping one aborts), and the trampoline has
//! no unwind info, so a backtrace ends there.

use core::arch::naked_asm;

/// Bytes `switch` keeps on a suspended stack.
pub(crate) const FRAME_SIZE: usize = 0x40;

const OFF_R15: usize = 0x00;
const OFF_R14: usize = 0x08;
const OFF_R13: usize = 0x10;
const OFF_R12: usize = 0x18;
const OFF_RBX: usize = 0x20;
const OFF_RBP: usize = 0x28;
const OFF_MXCSR: usize = 0x30;
const OFF_X87_CW: usize = 0x34;
const OFF_RET: usize = 0x38;

// The asm below pushes six registers after reserving 8 bytes for the
// control words, then returns through the next word: these offsets are
// what that order produces, and `init` writes the same layout.
const _: () = assert!(OFF_R15 == 0 && OFF_R14 == OFF_R15 + 8 && OFF_R13 == OFF_R14 + 8);
const _: () = assert!(OFF_R12 == OFF_R13 + 8 && OFF_RBX == OFF_R12 + 8 && OFF_RBP == OFF_RBX + 8);
const _: () = assert!(OFF_MXCSR == OFF_RBP + 8 && OFF_X87_CW == OFF_MXCSR + 4);
const _: () = assert!(OFF_RET == OFF_MXCSR + 8 && FRAME_SIZE == OFF_RET + 8);
// The stack is 16-byte aligned before a `call`; the call pushes 8 bytes,
// and the frame must keep `sp + FRAME_SIZE` aligned (see `init`).
const _: () = assert!(FRAME_SIZE.is_multiple_of(16));

/// MXCSR at process start: all exceptions masked, round to nearest.
const MXCSR_DEFAULT: u32 = 0x1F80;
/// x87 control word at process start: all exceptions masked, 64-bit
/// precision, round to nearest.
const X87_CW_DEFAULT: u16 = 0x037F;

/// Saves the current context's callee-saved registers on its stack,
/// writes its stack pointer to `*save`, and resumes the context whose
/// stack pointer is `to`. Returns when some later switch resumes the saved
/// context. The floating-point control words are left as they are (see
/// the module docs).
///
/// # Safety
///
/// `save` must be valid for a write. `to` must be a stack pointer saved by
/// `switch` (a context suspended on this thread and not resumed since) or
/// returned by [`init`] and not used yet; its stack must be alive.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn switch(save: *mut *mut u8, to: *mut u8) {
    naked_asm!(
        // rdi = save, rsi = to. On entry [rsp] is our return address.
        "sub rsp, 8",     // the control-word slot (0x30), left as it is
        "push rbp",       // -> 0x28
        "push rbx",       // -> 0x20
        "push r12",       // -> 0x18
        "push r13",       // -> 0x10
        "push r14",       // -> 0x08
        "push r15",       // -> 0x00
        "mov [rdi], rsp", // *save = our stack pointer
        "mov rsp, rsi",   // switch stacks: now on the other context's
        "pop r15",        // restore in the reverse order
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "add rsp, 8", // skip the control-word slot
        "ret",        // into its caller of `switch` (or the trampoline)
    )
}

/// [`switch`], also saving the MXCSR control bits and the x87 control word
/// with the context and restoring the resumed context's: for code that
/// changes them (foreign libraries setting a rounding mode).
///
/// # Safety
///
/// As for [`switch`], with `to` saved by `switch_float_env` (a frame saved
/// by `switch` has no control words in it) or returned by [`init`].
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn switch_float_env(save: *mut *mut u8, to: *mut u8) {
    naked_asm!(
        // rdi = save, rsi = to. On entry [rsp] is our return address.
        "sub rsp, 8",       // room for the two control words (0x30)
        "stmxcsr [rsp]",    // MXCSR control/status -> 0x30
        "fnstcw [rsp + 4]", // x87 control word -> 0x34
        "push rbp",         // -> 0x28
        "push rbx",         // -> 0x20
        "push r12",         // -> 0x18
        "push r13",         // -> 0x10
        "push r14",         // -> 0x08
        "push r15",         // -> 0x00
        "mov [rdi], rsp",   // *save = our stack pointer
        "mov rsp, rsi",     // switch stacks: now on the other context's
        "pop r15",          // restore in the reverse order
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ldmxcsr [rsp]",   // its MXCSR
        "fldcw [rsp + 4]", // its x87 control word
        "add rsp, 8",      // drop the control-word slot
        "ret",             // into its caller of `switch` (or the trampoline)
    )
}

/// First code of a fresh context, "returned" into by its first `switch`:
/// calls `r13(r12)`, that is `entry(arg)`, with the stack aligned as a call
/// expects. `entry` never returns; if it did, `ud2` traps.
#[unsafe(naked)]
unsafe extern "C" fn trampoline() {
    naked_asm!(
        // rsp = top - 16 here, 16-byte aligned (see `init`).
        "mov rdi, r12", // first argument: arg
        "call r13",     // entry(arg); pushes a return address
        "ud2",          // entry returned: impossible, trap
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
    // After the first `switch` pops the frame, rsp = sp + FRAME_SIZE; the
    // trampoline then `call`s, which needs rsp 16-aligned. The 16 bytes
    // above that are left zero: a null "return address" where debuggers
    // stop walking.
    let top = (top as usize) & !15;
    let sp = top - 16 - FRAME_SIZE;
    let words: [(usize, usize); 9] = [
        (OFF_R15, 0),
        (OFF_R14, 0),
        (OFF_R13, entry as *const () as usize),
        (OFF_R12, arg as usize),
        (OFF_RBX, 0),
        (OFF_RBP, 0),
        (
            OFF_MXCSR,
            MXCSR_DEFAULT as usize | (X87_CW_DEFAULT as usize) << 32,
        ),
        (OFF_RET, trampoline as *const () as usize),
        (FRAME_SIZE, 0),
    ];
    for (off, value) in words {
        // SAFETY: `sp + off` for `off <= FRAME_SIZE` lies in
        // `[top - 16 - FRAME_SIZE, top - 8]`, inside the caller's stack,
        // and is 8-aligned.
        unsafe { ((sp + off) as *mut usize).write(value) };
    }
    // Leave `top - 8` zero too (the upper half of the null return address).
    // SAFETY: as above.
    unsafe { ((top - 8) as *mut usize).write(0) };
    sp as *mut u8
}
