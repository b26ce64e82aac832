//! Fiber stack overflow: a SIGSEGV/SIGBUS handler that recognises a fault
//! in a fiber stack's guard page, says so, and aborts, as std does for a
//! thread's own stack.
//!
//! # The registry
//!
//! Every [`Stack`](super::stack::Stack) registers its guard range (and its
//! usable size, for the message) when mapped and unregisters it before
//! unmapping. The handler must find a range without locks or allocation,
//! so the ranges live in [`Slot`]s of fixed [`Chunk`]s: the first one
//! static, more leaked on demand and linked through `next`, none ever
//! freed. Writers (register, unregister) take [`BOOK`]'s mutex and write a
//! slot under a sequence number, as in a seqlock; the handler reads every
//! slot's fields between two reads of its number and skips a slot that
//! was being written. A slot being written belongs to a stack being mapped
//! or unmapped, and no fiber runs on either, so a fault can never be
//! *its* overflow.
//!
//! # The handler
//!
//! Installed once, at the first registration, with `SA_ONSTACK`: an
//! overflow leaves no stack to run a handler on, so each thread that runs
//! fibers calls [`ensure_altstack`] first (threads std spawns already have
//! an alternate stack; others get one here). A fault in a registered guard
//! page writes the message with `write(2)` from a stack buffer and aborts.
//! Any other fault goes to the handler that was there before: std's own
//! (which reports overflows of the thread's stack, and otherwise restores
//! the default action and returns, so the fault repeats and kills the
//! process with the signal), or, if there was none, we restore the default
//! action and return ourselves.

use core::cell::RefCell;
use core::ffi::c_void;
use core::ops::Range;
use core::ptr;
use core::sync::atomic::{fence, AtomicI32, AtomicPtr, AtomicUsize, Ordering};
use std::collections::BTreeMap;
use std::sync::{Mutex, Once, PoisonError};

use libc::{c_int, siginfo_t};

use super::stack::page_size;

/// Slots per chunk.
const CHUNK: usize = 256;

/// One registered guard range, or an empty one (`start == end == 0`).
struct Slot {
    /// Even while the fields are stable, odd while a writer changes them.
    seq: AtomicUsize,
    start: AtomicUsize,
    end: AtomicUsize,
    /// The stack's usable size, for the message.
    size: AtomicUsize,
}

impl Slot {
    const fn new() -> Self {
        Self {
            seq: AtomicUsize::new(0),
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
            size: AtomicUsize::new(0),
        }
    }

    /// Sets the fields. Only under [`BOOK`]'s lock (one writer at a time).
    fn write(&self, range: Range<usize>, size: usize) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq + 1, Ordering::Relaxed);
        // Orders the odd number before the field stores, for a reader that
        // sees a new field to also see the odd number on its second read.
        fence(Ordering::Release);
        self.start.store(range.start, Ordering::Relaxed);
        self.end.store(range.end, Ordering::Relaxed);
        self.size.store(size, Ordering::Relaxed);
        self.seq.store(seq + 2, Ordering::Release);
    }

    /// The stack size if `addr` is in this slot's range, read consistently
    /// (`None` as well if a writer was busy with it). Async-signal-safe.
    fn lookup(&self, addr: usize) -> Option<usize> {
        let seq = self.seq.load(Ordering::Acquire);
        if seq % 2 == 1 {
            return None;
        }
        let start = self.start.load(Ordering::Relaxed);
        let end = self.end.load(Ordering::Relaxed);
        let size = self.size.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        let hit = (start..end).contains(&addr) && self.seq.load(Ordering::Relaxed) == seq;
        hit.then_some(size)
    }
}

/// A block of slots; chunks form a list that only grows.
struct Chunk {
    slots: [Slot; CHUNK],
    /// The next chunk, or null. Set once, under [`BOOK`]'s lock.
    next: AtomicPtr<Chunk>,
}

