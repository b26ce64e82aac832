//! The handler's behaviour is only visible in a process that faults, so
//! most tests here start this test binary again, running one test
//! alone with [`CHILD`] set: that test's child branch faults, and the
//! parent checks how the child died and what it printed.

use super::super::stack::Stack;
use super::*;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Output, Stdio};

/// Set in a child process to what its test should do.
const CHILD: &str = "SPINDLE_GUARD_CHILD";
/// The fiber stack size the children use, which the message names.
const SIZE: usize = 64 * 1024;
/// The name of the thread that faults in a child.
const THREAD: &str = "guard-child";

/// Starts this test binary running only `test` (its full path, as
/// `concat!(module_path!(), "::name")` gives it), with [`CHILD`] set to
/// `mode`.
pub(crate) fn spawn_child(test: &str, mode: &str) -> Child {
    let test = test.split_once("::").expect("a path in the crate").1;
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// In a child: its mode, after turning off core dumps (the children
/// crash on purpose). `None` in the parent.
pub(crate) fn child_mode() -> Option<String> {
    let mode = std::env::var(CHILD).ok()?;
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: sets this process's core size limit; plain data.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    Some(mode)
}

/// Runs `f` on a new thread named [`THREAD`] and waits for it (in a
/// child, `f` does not come back).
fn on_thread(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(THREAD.into())
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The calling thread's alternate signal stack: (start, size, enabled).
fn current_altstack() -> (usize, usize, bool) {
    // SAFETY: plain data, then a read of the current alternate stack.
    unsafe {
        let mut cur: libc::stack_t = core::mem::zeroed();
        assert_eq!(libc::sigaltstack(ptr::null(), &mut cur), 0);
        (
            cur.ss_sp as usize,
            cur.ss_size,
            cur.ss_flags & libc::SS_DISABLE == 0,
        )
    }
}

/// Turns off the calling thread's alternate signal stack (std's, on a
/// thread std spawned), as on a thread std did not make.
fn disable_altstack() {
    let off = libc::stack_t {
        ss_sp: ptr::null_mut(),
        ss_flags: libc::SS_DISABLE,
        ss_size: 64 * 1024,
    };
    // SAFETY: no handler runs on the alternate stack now; std unmaps
    // its own at thread exit either way.
    assert_eq!(unsafe { libc::sigaltstack(&off, ptr::null_mut()) }, 0);
    assert!(!current_altstack().2);
}

/// Recurses until the stack runs out, in frames well under a page, so
/// that the first fault is in the guard page and not below it.
fn recurse(depth: usize) -> usize {
    let mut buf = [0u8; 512];
    buf[depth % 512] = depth as u8;
    core::hint::black_box(&mut buf);
    if core::hint::black_box(true) {
        recurse(depth + 1) + buf[7] as usize
    } else {
        0
    }
}

/// Runs [`recurse`] on `stack` as a fiber: overflows it for real.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn overflow_on(stack: &Stack) -> ! {
    use super::super::context::{init, switch};
    unsafe extern "C" fn entry(_: *mut ()) -> ! {
        recurse(0);
        std::process::abort()
    }
    let mut back: *mut u8 = ptr::null_mut();
    // SAFETY: a fresh stack that nothing runs on; the context never
    // switches back, so `back` need only be writable.
    unsafe {
        let sp = init(stack.top(), entry, ptr::null_mut());
        switch(&mut back, sp);
    }
    unreachable!("the fiber switched back");
}

/// Without a context switch: a write into the guard page instead.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn overflow_on(stack: &Stack) -> ! {
    let addr = stack.guard_range().start + 64;
    // SAFETY: none: this faults on purpose.
    unsafe { (addr as *mut u8).write_volatile(1) };
    unreachable!("the guard page was writable");
}

/// 100 children overflow a fiber stack, half by a write into the guard
/// page from a thread with std's alternate stack, half by running a
/// fiber off its stack on a thread whose alternate stack
/// `ensure_altstack` made. Each must abort with the message.
#[test]
fn overflow_is_reported_and_aborts() {
    if let Some(mode) = child_mode() {
        on_thread(move || {
            if mode == "overflow" {
                disable_altstack();
            }
            ensure_altstack();
            // std's is `SIGSTKSZ` (8 KiB on glibc), ours 64 KiB.
            let (_, size, on) = current_altstack();
            assert!(on && size >= libc::MINSIGSTKSZ, "no alternate stack");
            let stack = Stack::new(SIZE).unwrap();
            if mode == "overflow" {
                overflow_on(&stack);
            }
            let addr = stack.guard_range().start + 100;
            // SAFETY: none: this faults on purpose.
            unsafe { (addr as *mut u8).write_volatile(1) };
            unreachable!("the guard page was writable");
        });
        return;
    }
    let want = format!(
        "\nthread '{THREAD}' has overflowed a spindle fiber stack ({SIZE} bytes; \
         raise it with Builder::fiber_stack_size)\n\
         fatal runtime error: fiber stack overflow, aborting\n"
    );
    let test = concat!(module_path!(), "::overflow_is_reported_and_aborts");
    let modes: Vec<&str> = (0..100).map(|i| ["touch", "overflow"][i % 2]).collect();
    for batch in modes.chunks(8) {
        let children: Vec<Child> = batch.iter().map(|mode| spawn_child(test, mode)).collect();
        for (mode, child) in batch.iter().zip(children) {
            let out = child.wait_with_output().unwrap();
            let why = describe(&out);
            assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{mode}: {why}");
            assert!(stderr(&out).contains(&want), "{mode}: {why}");
        }
    }
}

