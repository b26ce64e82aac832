//! Fiber stacks: one anonymous mapping each, with a guard page below.
//!
//! ```text
//!   base + page + usable  ── top(): the stack starts here and grows down
//!        ⋮                   usable bytes, read-write
//!   base + page           ── lowest usable byte
//!        ⋮                   guard page, PROT_NONE
//!   base                  ── start of the mapping
//! ```
//!
//! A fiber that runs off the bottom of its stack touches the guard page
//! and faults; the handler in [`super::guard`] recognises the address (each
//! stack registers its guard range there) and names the overflow instead
//! of leaving a bare SIGSEGV. Pages are committed only when first touched
//! (and the mapping is `MAP_NORESERVE` where that exists), so a pool of
//! large, mostly idle stacks costs address space, not memory.

use core::ops::Range;
use core::ptr;

use super::{guard, MAX_FIBER_STACK, MIN_FIBER_STACK};
use crate::Error;

/// Extra `mmap` flags: no swap reservation (Linux), and "this is a stack"
/// where the system wants to know (OpenBSD refuses to run on a stack
/// mapped without it; FreeBSD's `MAP_STACK` means something else).
#[cfg(any(target_os = "linux", target_os = "android"))]
const EXTRA_FLAGS: libc::c_int = libc::MAP_NORESERVE | libc::MAP_STACK;
#[cfg(any(target_os = "openbsd", target_os = "netbsd"))]
const EXTRA_FLAGS: libc::c_int = libc::MAP_STACK;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "openbsd",
    target_os = "netbsd"
)))]
const EXTRA_FLAGS: libc::c_int = 0;

/// The system's page size (4 KiB if it will not say).
pub(crate) fn page_size() -> usize {
    // SAFETY: `sysconf` only reads a configuration value.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// A fiber stack: `usable` read-write bytes above one PROT_NONE guard
/// page, in one mapping that `Drop` unmaps.
///
/// The memory itself is only ever touched through [`Stack::top`], by the
/// context that runs on it.
pub(crate) struct Stack {
    /// Start of the mapping (the guard page).
    base: *mut u8,
    /// Bytes in the guard (one page).
    guard: usize,
    /// Bytes above the guard, a whole number of pages.
    usable: usize,
}

// SAFETY: a `Stack` owns its mapping; moving it to another thread moves
// only the ownership (mappings are process-wide). It may move only while
// no context runs on it (a suspended context's frames hold pointers into
// it and must be resumed on the thread that suspended it: see `slot.rs`),
// which is its owner's rule, not something the type can see.
unsafe impl Send for Stack {}
// SAFETY: `&Stack` hands out addresses and sizes only, never access to the
// memory, and nothing in it changes after `new`.
unsafe impl Sync for Stack {}

impl Stack {
    /// Maps a stack of at least `usable_size` bytes (rounded up to whole
    /// pages) with a guard page below, and registers the guard with the
    /// overflow handler.
    ///
    /// # Errors
    ///
    /// [`Error::FiberStackSize`] if `usable_size` is outside
    /// [`MIN_FIBER_STACK`]`..=`[`MAX_FIBER_STACK`]; [`Error::FiberStack`]
    /// (with the size and the system's error) if `mmap` or `mprotect`
    /// fails.
    pub(crate) fn new(usable_size: usize) -> Result<Stack, Error> {
        if !(MIN_FIBER_STACK..=MAX_FIBER_STACK).contains(&usable_size) {
            return Err(Error::FiberStackSize {
                value: usable_size,
                min: MIN_FIBER_STACK,
                max: MAX_FIBER_STACK,
            });
        }
        let page = page_size();
        // No overflow: `usable_size <= MAX_FIBER_STACK`, far below
        // `usize::MAX` less two pages.
        let usable = usable_size.div_ceil(page) * page;
        let len = page + usable;
        let fail = || Error::FiberStack {
            size: usable_size,
            source: std::io::Error::last_os_error(),
        };
        // SAFETY: a fresh anonymous mapping at an address of the system's
        // choosing; it overlaps nothing of ours.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANON | EXTRA_FLAGS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(fail());
        }
        // SAFETY: the first page of the mapping just made, which nothing
        // uses yet.
        if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } != 0 {
            let err = fail();
            // SAFETY: the whole mapping made above, unused.
            unsafe { libc::munmap(base, len) };
            return Err(err);
        }
        let stack = Stack {
            base: base.cast(),
            guard: page,
            usable,
        };
        guard::register(stack.guard_range(), usable);
        Ok(stack)
    }

    /// The stack's upper end, where a context on it starts: one past its
    /// highest byte, page-aligned (hence 16-byte aligned).
    pub(crate) fn top(&self) -> *mut u8 {
        self.base.wrapping_add(self.guard + self.usable)
    }

    /// Bytes a context may use: the size asked for, rounded up to pages.
    #[cfg_attr(not(test), allow(dead_code))] // diagnostics and tests
    pub(crate) fn usable_size(&self) -> usize {
        self.usable
    }

    /// The guard page's addresses, below the usable bytes.
    pub(crate) fn guard_range(&self) -> Range<usize> {
        let start = self.base as usize;
        start..start + self.guard
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Unregister first: once unmapped, the addresses may be reused by
        // a mapping whose faults are not fiber overflows.
        guard::unregister(self.guard_range());
        // SAFETY: exactly the mapping `new` made, and nothing runs on it
        // any more (whoever drops a stack has finished with its context).
        let rc = unsafe { libc::munmap(self.base.cast(), self.guard + self.usable) };
        debug_assert_eq!(rc, 0, "munmap of a fiber stack failed");
    }
}

