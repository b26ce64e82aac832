//! The context switch alone, on heap stacks: ping-pong, state kept across
//! switches, control words per context.

use super::{init, switch, switch_float_env};
use core::ptr;

/// A heap stack (no guard page: these contexts only run a few frames).
struct TestStack(Vec<u128>);

impl TestStack {
    fn new() -> Self {
        Self(vec![0; 64 * 1024 / 16])
    }
    fn top(&mut self) -> *mut u8 {
        self.0.as_mut_ptr_range().end.cast()
    }
}

struct PingPong {
    main_sp: *mut u8,
    fiber_sp: *mut u8,
    log: Vec<u32>,
}

unsafe extern "C" fn ping_pong_entry(arg: *mut ()) -> ! {
    let pp = arg.cast::<PingPong>();
    for i in 0..1000u32 {
        // SAFETY: the test's `PingPong` outlives this context, and only one
        // side runs at a time.
        unsafe {
            (*pp).log.push(2 * i + 1);
            switch(&raw mut (*pp).fiber_sp, (*pp).main_sp);
        }
    }
    // The test never resumes us after the last round.
    std::process::abort()
}

#[test]
fn ping_pong_alternates() {
    let mut stack = TestStack::new();
    let mut pp = PingPong {
        main_sp: ptr::null_mut(),
        fiber_sp: ptr::null_mut(),
        log: Vec::new(),
    };
    let pp_ptr: *mut PingPong = &mut pp;
    // SAFETY: the stack is unused and outlives the context.
    unsafe { (*pp_ptr).fiber_sp = init(stack.top(), ping_pong_entry, pp_ptr.cast()) };
    for i in 0..1000u32 {
        // SAFETY: `fiber_sp` is the fiber's saved (or fresh) stack pointer.
        unsafe {
            (*pp_ptr).log.push(2 * i);
            switch(&raw mut (*pp_ptr).main_sp, (*pp_ptr).fiber_sp);
        }
    }
    let want: Vec<u32> = (0..2000).collect();
    assert_eq!(pp.log, want);
}

/// Many values live across the switch: the compiler keeps some of them in
/// callee-saved registers, which `switch` must restore.
#[test]
fn values_live_across_switches_survive() {
    struct Ctx {
        main_sp: *mut u8,
        fiber_sp: *mut u8,
    }
    unsafe extern "C" fn entry(arg: *mut ()) -> ! {
        let c = arg.cast::<Ctx>();
        let mut x = [0u64; 8];
        loop {
            for (i, v) in x.iter_mut().enumerate() {
                *v = v.wrapping_mul(31).wrapping_add(i as u64 + 7);
            }
            std::hint::black_box(&x);
            // SAFETY: as in `ping_pong_entry`.
            unsafe { switch(&raw mut (*c).fiber_sp, (*c).main_sp) };
        }
    }
    let mut stack = TestStack::new();
    let mut c = Ctx {
        main_sp: ptr::null_mut(),
        fiber_sp: ptr::null_mut(),
    };
    let cp: *mut Ctx = &mut c;
    // SAFETY: unused stack, outlives the context.
    unsafe { (*cp).fiber_sp = init(stack.top(), entry, cp.cast()) };
    let (mut a, mut b, mut d, mut e, mut f, mut g) = (1u64, 2u64, 3u64, 4u64, 5u64, 6u64);
    for _ in 0..100 {
        a = a.wrapping_mul(3).wrapping_add(b);
        b = b.wrapping_mul(5).wrapping_add(d);
        d = d.wrapping_mul(7).wrapping_add(e);
        e = e.wrapping_mul(11).wrapping_add(f);
        f = f.wrapping_mul(13).wrapping_add(g);
        g = g.wrapping_mul(17).wrapping_add(a);
        // SAFETY: as above.
        unsafe { switch(&raw mut (*cp).main_sp, (*cp).fiber_sp) };
    }
    let (mut a2, mut b2, mut d2, mut e2, mut f2, mut g2) = (1u64, 2u64, 3u64, 4u64, 5u64, 6u64);
    for _ in 0..100 {
        a2 = a2.wrapping_mul(3).wrapping_add(b2);
        b2 = b2.wrapping_mul(5).wrapping_add(d2);
        d2 = d2.wrapping_mul(7).wrapping_add(e2);
        e2 = e2.wrapping_mul(11).wrapping_add(f2);
        f2 = f2.wrapping_mul(13).wrapping_add(g2);
        g2 = g2.wrapping_mul(17).wrapping_add(a2);
        std::hint::black_box(());
    }
    assert_eq!((a, b, d, e, f, g), (a2, b2, d2, e2, f2, g2));
}