impl Chunk {
    const fn new() -> Self {
        Self {
            slots: [const { Slot::new() }; CHUNK],
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

/// The head of the list, where the handler starts.
static FIRST: Chunk = Chunk::new();

/// The writers' bookkeeping. The handler never touches it.
struct Book {
    /// The last chunk, and how many of its slots were ever handed out.
    tail: &'static Chunk,
    tail_used: usize,
    /// Handed-out slots that are empty again.
    free: Vec<&'static Slot>,
    /// Registered slots by guard start.
    used: BTreeMap<usize, &'static Slot>,
}

static BOOK: Mutex<Book> = Mutex::new(Book {
    tail: &FIRST,
    tail_used: 0,
    free: Vec::new(),
    used: BTreeMap::new(),
});

impl Book {
    /// An empty slot: a recycled one, the tail's next, or a new chunk's.
    fn claim(&mut self) -> &'static Slot {
        if let Some(slot) = self.free.pop() {
            return slot;
        }
        if self.tail_used == CHUNK {
            let chunk: &'static Chunk = Box::leak(Box::new(Chunk::new()));
            // Release: a handler that sees the pointer sees a built chunk.
            self.tail
                .next
                .store(ptr::from_ref(chunk).cast_mut(), Ordering::Release);
            self.tail = chunk;
            self.tail_used = 0;
        }
        self.tail_used += 1;
        &self.tail.slots[self.tail_used - 1]
    }
}

/// Records a fiber stack's guard range (and its usable size, which the
/// overflow message names), installing the handler on first use.
pub(crate) fn register(guard: Range<usize>, stack_size: usize) {
    install();
    let mut book = BOOK.lock().unwrap_or_else(PoisonError::into_inner);
    let slot = book.claim();
    slot.write(guard.clone(), stack_size);
    let old = book.used.insert(guard.start, slot);
    debug_assert!(old.is_none(), "guard range registered twice");
}

/// Forgets a guard range [`register`]ed before; call it before unmapping.
pub(crate) fn unregister(guard: Range<usize>) {
    let mut book = BOOK.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(slot) = book.used.remove(&guard.start) {
        slot.write(0..0, 0);
        book.free.push(slot);
    } else {
        debug_assert!(false, "guard range {guard:#x?} was not registered");
    }
}

/// The usable size of the stack whose guard page holds `addr`, if any.
/// Async-signal-safe: atomic loads only.
fn find(addr: usize) -> Option<usize> {
    let mut chunk = &FIRST;
    loop {
        if let Some(size) = chunk.slots.iter().find_map(|s| s.lookup(addr)) {
            return Some(size);
        }
        let next = chunk.next.load(Ordering::Acquire);
        if next.is_null() {
            return None;
        }
        // SAFETY: chunks are leaked, never freed, and fully built before
        // their pointer is published (Release above, Acquire here).
        chunk = unsafe { &*next };
    }
}

/// The action a signal had before ours: its handler and flags.
struct Previous {
    handler: AtomicUsize,
    flags: AtomicI32,
}

const SIGNALS: [c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];
static PREVIOUS: [Previous; 2] = [const {
    Previous {
        handler: AtomicUsize::new(libc::SIG_DFL),
        flags: AtomicI32::new(0),
    }
}; 2];

fn previous(sig: c_int) -> &'static Previous {
    &PREVIOUS[usize::from(sig != SIGNALS[0])]
}

/// Installs [`handler`] for SIGSEGV and SIGBUS, once per process, after
/// saving the actions it replaces.
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for sig in SIGNALS {
            // SAFETY: `sigaction` is plain data; all-zero is a valid value.
            let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
            // SAFETY: only reads the current action into `old`.
            unsafe { libc::sigaction(sig, ptr::null(), &mut old) };
            // Saved before ours is live, so the handler never sees an
            // unsaved previous action. (Someone else changing the action
            // between the two calls would be lost; nobody should.)
            let prev = previous(sig);
            prev.handler.store(old.sa_sigaction, Ordering::Relaxed);
            prev.flags.store(old.sa_flags, Ordering::Release);

            // SAFETY: as above.
            let mut new: libc::sigaction = unsafe { core::mem::zeroed() };
            new.sa_sigaction =
                handler as unsafe extern "C" fn(c_int, *mut siginfo_t, *mut c_void) as usize;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `new.sa_mask` is ours to initialise; then `handler`
            // is a SA_SIGINFO handler that is async-signal-safe (see it).
            unsafe {
                libc::sigemptyset(&mut new.sa_mask);
                libc::sigaction(sig, &new, ptr::null_mut());
            }
        }
    });
}

