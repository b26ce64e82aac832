//! A million trips through the sleep protocol, on real threads: sleepers
//! that go through S1–S4 every time they run dry, and outside threads that
//! publish one unit of work at a time and wait for it to be taken. A lost
//! wake-up leaves a unit untaken with every sleeper parked; the watchdog
//! turns that into a failure instead of a hung CI run.
//!
//! This is a volume test on real hardware. It is not the proof: on this
//! x86 machine it did not catch a deliberately removed S3 re-check or P2
//! fence in a million cycles (the windows are a few instructions wide and
//! the ramp-up wake in `stop_searching` often covers them). The loom models
//! in `mod.rs` explore those interleavings exhaustively.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Sleep;

/// Work: each publisher counts the units it published in its own word,
/// written with a plain release store (like a deque's `bottom`: no locked
/// instruction that would hide a missing fence on x86); sleepers claim
/// units by advancing `taken`.
struct Work {
    published: [AtomicUsize; 2],
    taken: AtomicUsize,
}

impl Work {
    /// Units published so far, by all publishers.
    fn published(&self) -> usize {
        self.published
            .iter()
            .map(|p| p.load(Ordering::Acquire))
            .sum()
    }

    fn available(&self) -> usize {
        // `taken` first, as in `take`: a unit counted in it was published
        // before it was taken (the taker acquired that count), so the
        // publication counts read after it are at least as large. Read the
        // other way round, a unit published and taken in between makes
        // `taken` exceed the sum read, and the subtraction overflows (Miri
        // found it; rare but possible on hardware too).
        let taken = self.taken.load(Ordering::Acquire);
        self.published() - taken
    }

    /// Takes one unit of work, if there is one.
    fn take(&self) -> bool {
        loop {
            let taken = self.taken.load(Ordering::Acquire);
            if taken >= self.published() {
                return false;
            }
            if self
                .taken
                .compare_exchange(taken, taken + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return true;
            }
        }
    }
}

#[test]
fn a_million_sleep_cycles_with_outside_publishers() {
    const SLEEPERS: usize = 2;
    const PUBLISHERS: usize = 2;
    let target: usize = if cfg!(miri) { 200 } else { 1_000_000 };
    let sleep = Arc::new(Sleep::new(SLEEPERS));
    let work = Arc::new(Work {
        published: [AtomicUsize::new(0), AtomicUsize::new(0)],
        taken: AtomicUsize::new(0),
    });
    let cycles = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let turn = Arc::new(std::sync::Mutex::new(()));
    let start = Instant::now();

    let sleepers: Vec<_> = (0..SLEEPERS)
        .map(|index| {
            let (sleep, work, cycles, stop) =
                (sleep.clone(), work.clone(), cycles.clone(), stop.clone());
            std::thread::spawn(move || loop {
                if work.take() {
                    continue;
                }
                // Run dry: search once, then sleep (no spinning, so that
                // nearly every round trip goes through the whole protocol).
                sleep.start_searching();
                loop {
                    if work.take() {
                        sleep.stop_searching(true);
                        break;
                    }
                    if stop.load(Ordering::Acquire) {
                        sleep.stop_searching(false);
                        return;
                    }
                    sleep.sleep(index, || {
                        work.available() > 0 || stop.load(Ordering::Acquire)
                    });
                    cycles.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    // Publishers: one unit at a time, waiting until it is taken, until the
    // sleepers have been through `target` sleep cycles.
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let (sleep, work, cycles, turn) =
                (sleep.clone(), work.clone(), cycles.clone(), turn.clone());
            std::thread::spawn(move || {
                let mut published = 0usize;
                while cycles.load(Ordering::Relaxed) < target {
                    // One unit outstanding at a time, whoever publishes it:
                    // a lost wake-up then cannot be covered up by another
                    // publisher's notification.
                    let _turn = turn.lock().unwrap();
                    published += 1;
                    work.published[p].store(published, Ordering::Release); // P1
                    sleep.notify_work(1); // P2, P3
                    while work.available() > 0 {
                        std::thread::yield_now();
                    }
                }
                published
            })
        })
        .collect();

    // Watchdog: progress is units taken; 20 s without any is a hang.
    let mut last = (usize::MAX, Instant::now());
    while publishers.iter().any(|p| !p.is_finished()) {
        let now = work.taken.load(Ordering::Acquire);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(20) {
            eprintln!(
                "hang: {now} units taken, {} available, {} cycles, sleep state {:#x}",
                work.available(),
                cycles.load(Ordering::SeqCst),
                sleep.state.load(Ordering::SeqCst),
            );
            std::process::abort();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let published: usize = publishers.into_iter().map(|p| p.join().unwrap()).sum();
    stop.store(true, Ordering::Release);
    sleep.wake_all();
    for s in sleepers {
        s.join().unwrap();
    }
    let cycles = cycles.load(Ordering::SeqCst);
    eprintln!(
        "{cycles} sleep cycles, {published} units published from outside, in {:.2?}",
        start.elapsed()
    );
    assert_eq!(work.taken.load(Ordering::SeqCst), published, "units lost");
    assert_eq!(
        sleep.state.load(Ordering::SeqCst),
        0,
        "counts left non-zero"
    );
    assert!(cycles >= target);
    if let Some(dir) = std::env::var_os("SPINDLE_RELIABILITY_DIR") {
        use std::io::Write;
        std::fs::create_dir_all(&dir).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(std::path::Path::new(&dir).join("stress.txt"))
            .unwrap();
        writeln!(f, "park_cycles={cycles}\nhangs=0").unwrap();
    }
}
