//! Feature `trace`: each slot's ring of timestamped events, written by the
//! slot's one running thread without a lock or a read-modify-write, and
//! read by anyone ([`Pool::trace`](crate::Pool::trace)).
//!
//! An entry is five words. The writer marks it in progress (an odd
//! sequence number), writes the fields, then publishes it (the next even
//! number); a reader takes an entry only if it saw the same even number
//! before and after reading the fields (a sequence lock per entry, with
//! every field atomic, so a torn read is detected, never undefined). A
//! full ring overwrites its oldest entries; readers count what they lost.
//!
//! Timestamps are the CPU's time-stamp counter on x86-64 (about 7 ns to
//! read, where `Instant::now` costs 20+), converted to nanoseconds when
//! the trace is read; elsewhere `Instant`.

use std::cell::Cell;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Events a slot keeps by default (see `Builder::trace_capacity`).
pub(crate) const DEFAULT_CAPACITY: usize = 1 << 15;
/// The most events a slot may keep: 2^24, 640 MiB of ring per thread.
pub(crate) const MAX_CAPACITY: usize = 1 << 24;

/// What an entry records; the low byte of its `word`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Code {
    Begin = 1,
    End = 2,
    Steal = 3,
    InjectorPop = 4,
    Park = 5,
    Unpark = 6,
    Wake = 7,
    FiberSwitch = 8,
    Frame = 9,
}

impl Code {
    fn from_u8(b: u8) -> Option<Code> {
        Some(match b {
            1 => Code::Begin,
            2 => Code::End,
            3 => Code::Steal,
            4 => Code::InjectorPop,
            5 => Code::Park,
            6 => Code::Unpark,
            7 => Code::Wake,
            8 => Code::FiberSwitch,
            9 => Code::Frame,
            _ => return None,
        })
    }
}

struct Entry {
    /// `2 * (n + 1)` once event `n` is in place; odd while being written.
    seq: AtomicU64,
    time: AtomicU64,
    /// `Code` in the low byte, the argument above it.
    word: AtomicU64,
    /// A `Begin`'s name (`&'static str`), as address and length.
    name_ptr: AtomicUsize,
    name_len: AtomicUsize,
}

/// One event as read back: raw time, code, argument, and a `Begin`'s name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Raw {
    pub(crate) ticks: u64,
    pub(crate) code: Code,
    pub(crate) arg: u64,
    pub(crate) name: &'static str,
    /// A second argument (a fiber switch's origin), where `name` is not used.
    pub(crate) extra: u64,
}

/// A slot's event ring.
pub(crate) struct Ring {
    /// Events written so far (only the writer stores it).
    head: AtomicU64,
    entries: Box<[Entry]>,
    /// The name of the thread that runs the slot (a worker's, or
    /// "caller" for the participant slot).
    name: Mutex<String>,
}

impl Ring {
    /// A ring of `capacity` entries (rounded up to a power of two, at
    /// least 2).
    pub(crate) fn new(capacity: usize) -> Self {
        clock::start();
        let n = capacity.max(2).next_power_of_two();
        let entries = (0..n)
            .map(|_| Entry {
                seq: AtomicU64::new(0),
                time: AtomicU64::new(0),
                word: AtomicU64::new(0),
                name_ptr: AtomicUsize::new(0),
                name_len: AtomicUsize::new(0),
            })
            .collect();
        Self {
            head: AtomicU64::new(0),
            entries,
            name: Mutex::new(String::new()),
        }
    }

