//! The context switch's items on a target without one, so the worker's
//! fiber code compiles everywhere. Neither is ever called: switching
//! needs a second context, that is a pooled fiber, that is a fiber stack,
//! and this target has none (`fiber::stack::Stack` has no values here).

/// Never called (see the module docs).
///
/// # Safety
///
/// The contract of the architectures' `switch`, so that callers' safety
/// arguments read the same on every target.
pub(crate) unsafe fn switch(_save: *mut *mut u8, _to: *mut u8) {
    unreachable!("spindle: a context switch on a target without fibers")
}

/// Never called (see the module docs).
///
/// # Safety
///
/// The contract of the architectures' `switch_float_env`.
pub(crate) unsafe fn switch_float_env(_save: *mut *mut u8, _to: *mut u8) {
    unreachable!("spindle: a context switch on a target without fibers")
}

/// Never called (see the module docs).
///
/// # Safety
///
/// The contract of the architectures' `init`.
pub(crate) unsafe fn init(
    _top: *mut u8,
    _entry: unsafe extern "C" fn(*mut ()) -> !,
    _arg: *mut (),
) -> *mut u8 {
    unreachable!("spindle: a fiber started on a target without fibers")
}
