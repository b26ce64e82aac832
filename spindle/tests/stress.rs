#![cfg(not(loom))]
//! Stress and fault injection, bounded in time: a million jobs through
//! every front end, with every priority class and with and without
//! affinity, 1% of them panicking, deep nesting, and outside
//! threads waking sleeping workers over and over under a watchdog.
//!
//! Each test checks its own figures (nothing lost, nothing run twice, every
//! panic delivered once) and, when `SPINDLE_RELIABILITY_DIR` is set, appends
//! them as `key=value` lines to `stress.txt` there; `.ci/run` sums them into
//! its reliability summary.

mod common;

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use spindle::{Affinity, Counter, Options, Pool, Priority};

/// The payload of an injected panic: the id of the job that panicked.
struct Injected(usize);

/// Keeps injected panics off stderr (ten thousand of them), and prints
/// every other panic as usual.
fn quiet_injected_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Injected>().is_none() {
                default(info);
            }
        }));
    });
}

/// Whether job `id` panics: a hash of the id, true for about 1% of ids,
/// scattered so that some join trees and scopes get two or more.
fn panics(id: usize) -> bool {
    let mut x = id as u64 ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    x.is_multiple_of(100)
}

/// Per-job bookkeeping: how often each job ran and how often its panic
/// reached someone (a joiner's `catch_unwind` or the panic handler).
struct Ledger {
    runs: Vec<AtomicU8>,
    delivered: Vec<AtomicU8>,
    detached_done: AtomicUsize,
    /// Affine jobs that ran outside their set.
    misplaced: AtomicUsize,
}

impl Ledger {
    fn new(n: usize) -> Self {
        Self {
            runs: (0..n).map(|_| AtomicU8::new(0)).collect(),
            delivered: (0..n).map(|_| AtomicU8::new(0)).collect(),
            detached_done: AtomicUsize::new(0),
            misplaced: AtomicUsize::new(0),
        }
    }

    /// The job itself; `only` is the worker it must run on, if any.
    fn work(&self, id: usize, only: Option<usize>) {
        if only.is_some() && spindle::worker_index() != only {
            self.misplaced.fetch_add(1, Ordering::Relaxed);
        }
        self.runs[id].fetch_add(1, Ordering::Relaxed);
        if panics(id) {
            std::panic::panic_any(Injected(id));
        }
    }

    /// A panic reached its destination.
    fn deliver(&self, payload: Box<dyn Any + Send>) {
        match payload.downcast::<Injected>() {
            Ok(p) => {
                self.delivered[p.0].fetch_add(1, Ordering::Relaxed);
            }
            Err(other) => std::panic::resume_unwind(other),
        }
    }
}

/// Splits `lo..hi` with joins down to single jobs. With options, each
/// second half goes by them (and its jobs are checked for placement).
fn join_tree(ledger: &Ledger, lo: usize, hi: usize, opts: &Options, only: Option<usize>) {
    if hi - lo == 1 {
        return ledger.work(lo, None);
    }
    let mid = (lo + hi) / 2;
    if *opts == Options::new() {
        spindle::join(
            || join_tree(ledger, lo, mid, opts, None),
            || join_tree(ledger, mid, hi, opts, None),
        );
    } else {
        let b = || {
            if hi - mid == 1 {
                ledger.work(mid, only)
            } else {
                join_tree(ledger, mid, hi, opts, only)
            }
        };
        spindle::join_with(opts.clone(), || join_tree(ledger, lo, mid, opts, only), b)
            .expect("a valid affinity");
    }
}

const CHUNK: usize = 100;

/// The options chunk `c` submits with, and the worker its jobs must run
/// on if they have an affinity: every class, with and without affinity.
fn chunk_options(c: usize) -> (Options, Option<usize>) {
    let class = [Priority::Normal, Priority::High, Priority::Low][(c / 4) % 3];
    let opts = Options::new().priority(class);
    if (c / 12) % 2 == 1 {
        let w = c % 2;
        (opts.affinity(Affinity::worker(w)), Some(w))
    } else {
        (opts, None)
    }
}