// Not under Miri: it does not emulate mmap/mprotect.
#[cfg(all(test, not(miri), not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_pages() {
        let page = page_size();
        for size in [
            MIN_FIBER_STACK,
            MIN_FIBER_STACK + 1,
            64 * 1024,
            100_000,
            1 << 20,
        ] {
            let s = Stack::new(size).unwrap();
            assert!(s.usable_size() >= size);
            assert!(s.usable_size() < size + page);
            assert_eq!(s.usable_size() % page, 0);
            assert_eq!(s.top() as usize % 16, 0);
            let g = s.guard_range();
            assert_eq!(g.len(), page);
            assert_eq!(g.end + s.usable_size(), s.top() as usize);
        }
    }

    #[test]
    fn whole_usable_range_is_writable() {
        let s = Stack::new(256 * 1024).unwrap();
        let top = s.top();
        let low = s.guard_range().end as *mut u8;
        for i in 0..s.usable_size() {
            // SAFETY: `low + i` for `i < usable` lies in the read-write part
            // of the mapping, which nothing else uses.
            unsafe { low.add(i).write_volatile(i as u8) };
        }
        // SAFETY: the byte just below `top`, written above.
        let last = unsafe { top.sub(1).read_volatile() };
        assert_eq!(last, (s.usable_size() - 1) as u8);
    }

    #[test]
    fn the_largest_size_maps_without_committing() {
        // 1 GiB of address space; MAP_NORESERVE and lazy commit make it
        // cheap. Touch only the top page.
        let s = Stack::new(MAX_FIBER_STACK).unwrap();
        assert_eq!(s.usable_size(), MAX_FIBER_STACK);
        // SAFETY: the highest usable byte.
        unsafe { s.top().sub(1).write_volatile(1) };
    }

    #[test]
    fn bad_sizes_are_errors() {
        for size in [0, 1, MIN_FIBER_STACK - 1, MAX_FIBER_STACK + 1, usize::MAX] {
            match Stack::new(size) {
                Err(Error::FiberStackSize { value, min, max }) => {
                    assert_eq!((value, min, max), (size, MIN_FIBER_STACK, MAX_FIBER_STACK));
                }
                Err(e) => panic!("size {size}: wrong error {e}"),
                Ok(_) => panic!("size {size}: accepted"),
            }
        }
    }

    #[test]
    fn many_stacks_come_and_go() {
        // Registration slots are recycled: far more stacks over time than
        // the first registry chunk holds.
        for _ in 0..8 {
            let stacks: Vec<Stack> = (0..300)
                .map(|_| Stack::new(MIN_FIBER_STACK).unwrap())
                .collect();
            let mut guards: Vec<_> = stacks.iter().map(|s| s.guard_range().start).collect();
            guards.sort_unstable();
            guards.dedup();
            assert_eq!(guards.len(), stacks.len());
        }
    }

    /// A refused mapping is an error naming the size and the system's
    /// reason. In a child process: the address-space limit it lowers would
    /// fail other tests' allocations.
    #[test]
    fn refused_mapping_is_an_error() {
        use super::super::guard::tests::{child_mode, spawn_child};
        if child_mode().is_some() {
            let mut old = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: reads this process's address-space limit.
            assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut old) }, 0);
            let low = libc::rlimit {
                rlim_cur: 512 << 20,
                rlim_max: old.rlim_max,
            };
            // SAFETY: lowers the soft limit only, restored below; nothing
            // else runs in this process meanwhile (one test, one thread).
            let result = unsafe {
                assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &low), 0);
                let result = Stack::new(MAX_FIBER_STACK);
                libc::setrlimit(libc::RLIMIT_AS, &old);
                result
            };
            match result {
                Err(e @ Error::FiberStack { .. }) => {
                    let source = std::error::Error::source(&e).expect("the system's error");
                    println!("error: {e}: {source}");
                }
                Err(e) => panic!("wrong error: {e}"),
                Ok(_) => panic!("mapped 1 GiB under a 512 MiB limit"),
            }
            return;
        }
        let test = concat!(module_path!(), "::refused_mapping_is_an_error");
        let out = spawn_child(test, "rlimit").wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        assert!(
            stdout.contains("error: could not map a fiber stack of 1073741824 bytes: "),
            "{stdout}"
        );
    }

    #[test]
    fn stacks_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Stack>();
    }
}
