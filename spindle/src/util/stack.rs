//! Where the calling thread's stack is, and how much of it is left: what
//! a helping wait looks at before it runs another job on top of itself.

/// The calling thread's own stack as `(lowest address, size in bytes)`,
/// if the system says (Linux, Android and macOS do; elsewhere `None`).
/// Asked once per thread.
pub(crate) fn thread_stack() -> Option<(usize, usize)> {
    std::thread_local! {
        static STACK: core::cell::Cell<Option<Option<(usize, usize)>>> =
            const { core::cell::Cell::new(None) };
    }
    STACK.with(|s| match s.get() {
        Some(known) => known,
        None => {
            let found = sys::query();
            s.set(Some(found));
            found
        }
    })
}

/// The address of a local of the caller's frame: about where the stack
/// pointer is. Never inlined, so it is a frame below the caller's.
#[inline(never)]
pub(crate) fn approximate_sp() -> usize {
    let marker = 0u8;
    core::hint::black_box(core::ptr::addr_of!(marker)) as usize
}

#[cfg(all(any(target_os = "linux", target_os = "android"), not(miri)))]
mod sys {
    pub(super) fn query() -> Option<(usize, usize)> {
        // SAFETY: `pthread_attr_t` is plain data, filled in by
        // `pthread_getattr_np` before it is read, and destroyed once.
        unsafe {
            let mut attr: libc::pthread_attr_t = core::mem::zeroed();
            if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
                return None;
            }
            let mut addr: *mut libc::c_void = core::ptr::null_mut();
            let mut size: libc::size_t = 0;
            let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
            libc::pthread_attr_destroy(&mut attr);
            (ok && !addr.is_null() && size > 0).then_some((addr as usize, size))
        }
    }
}

#[cfg(all(target_vendor = "apple", not(miri)))]
mod sys {
    pub(super) fn query() -> Option<(usize, usize)> {
        // SAFETY: both only read the calling thread's own attributes.
        let (top, size) = unsafe {
            let me = libc::pthread_self();
            (
                libc::pthread_get_stackaddr_np(me) as usize,
                libc::pthread_get_stacksize_np(me),
            )
        };
        (top > size && size > 0).then_some((top - size, size))
    }
}

#[cfg(not(any(
    all(any(target_os = "linux", target_os = "android"), not(miri)),
    all(target_vendor = "apple", not(miri))
)))]
mod sys {
    pub(super) fn query() -> Option<(usize, usize)> {
        None
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_stack_pointer_is_inside_the_reported_stack() {
        let Some((low, size)) = thread_stack() else {
            return; // Not known on this target: callers fall back.
        };
        let sp = approximate_sp();
        assert!(
            sp > low && sp <= low + size,
            "{sp:#x} not in {low:#x}+{size:#x}"
        );
        assert_eq!(thread_stack(), Some((low, size)), "asked once, stable");
    }
}