/// Runs the jobs of chunk `c` through one front end, chosen by `c`, and
/// delivers the panic its joiner re-raises (others go to the handler).
fn run_chunk(pool: &Pool, ledger: &Arc<Ledger>, c: usize) {
    let (lo, hi) = (c * CHUNK, (c + 1) * CHUNK);
    let (opts, only) = chunk_options(c);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match c % 4 {
        0 => join_tree(ledger, lo, hi, &opts, only),
        1 => pool.scope(|s| {
            for id in lo..hi {
                let ledger = &**ledger;
                s.spawn_with(opts.clone(), move |_| ledger.work(id, only))
                    .expect("a valid affinity");
            }
        }),
        2 => {
            let counter = Counter::new();
            pool.dispatch_with(
                opts.clone(),
                &counter,
                (lo..hi).map(|id| {
                    let ledger = ledger.clone();
                    move || ledger.work(id, only)
                }),
            )
            .expect("a valid affinity");
            pool.wait(&counter);
        }
        _ => {
            for id in lo..hi {
                let ledger = ledger.clone();
                pool.spawn_with(opts.clone(), move || {
                    /// Counts the job finished even when it panics.
                    struct Done(Arc<Ledger>);
                    impl Drop for Done {
                        fn drop(&mut self) {
                            self.0.detached_done.fetch_add(1, Ordering::Release);
                        }
                    }
                    let done = Done(ledger);
                    done.0.work(id, only);
                })
                .expect("a valid affinity");
            }
        }
    }));
    if let Err(payload) = outcome {
        ledger.deliver(payload);
    }
}