    pub(crate) fn set_name(&self, name: &str) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = name.to_owned();
    }

    pub(crate) fn name(&self) -> String {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Appends an event. Only the thread running the ring's slot calls
    /// this (one writer at a time; the participant slot changes threads
    /// only through its lock).
    #[inline(always)]
    pub(crate) fn push(&self, code: Code, arg: u64, name: &'static str) {
        self.push_raw(code, arg, name.as_ptr() as usize, name.len());
    }

    /// [`push`](Self::push) with the name's two words given raw: a `Begin`
    /// must pass a `&'static str`'s address and length; other codes may
    /// carry any second argument in `len` (and 0 in `ptr`).
    #[inline(always)]
    fn push_raw(&self, code: Code, arg: u64, ptr: usize, len: usize) {
        let n = self.head.load(Ordering::Relaxed);
        let e = &self.entries[(n as usize) & (self.entries.len() - 1)];
        let seq = 2 * (n + 1);
        e.seq.store(seq - 1, Ordering::Relaxed);
        // The in-progress mark is ordered before the fields' stores.
        fence(Ordering::Release);
        e.time.store(clock::now(), Ordering::Relaxed);
        e.word.store(code as u64 | (arg << 8), Ordering::Relaxed);
        e.name_ptr.store(ptr, Ordering::Relaxed);
        e.name_len.store(len, Ordering::Relaxed);
        e.seq.store(seq, Ordering::Release);
        self.head.store(n + 1, Ordering::Release);
    }

    /// The events still in the ring, oldest first, and how many were
    /// lost (overwritten before or while they were read).
    pub(crate) fn read(&self) -> (Vec<Raw>, u64) {
        let head = self.head.load(Ordering::Acquire);
        let cap = self.entries.len() as u64;
        let first = head.saturating_sub(cap);
        let mut out = Vec::with_capacity((head - first) as usize);
        let mut lost = first;
        for n in first..head {
            let e = &self.entries[(n as usize) & (self.entries.len() - 1)];
            let seq = 2 * (n + 1);
            if e.seq.load(Ordering::Acquire) != seq {
                lost += 1;
                continue;
            }
            let ticks = e.time.load(Ordering::Relaxed);
            let word = e.word.load(Ordering::Relaxed);
            let ptr = e.name_ptr.load(Ordering::Relaxed);
            let len = e.name_len.load(Ordering::Relaxed);
            // The fields' loads are ordered before the re-check.
            fence(Ordering::Acquire);
            if e.seq.load(Ordering::Relaxed) != seq {
                lost += 1;
                continue;
            }
            let Some(code) = Code::from_u8(word as u8) else {
                lost += 1;
                continue;
            };
            let name = if code == Code::Begin {
                // SAFETY: the sequence number was `seq` before and after
                // the loads, so they are the fields `push` wrote for event
                // `n`: the address and length of a `&'static str`.
                unsafe {
                    let bytes = core::slice::from_raw_parts(ptr as *const u8, len);
                    core::str::from_utf8_unchecked(bytes)
                }
            } else {
                ""
            };
            out.push(Raw {
                ticks,
                code,
                arg: word >> 8,
                name,
                extra: if code == Code::Begin { 0 } else { len as u64 },
            });
        }
        (out, lost)
    }
}

thread_local! {
    /// The ring of the slot this thread runs, or null.
    static CURRENT: Cell<*const Ring> = const { Cell::new(core::ptr::null()) };
}

/// Makes `ring` the calling thread's (null: none). Set with the current
/// slot (`worker::set_current`), which outlives it being current.
pub(crate) fn set_current(ring: *const Ring) {
    CURRENT.with(|c| c.set(ring));
}

/// Appends an event to the calling thread's ring, if it runs a slot.
#[inline(always)]
pub(crate) fn emit(code: Code, arg: u64, name: &'static str) {
    let ring = CURRENT.with(|c| c.get());
    if !ring.is_null() {
        // SAFETY: `set_current` is given the current slot's ring, which
        // lives (in its registry) while the slot is current; it is reset
        // before the slot stops being this thread's.
        unsafe { &*ring }.push(code, arg, name);
    }
}

/// Appends a code with two plain arguments (not a `Begin`) to the calling
/// thread's ring, if it runs a slot.
#[inline(always)]
pub(crate) fn emit2(code: Code, arg: u64, extra: usize) {
    debug_assert!(code != Code::Begin);
    let ring = CURRENT.with(|c| c.get());
    if !ring.is_null() {
        // SAFETY: as in `emit`.
        unsafe { &*ring }.push_raw(code, arg, 0, extra);
    }
}