/// With `switch_float_env`, floating-point control state belongs to the
/// context: a rounding mode set inside the fiber does not leak out, and
/// comes back when it resumes.
#[cfg(target_arch = "x86_64")]
#[test]
fn mxcsr_is_per_context() {
    use core::arch::asm;
    fn read_mxcsr() -> u32 {
        let mut v = 0u32;
        // SAFETY: stmxcsr stores 4 bytes to the given address.
        unsafe { asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack)) };
        v
    }
    fn write_mxcsr(v: u32) {
        // SAFETY: ldmxcsr loads a valid control value (reserved bits 0).
        unsafe { asm!("ldmxcsr [{}]", in(reg) &v, options(nostack)) };
    }
    struct Ctx {
        main_sp: *mut u8,
        fiber_sp: *mut u8,
        seen: u32,
    }
    unsafe extern "C" fn entry(arg: *mut ()) -> ! {
        let c = arg.cast::<Ctx>();
        // Round toward zero in this context (bits 13-14 = 11).
        write_mxcsr(0x1F80 | 0x6000);
        // SAFETY: as in `ping_pong_entry`.
        unsafe { switch_float_env(&raw mut (*c).fiber_sp, (*c).main_sp) };
        // SAFETY: as above.
        unsafe {
            (*c).seen = read_mxcsr();
            switch_float_env(&raw mut (*c).fiber_sp, (*c).main_sp);
        }
        std::process::abort()
    }
    let before = read_mxcsr();
    let mut stack = TestStack::new();
    let mut c = Ctx {
        main_sp: ptr::null_mut(),
        fiber_sp: ptr::null_mut(),
        seen: 0,
    };
    let cp: *mut Ctx = &mut c;
    // SAFETY: unused stack, outlives the context.
    unsafe {
        (*cp).fiber_sp = init(stack.top(), entry, cp.cast());
        switch_float_env(&raw mut (*cp).main_sp, (*cp).fiber_sp);
    }
    assert_eq!(read_mxcsr(), before, "the fiber's rounding mode leaked out");
    // SAFETY: as above.
    unsafe { switch_float_env(&raw mut (*cp).main_sp, (*cp).fiber_sp) };
    assert_eq!(
        c.seen & 0x6000,
        0x6000,
        "the fiber's rounding mode was lost"
    );
    assert_eq!(read_mxcsr(), before);
}

/// The x87 control word belongs to the context too, and is restored even
/// when MXCSR is the same on both sides.
#[cfg(target_arch = "x86_64")]
#[test]
fn x87_control_word_is_per_context() {
    use core::arch::asm;
    fn read_cw() -> u16 {
        let mut v = 0u16;
        // SAFETY: fnstcw stores 2 bytes to the given address.
        unsafe { asm!("fnstcw [{}]", in(reg) &mut v, options(nostack)) };
        v
    }
    fn write_cw(v: u16) {
        // SAFETY: fldcw loads a control word; all exceptions stay masked.
        unsafe { asm!("fldcw [{}]", in(reg) &v, options(nostack)) };
    }
    struct Ctx {
        main_sp: *mut u8,
        fiber_sp: *mut u8,
        seen: u16,
    }
    // 24-bit precision (bits 8-9 = 00), exceptions masked.
    const SINGLE: u16 = 0x007F;
    unsafe extern "C" fn entry(arg: *mut ()) -> ! {
        let c = arg.cast::<Ctx>();
        write_cw(SINGLE);
        // SAFETY: as in `ping_pong_entry`.
        unsafe { switch_float_env(&raw mut (*c).fiber_sp, (*c).main_sp) };
        // SAFETY: as above.
        unsafe {
            (*c).seen = read_cw();
            switch_float_env(&raw mut (*c).fiber_sp, (*c).main_sp);
        }
        std::process::abort()
    }
    let before = read_cw();
    assert_ne!(before, SINGLE);
    let mut stack = TestStack::new();
    let mut c = Ctx {
        main_sp: ptr::null_mut(),
        fiber_sp: ptr::null_mut(),
        seen: 0,
    };
    let cp: *mut Ctx = &mut c;
    // SAFETY: unused stack, outlives the context.
    unsafe {
        (*cp).fiber_sp = init(stack.top(), entry, cp.cast());
        switch_float_env(&raw mut (*cp).main_sp, (*cp).fiber_sp);
    }
    assert_eq!(read_cw(), before, "the fiber's x87 precision leaked out");
    // SAFETY: as above.
    unsafe { switch_float_env(&raw mut (*cp).main_sp, (*cp).fiber_sp) };
    assert_eq!(c.seen, SINGLE, "the fiber's x87 precision was lost");
    assert_eq!(read_cw(), before);
}