/// A fault outside every guard goes on to the previous handler (std's)
/// and then to the default action: death by SIGSEGV, no message.
#[test]
#[cfg_attr(
    spindle_asan,
    ignore = "ASan's own SIGSEGV handler reports these faults"
)]
fn other_faults_are_passed_on() {
    if child_mode().is_some() {
        let _stack = Stack::new(SIZE).unwrap(); // installs the handler
        on_thread(|| {
            ensure_altstack();
            let page = page_size();
            // SAFETY: a fresh inaccessible page, never registered.
            let p = unsafe {
                libc::mmap(
                    ptr::null_mut(),
                    page,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANON,
                    -1,
                    0,
                )
            };
            assert_ne!(p, libc::MAP_FAILED);
            // SAFETY: none: this faults on purpose.
            unsafe { p.cast::<u8>().add(100).write_volatile(1) };
            unreachable!("a PROT_NONE page was writable");
        });
        return;
    }
    let test = concat!(module_path!(), "::other_faults_are_passed_on");
    let out = spawn_child(test, "fault").wait_with_output().unwrap();
    let why = describe(&out);
    assert_eq!(out.status.signal(), Some(libc::SIGSEGV), "{why}");
    assert!(!stderr(&out).contains("overflowed"), "{why}");
}

/// An overflow of a thread's own stack is still std's to report: our
/// handler passes it on with its `siginfo`.
#[test]
#[cfg_attr(
    spindle_asan,
    ignore = "ASan's own SIGSEGV handler reports these faults"
)]
fn thread_stack_overflow_is_left_to_std() {
    if child_mode().is_some() {
        let _stack = Stack::new(SIZE).unwrap(); // installs the handler
        std::thread::Builder::new()
            .name(THREAD.into())
            .stack_size(64 * 1024)
            .spawn(|| recurse(0))
            .unwrap()
            .join()
            .unwrap();
        unreachable!("the recursion ended");
    }
    let test = concat!(module_path!(), "::thread_stack_overflow_is_left_to_std");
    let out = spawn_child(test, "std").wait_with_output().unwrap();
    let why = describe(&out);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{why}");
    let err = stderr(&out);
    assert!(err.contains(&format!("thread '{THREAD}'")), "{why}");
    assert!(err.contains("has overflowed its stack"), "{why}");
    assert!(!err.contains("spindle fiber stack"), "{why}");
}

#[test]
fn ensure_altstack_maps_one_only_when_missing() {
    on_thread(|| {
        let before = current_altstack();
        ensure_altstack();
        assert_eq!(current_altstack(), before, "replaced an existing one");
        disable_altstack();
        ensure_altstack();
        let ours = current_altstack();
        assert!(ours.2 && ours.1 >= 64 * 1024, "{ours:?}");
        // The stack is usable memory, right above its guard.
        // SAFETY: the lowest and highest bytes of our alternate stack,
        // which no handler is using.
        unsafe {
            (ours.0 as *mut u8).write_volatile(1);
            ((ours.0 + ours.1 - 1) as *mut u8).write_volatile(1);
        }
        ensure_altstack();
        assert_eq!(current_altstack(), ours, "mapped a second one");
    });
}

/// Registry lookups, on fake ranges no mapping can have (above the
/// user address space of 64-bit targets).
#[cfg(target_pointer_width = "64")]
#[test]
fn registry_finds_registered_ranges_only() {
    let base = 0x4000_0000_0000_0000usize;
    let ranges: Vec<Range<usize>> = (0..600)
        .map(|i| base + i * 0x10000..base + i * 0x10000 + 4096)
        .collect();
    for (i, r) in ranges.iter().enumerate() {
        register(r.clone(), i + 1);
    }
    for (i, r) in ranges.iter().enumerate() {
        assert_eq!(find(r.start), Some(i + 1));
        assert_eq!(find(r.end - 1), Some(i + 1));
        assert_eq!(find(r.end), None);
    }
    for r in ranges.iter().step_by(2) {
        unregister(r.clone());
    }
    for (i, r) in ranges.iter().enumerate() {
        let want = (i % 2 == 1).then_some(i + 1);
        assert_eq!(find(r.start + 8), want);
    }
    for r in ranges.iter().skip(1).step_by(2) {
        unregister(r.clone());
    }
    assert!(ranges.iter().all(|r| find(r.start).is_none()));
}

#[test]
fn message_digits_and_truncation() {
    for (v, s) in [
        (0, "0"),
        (7, "7"),
        (65536, "65536"),
        (usize::MAX, &*usize::MAX.to_string()),
    ] {
        let mut m = Msg::new();
        m.push_usize(v);
        assert_eq!(m.as_bytes(), s.as_bytes());
    }
    let mut m = Msg::new();
    for _ in 0..100 {
        m.push(b"0123456789");
    }
    assert_eq!(m.as_bytes().len(), 256);
}