#[test]
fn a_million_jobs_with_one_percent_panicking() {
    quiet_injected_panics();
    let n: usize = if cfg!(miri) { 2 * CHUNK * 4 } else { 1_000_000 };
    let ledger = Arc::new(Ledger::new(n));
    let handler_ledger = ledger.clone();
    // Chunks whose waits depend on work bound to another thread help with
    // other chunks meanwhile, nested on the waiting stack — the workers' and
    // the participating caller's. That fits the default 8 MiB natively, but
    // not with ASan's larger frames (`--cfg spindle_asan`, see
    // `.ci/sanitizers`): a quarter of runs overflowed a worker, one in
    // sixteen the caller (libtest's 2 MiB thread). Only touched pages are
    // committed, so both get a big stack under ASan.
    let stack = if cfg!(spindle_asan) {
        64 << 20
    } else {
        spindle::DEFAULT_STACK_SIZE
    };
    let pool = Arc::new(
        Pool::builder()
            .workers(2)
            .stack_size(stack)
            .panic_handler(move |p| handler_ledger.deliver(p))
            .build()
            .unwrap(),
    );
    let chunks = n / CHUNK;
    let detached = (0..chunks).filter(|c| c % 4 == 3).count() * CHUNK;
    let start = Instant::now();
    // Chunks are spawned in a scope, so all front ends run at once, nested
    // inside scope jobs, on every worker and the participating caller.
    let caller = {
        let (pool, ledger) = (pool.clone(), ledger.clone());
        move || {
            pool.install(|| {
                pool.scope(|s| {
                    for c in 0..chunks {
                        let (pool, ledger) = (&pool, &ledger);
                        s.spawn(move |_| run_chunk(pool, ledger, c));
                    }
                })
            })
        }
    };
    std::thread::Builder::new()
        .name("stress-caller".into())
        .stack_size(stack)
        .spawn(caller)
        .unwrap()
        .join()
        .unwrap();
    // Detached jobs finish on their own time; the watchdog bounds it.
    while ledger.detached_done.load(Ordering::Acquire) < detached {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "detached jobs did not finish: {} of {detached}",
            ledger.detached_done.load(Ordering::Acquire)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // The pool still accepts work after all those panics.
    let (a, b) = pool.install(|| spindle::join(|| 20, || 22));
    assert_eq!(a + b, 42);
    drop(pool); // the handler has run for every detached panic by now

    let mut lost = 0;
    let mut doubled = 0;
    let mut injected = 0;
    let mut misdelivered = 0;
    for id in 0..n {
        match ledger.runs[id].load(Ordering::Relaxed) {
            0 => lost += 1,
            1 => {}
            _ => doubled += 1,
        }
        let expected = u8::from(panics(id));
        injected += usize::from(panics(id));
        if ledger.delivered[id].load(Ordering::Relaxed) != expected {
            misdelivered += 1;
        }
    }
    common::report(&[
        ("stress_jobs", n),
        ("injected_panics", injected),
        ("lost", lost),
        ("doubled", doubled),
        ("misdelivered_panics", misdelivered),
        ("misplaced", ledger.misplaced.load(Ordering::Relaxed)),
    ]);
    eprintln!(
        "{n} jobs, {injected} injected panics: lost={lost} doubled={doubled} \
         misdelivered={misdelivered} in {:.2?}",
        start.elapsed()
    );
    assert!(injected > n / 200, "the panic injection is broken");
    assert_eq!((lost, doubled, misdelivered), (0, 0, 0));
    assert_eq!(
        ledger.misplaced.load(Ordering::Relaxed),
        0,
        "affine jobs ran elsewhere"
    );
}

#[test]
fn ten_thousand_nested_joins_on_a_default_worker_stack() {
    // Each level keeps its join frame alive while the next one runs, and
    // thieves may take the second halves and nest on their own stacks.
    fn chain(d: u32) -> u32 {
        if d == 0 {
            return 0;
        }
        let (below, one) = spindle::join(|| chain(d - 1), || 1);
        below + one
    }
    // ASan's redzones about double each frame: 10^4 levels overflow the
    // 8 MiB stack there (about 5000 fit), so `.ci/sanitizers` builds its
    // ASan run with `--cfg spindle_asan` and the chain is shorter.
    let depth = if cfg!(miri) {
        200
    } else if cfg!(spindle_asan) {
        3_000
    } else {
        10_000
    };
    let pool = Pool::builder().workers(2).build().unwrap();
    // `install` from outside runs the chain on the calling thread (the
    // participant slot), so call it from a thread with a worker's default
    // stack: the test harness's threads have 2 MiB, which TSan's bigger
    // frames outgrow.
    std::thread::Builder::new()
        .stack_size(spindle::DEFAULT_STACK_SIZE)
        .spawn(move || {
            for _ in 0..3 {
                assert_eq!(pool.install(|| chain(depth)), depth);
            }
        })
        .unwrap()
        .join()
        .unwrap();
    common::report(&[("stress_jobs", depth as usize * 3)]);
}

/// Outside threads submit jobs one at a time and wait for each, so the
/// workers run out of work, park, and are woken again and again. A
/// watchdog thread fails the test (instead of hanging CI) if a round trip
/// takes longer than it may.
#[test]
fn park_unpark_round_trips_from_outside_threads() {
    let rounds: usize = if cfg!(miri) { 50 } else { 20_000 };
    let submitters = 3;
    let pool = Arc::new(Pool::builder().workers(2).build().unwrap());
    let progress = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let hangs = Arc::new(AtomicUsize::new(0));
    let watchdog = {
        let (progress, finished, hangs) = (progress.clone(), finished.clone(), hangs.clone());
        std::thread::spawn(move || {
            let mut last = usize::MAX;
            let mut since = Instant::now();
            while !finished.load(Ordering::Acquire) {
                let now = progress.load(Ordering::Acquire);
                if now != last {
                    (last, since) = (now, Instant::now());
                } else if since.elapsed() > Duration::from_secs(20) {
                    hangs.fetch_add(1, Ordering::SeqCst);
                    eprintln!("watchdog: no progress for 20 s at {now} round trips");
                    std::process::abort();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let parks_before = pool.stats().total().parks;
    let start = Instant::now();
    let threads: Vec<_> = (0..submitters)
        .map(|t| {
            let (pool, progress) = (pool.clone(), progress.clone());
            std::thread::spawn(move || {
                let slot = Arc::new(Mutex::new(0usize));
                for i in 0..rounds {
                    let (tx, rx) = std::sync::mpsc::sync_channel(1);
                    let s = slot.clone();
                    pool.spawn(move || {
                        *s.lock().unwrap() += 1;
                        tx.send(()).unwrap();
                    });
                    rx.recv().unwrap();
                    assert_eq!(*slot.lock().unwrap(), i + 1, "submitter {t}");
                    progress.fetch_add(1, Ordering::Release);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    finished.store(true, Ordering::Release);
    watchdog.join().unwrap();
    let parks = pool.stats().total().parks - parks_before;
    let total = rounds * submitters;
    eprintln!(
        "{total} round trips from {submitters} outside threads, {parks} parks, in {:.2?}",
        start.elapsed()
    );
    common::report(&[
        ("stress_jobs", total),
        ("hangs", hangs.load(Ordering::SeqCst)),
        ("pool_parks", parks as usize),
    ]);
    assert_eq!(progress.load(Ordering::SeqCst), total);
}