/// The AArch64 counterpart of `mxcsr_is_per_context`: the FPCR rounding
/// mode set inside the fiber does not leak out, and comes back when it
/// resumes.
#[cfg(target_arch = "aarch64")]
#[test]
fn fpcr_is_per_context() {
    use core::arch::asm;
    /// FPCR.RMode, bits 22-23; 0b11 is round toward zero.
    const RMODE_MASK: u64 = 0b11 << 22;
    fn read_fpcr() -> u64 {
        let v: u64;
        // SAFETY: reading FPCR has no side effects.
        unsafe { asm!("mrs {}, fpcr", out(reg) v, options(nomem, nostack, preserves_flags)) };
        v
    }
    fn write_fpcr(v: u64) {
        // SAFETY: `v` is FPCR as read, with only the rounding mode changed.
        unsafe { asm!("msr fpcr, {}", in(reg) v, options(nomem, nostack, preserves_flags)) };
    }
    struct Ctx {
        main_sp: *mut u8,
        fiber_sp: *mut u8,
        seen: u64,
    }
    unsafe extern "C" fn entry(arg: *mut ()) -> ! {
        let c = arg.cast::<Ctx>();
        // Round toward zero in this context.
        write_fpcr(read_fpcr() | RMODE_MASK);
        // SAFETY: as in `ping_pong_entry`.
        unsafe { switch_float_env(&raw mut (*c).fiber_sp, (*c).main_sp) };
        // SAFETY: as above.
        unsafe {
            (*c).seen = read_fpcr();
            switch_float_env(&raw mut (*c).fiber_sp, (*c).main_sp);
        }
        std::process::abort()
    }
    let before = read_fpcr();
    let mut stack = TestStack::new();
    let mut c = Ctx {
        main_sp: ptr::null_mut(),
        fiber_sp: ptr::null_mut(),
        seen: 0,
    };
    let cp: *mut Ctx = &mut c;
    // SAFETY: unused stack, outlives the context.
    unsafe {
        (*cp).fiber_sp = init(stack.top(), entry, cp.cast());
        switch_float_env(&raw mut (*cp).main_sp, (*cp).fiber_sp);
    }
    assert_eq!(read_fpcr(), before, "the fiber's rounding mode leaked out");
    // SAFETY: as above.
    unsafe { switch_float_env(&raw mut (*cp).main_sp, (*cp).fiber_sp) };
    assert_eq!(
        c.seen & RMODE_MASK,
        RMODE_MASK,
        "the fiber's rounding mode was lost"
    );
    assert_eq!(read_fpcr(), before);
}

/// Plain `switch` carries no floating-point control state: what the running
/// code set stays set across it (which is why pools that run foreign code
/// changing it turn on `Builder::fiber_float_env`).
#[cfg(target_arch = "x86_64")]
#[test]
fn plain_switch_leaves_mxcsr_alone() {
    use core::arch::asm;
    fn read_mxcsr() -> u32 {
        let mut v = 0u32;
        // SAFETY: stmxcsr stores 4 bytes to the given address.
        unsafe { asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack)) };
        v
    }
    fn write_mxcsr(v: u32) {
        // SAFETY: ldmxcsr loads a valid control value (reserved bits 0).
        unsafe { asm!("ldmxcsr [{}]", in(reg) &v, options(nostack)) };
    }
    struct Ctx {
        main_sp: *mut u8,
        fiber_sp: *mut u8,
    }
    unsafe extern "C" fn entry(arg: *mut ()) -> ! {
        let c = arg.cast::<Ctx>();
        write_mxcsr(0x1F80 | 0x6000);
        // SAFETY: as in `ping_pong_entry`.
        unsafe { switch(&raw mut (*c).fiber_sp, (*c).main_sp) };
        std::process::abort()
    }
    let before = read_mxcsr();
    let mut stack = TestStack::new();
    let mut c = Ctx {
        main_sp: ptr::null_mut(),
        fiber_sp: ptr::null_mut(),
    };
    let cp: *mut Ctx = &mut c;
    // SAFETY: unused stack, outlives the context (never resumed again).
    unsafe {
        (*cp).fiber_sp = init(stack.top(), entry, cp.cast());
        switch(&raw mut (*cp).main_sp, (*cp).fiber_sp);
    }
    let after = read_mxcsr();
    write_mxcsr(before);
    assert_eq!(after & 0x6000, 0x6000, "switch restored MXCSR");
}
