//! AddressSanitizer's fiber annotations, compiled in with
//! `--cfg spindle_asan` (how `.ci/sanitizers` builds its ASan run) and
//! empty otherwise.
//!
//! ASan keeps shadow state per stack: where the running stack lies (to
//! clear a stack's poison when a panic unwinds past frames, in
//! `__asan_handle_no_return`) and each frame's redzones. Told nothing of
//! our switches, it takes a fiber stack for a wild part of the thread's
//! stack, refuses to clear it on unwinding, and then reports the stale
//! poison as overflows. So every switch announces where it goes
//! (`start`), the context that runs again confirms it (`finish`), and a
//! freed fiber's stack is cleared before it is reused (`unpoison`).

/// What `start` hands to `finish`: the leaving context's fake stack
/// (ASan's heap copies of frames, for use-after-return detection).
pub(crate) struct Switch {
    #[cfg(spindle_asan)]
    fake_stack: *mut core::ffi::c_void,
}

#[cfg(spindle_asan)]
extern "C" {
    fn __sanitizer_start_switch_fiber(
        fake_stack_save: *mut *mut core::ffi::c_void,
        bottom: *const core::ffi::c_void,
        size: usize,
    );
    fn __sanitizer_finish_switch_fiber(
        fake_stack_save: *mut core::ffi::c_void,
        bottom_old: *mut *const core::ffi::c_void,
        size_old: *mut usize,
    );
    fn __asan_unpoison_memory_region(addr: *const core::ffi::c_void, size: usize);
}

/// Call right before switching to a context whose stack is `to`
/// (`(lowest address, size)`; `None` if unknown). `for_good`: the
/// running context will never be resumed.
#[inline(always)]
pub(crate) fn start(to: Option<(usize, usize)>, for_good: bool) -> Switch {
    #[cfg(spindle_asan)]
    {
        let (bottom, size) = to.unwrap_or((0, 0));
        if for_good {
            start_for_good(bottom, size);
            return Switch {
                fake_stack: core::ptr::null_mut(),
            };
        }
        let mut fake_stack = core::ptr::null_mut();
        // SAFETY: a plain call into the ASan runtime, which this build
        // links (`-Zsanitizer=address`); `fake_stack` outlives it.
        unsafe {
            __sanitizer_start_switch_fiber(
                &raw mut fake_stack,
                core::ptr::without_provenance(bottom),
                size,
            );
        }
        Switch { fake_stack }
    }
    #[cfg(not(spindle_asan))]
    {
        let _ = (to, for_good);
        Switch {}
    }
}

/// `start` for a context that ends: ASan frees its fake stack (the heap
/// frames it keeps for address-taken locals) in the call, so this frame
/// has no such local to read afterwards.
#[cfg(spindle_asan)]
#[inline(never)]
fn start_for_good(bottom: usize, size: usize) {
    // SAFETY: a plain call into the ASan runtime; a null save pointer tells
    // it the running context will not come back.
    unsafe {
        __sanitizer_start_switch_fiber(
            core::ptr::null_mut(),
            core::ptr::without_provenance(bottom),
            size,
        );
    }
}

/// Call first thing once the context that called `start` runs again.
#[inline(always)]
pub(crate) fn finish(switch: Switch) {
    #[cfg(spindle_asan)]
    // SAFETY: pairs with the `start` that made `switch`, on this context.
    unsafe {
        __sanitizer_finish_switch_fiber(
            switch.fake_stack,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        );
    }
    #[cfg(not(spindle_asan))]
    let _ = switch;
}

/// Call first thing in a context that starts fresh (it has no `start` of
/// its own to finish).
#[inline(always)]
pub(crate) fn entered() {
    finish(Switch {
        #[cfg(spindle_asan)]
        fake_stack: core::ptr::null_mut(),
    });
}

/// Clears the poison frames left on a stack that is about to be reused
/// (`low..low + size`): a context freed mid-call never ran its epilogues.
#[inline(always)]
pub(crate) fn unpoison(low: *mut u8, size: usize) {
    #[cfg(spindle_asan)]
    // SAFETY: the range is a fiber stack owned by the caller's slot, not in
    // use by any context (it is being set up afresh).
    unsafe {
        __asan_unpoison_memory_region(low.cast_const().cast(), size);
    }
    #[cfg(not(spindle_asan))]
    let _ = (low, size);
}