/// Records `pairs` spans (a begin and an end each, as a job's span does)
/// into a fresh ring made current on the calling thread, and returns the
/// time taken: the cost of `2 * pairs` events (`spindle-bench`'s
/// `trace-event` row). Not part of the API.
pub fn record_span_pairs(pairs: u64) -> std::time::Duration {
    let ring = Ring::new(DEFAULT_CAPACITY);
    let prev = CURRENT.with(|c| c.replace(&ring));
    let start = Instant::now();
    for _ in 0..pairs {
        let span = super::span(super::Kind::Job, super::Name::new("bench"));
        core::hint::black_box(&span);
        drop(span);
    }
    let took = start.elapsed();
    CURRENT.with(|c| c.set(prev));
    assert_eq!(
        ring.head.load(Ordering::Relaxed),
        2 * pairs,
        "every event recorded"
    );
    took
}

/// The clock: raw ticks, and their conversion to nanoseconds.
pub(crate) mod clock {
    use super::*;

    /// A reference point: an `Instant` and the ticks read with it.
    static START: OnceLock<(Instant, u64)> = OnceLock::new();

    pub(crate) fn start() {
        START.get_or_init(|| (Instant::now(), now()));
    }

    /// Raw ticks now.
    #[inline(always)]
    pub(crate) fn now() -> u64 {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        {
            // SAFETY: `rdtsc` has no preconditions on x86-64.
            unsafe { core::arch::x86_64::_rdtsc() }
        }
        #[cfg(not(all(target_arch = "x86_64", not(miri))))]
        {
            static BASE: OnceLock<Instant> = OnceLock::new();
            BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
        }
    }

    /// Converts ticks to nanoseconds since the reference point, with a
    /// rate measured between it and now.
    pub(crate) fn to_ns() -> impl Fn(u64) -> u64 {
        let (t0, k0) = *START.get_or_init(|| (Instant::now(), now()));
        let elapsed = t0.elapsed().as_nanos() as f64;
        let ticks = now().wrapping_sub(k0) as f64;
        let per_tick = if ticks > 0.0 && elapsed > 0.0 {
            elapsed / ticks
        } else {
            1.0
        };
        move |k| (k.saturating_sub(k0) as f64 * per_tick) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_back_in_order_and_a_full_ring_counts_what_it_lost() {
        let ring = Ring::new(4);
        ring.push(Code::Begin, 0, "a");
        ring.push(Code::Steal, 3, "");
        ring.push(Code::End, 0, "");
        let (ev, lost) = ring.read();
        assert_eq!(lost, 0);
        let codes: Vec<_> = ev.iter().map(|e| (e.code, e.arg, e.name)).collect();
        assert_eq!(
            codes,
            [
                (Code::Begin, 0, "a"),
                (Code::Steal, 3, ""),
                (Code::End, 0, "")
            ]
        );
        assert!(ev.windows(2).all(|w| w[0].ticks <= w[1].ticks));
        for i in 0..5 {
            ring.push(Code::Wake, i, "");
        }
        let (ev, lost) = ring.read();
        assert_eq!(lost, 4);
        let args: Vec<_> = ev.iter().map(|e| e.arg).collect();
        assert_eq!(args, [1, 2, 3, 4]);
    }

    #[test]
    fn a_reader_racing_the_writer_sees_only_whole_events() {
        let ring = std::sync::Arc::new(Ring::new(64));
        let names = ["alpha", "a much longer job name", "b"];
        let writer = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                for i in 0..20_000u64 {
                    let name = names[(i % 3) as usize];
                    ring.push(Code::Begin, i % 3, name);
                }
            })
        };
        while !writer.is_finished() {
            for e in ring.read().0 {
                assert_eq!(e.name, names[e.arg as usize]);
            }
        }
        writer.join().unwrap();
    }
}