/// The SIGSEGV/SIGBUS handler.
///
/// # Safety
///
/// Only the kernel calls it, as an `SA_SIGINFO` handler: `info` and `ctx`
/// are what it passes. Everything it does is async-signal-safe: atomic
/// loads, stack buffers, `write`, `abort`, `sigaction`.
unsafe extern "C" fn handler(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t`; for SIGSEGV and
    // SIGBUS, `si_addr` is the faulting address (null if the signal was
    // sent, which no guard range contains).
    let addr = unsafe { fault_address(info) };
    if let Some(size) = find(addr) {
        report_overflow(size);
    }
    let prev = previous(sig);
    let flags = prev.flags.load(Ordering::Acquire);
    let action = prev.handler.load(Ordering::Relaxed);
    if action == libc::SIG_DFL || action == libc::SIG_IGN {
        // Back to the default action; returning re-executes the faulting
        // instruction, which then kills the process with `sig`. (Ignoring
        // a fault would only repeat it forever.)
        // SAFETY: as in `install`.
        let mut dfl: libc::sigaction = unsafe { core::mem::zeroed() };
        dfl.sa_sigaction = libc::SIG_DFL;
        // SAFETY: sets the default action, async-signal-safe.
        unsafe { libc::sigaction(sig, &dfl, ptr::null_mut()) };
    } else if flags & libc::SA_SIGINFO != 0 {
        // SAFETY: a handler installed with SA_SIGINFO has this signature,
        // and gets what the kernel gave us.
        unsafe {
            let f: unsafe extern "C" fn(c_int, *mut siginfo_t, *mut c_void) =
                core::mem::transmute(action);
            f(sig, info, ctx);
        }
    } else {
        // SAFETY: a handler installed without SA_SIGINFO takes the signal
        // number alone.
        unsafe {
            let f: unsafe extern "C" fn(c_int) = core::mem::transmute(action);
            f(sig);
        }
    }
}

/// # Safety
///
/// `info` must point to the `siginfo_t` of a SIGSEGV or SIGBUS.
#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn fault_address(info: *const siginfo_t) -> usize {
    // SAFETY: the caller's contract.
    unsafe { (*info).si_addr() as usize }
}

/// # Safety
///
/// `info` must point to the `siginfo_t` of a SIGSEGV or SIGBUS.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
unsafe fn fault_address(info: *const siginfo_t) -> usize {
    // SAFETY: the caller's contract.
    unsafe { (*info).si_addr as usize }
}

/// Writes the overflow message to stderr and aborts. Async-signal-safe.
fn report_overflow(stack_size: usize) -> ! {
    let mut name = [0u8; 64];
    let mut msg = Msg::new();
    msg.push(b"\nthread '");
    msg.push(thread_name(&mut name));
    msg.push(b"' has overflowed a spindle fiber stack (");
    msg.push_usize(stack_size);
    msg.push(b" bytes; raise it with Builder::fiber_stack_size)\n");
    msg.push(b"fatal runtime error: fiber stack overflow, aborting\n");
    let mut out = msg.as_bytes();
    while !out.is_empty() {
        // SAFETY: `out` is valid for reads of its length.
        let n = unsafe { libc::write(2, out.as_ptr().cast(), out.len()) };
        if n <= 0 {
            break;
        }
        out = &out[n as usize..];
    }
    // SAFETY: `abort` is async-signal-safe and never returns.
    unsafe { libc::abort() }
}

/// The calling thread's name (as the kernel keeps it: at most 15 bytes on
/// Linux), read into `buf`.
#[cfg(target_os = "linux")]
fn thread_name(buf: &mut [u8; 64]) -> &[u8] {
    // SAFETY: `buf` is valid for `buf.len()` bytes; for the calling thread
    // glibc reads the name with `prctl` (musl with open/read/close), all
    // async-signal-safe.
    let rc = unsafe {
        libc::pthread_getname_np(libc::pthread_self(), buf.as_mut_ptr().cast(), buf.len())
    };
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if rc != 0 || len == 0 {
        return b"<unknown>";
    }
    &buf[..len]
}

#[cfg(not(target_os = "linux"))]
fn thread_name(_: &mut [u8; 64]) -> &[u8] {
    b"<unknown>"
}

/// A message built in a stack buffer, truncated if too long: the handler
/// may not allocate.
struct Msg {
    buf: [u8; 256],
    len: usize,
}

impl Msg {
    fn new() -> Self {
        Self {
            buf: [0; 256],
            len: 0,
        }
    }

    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }

    fn push_usize(&mut self, mut v: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// An alternate signal stack this module mapped for its thread; dropping
/// it (at thread exit) disables it if still current, and unmaps it.
struct AltStack {
    /// Start of the mapping (a guard page, then `size` bytes).
    base: *mut u8,
    guard: usize,
    size: usize,
}

impl AltStack {
    /// Maps a stack and makes it the calling thread's alternate signal
    /// stack; `None` if the system refuses.
    fn install() -> Option<AltStack> {
        let guard = page_size();
        let size = libc::SIGSTKSZ.max(64 * 1024).div_ceil(guard) * guard;
        // SAFETY: a fresh anonymous mapping; it overlaps nothing of ours.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                guard + size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANON,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        let alt = AltStack {
            base: base.cast(),
            guard,
            size,
        };
        let stack = libc::stack_t {
            ss_sp: alt.base.wrapping_add(guard).cast(),
            ss_flags: 0,
            ss_size: size,
        };
        // SAFETY: the first page of the fresh mapping becomes its guard;
        // then the rest becomes this thread's signal stack, which nothing
        // else uses, and which `alt` keeps mapped until it is disabled.
        // (On failure `alt` is dropped, which unmaps it.)
        let ok = unsafe {
            libc::mprotect(base, guard, libc::PROT_NONE) == 0
                && libc::sigaltstack(&stack, ptr::null_mut()) == 0
        };
        ok.then_some(alt)
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let ss_sp: *mut c_void = self.base.wrapping_add(self.guard).cast();
        // SAFETY: `stack_t` is plain data; all-zero is a valid value.
        let mut cur: libc::stack_t = unsafe { core::mem::zeroed() };
        // SAFETY: reads the current alternate stack.
        let rc = unsafe { libc::sigaltstack(ptr::null(), &mut cur) };
        if rc == 0 && cur.ss_sp == ss_sp && cur.ss_flags & libc::SS_DISABLE == 0 {
            let off = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                // macOS wants a plausible size even to disable.
                ss_size: self.size,
            };
            // SAFETY: disables the thread's alternate stack, which is ours;
            // no handler runs on it (this is ordinary thread code).
            unsafe { libc::sigaltstack(&off, ptr::null_mut()) };
        }
        // SAFETY: the mapping `install` made, no longer the signal stack.
        unsafe { libc::munmap(self.base.cast(), self.guard + self.size) };
    }
}

thread_local! {
    /// The alternate stack [`ensure_altstack`] mapped for this thread.
    static ALTSTACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// Makes sure the calling thread has an alternate signal stack, so the
/// overflow handler can run when a fiber has used up its stack. Call it
/// once on every thread that runs fibers, before the first.
///
/// Threads std spawns already have one (std's own overflow handler wants
/// it), and then this does nothing. Otherwise it maps one (64 KiB or
/// `SIGSTKSZ`, the larger, plus a guard page), freed at thread exit. If
/// the system refuses, an overflow still kills the process, with a bare
/// SIGSEGV instead of the message.
#[cfg_attr(not(test), allow(dead_code))] // for the worker's thread start
pub(crate) fn ensure_altstack() {
    // SAFETY: `stack_t` is plain data; all-zero is a valid value.
    let mut cur: libc::stack_t = unsafe { core::mem::zeroed() };
    // SAFETY: only reads the current alternate stack.
    let rc = unsafe { libc::sigaltstack(ptr::null(), &mut cur) };
    if rc != 0 || cur.ss_flags & libc::SS_DISABLE == 0 {
        return;
    }
    if let Some(alt) = AltStack::install() {
        // If thread-locals are already gone (a thread-local destructor
        // called us), `alt` is dropped here: no alternate stack, as above.
        let _ = ALTSTACK.try_with(|s| *s.borrow_mut() = Some(alt));
    }
}

// Not under Miri: it runs no signal handlers, mmap guard pages or child
// processes.
#[cfg(all(test, not(miri), not(loom)))]
pub(super) mod tests;
