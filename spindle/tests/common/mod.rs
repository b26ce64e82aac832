//! Shared by the integration tests: a watchdog, where the stress tests
//! write their figures, and small workloads. Each test binary uses part
//! of it.
#![allow(dead_code)]

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

/// Appends `key=value` lines to `$SPINDLE_RELIABILITY_DIR/stress.txt`, if
/// the variable is set; `.ci/run` sums them into its reliability summary.
pub fn report(pairs: &[(&str, usize)]) {
    let Some(dir) = std::env::var_os("SPINDLE_RELIABILITY_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::path::Path::new(&dir).join("stress.txt"))
        .unwrap();
    for (k, v) in pairs {
        writeln!(f, "{k}={v}").unwrap();
    }
}

/// Runs `f` on a helper thread and returns its result; fails the test
/// (instead of hanging it) if `f` takes longer than `secs`. A panic in `f`
/// is re-raised here.
pub fn within<R: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    let helper = std::thread::Builder::new()
        .name(format!("within: {what}"))
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        })
        .unwrap();
    // Miri's clock counts executed instructions: allow it far longer.
    let limit = if cfg!(miri) { secs * 20 } else { secs };
    match rx.recv_timeout(Duration::from_secs(limit)) {
        Ok(Ok(r)) => {
            let _ = helper.join();
            r
        }
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("{what}: no progress in {limit} s (deadlock?)"),
    }
}

/// Keeps a worker of `pool` busy with a stream of ~50 µs jobs, each
/// spawning the next (on a one-worker pool: it never goes idle), until
/// `stop` is set or 2 s have
/// passed.
pub fn keep_busy(pool: &spindle::Pool, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    fn churn(
        pool: spindle::Pool,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        start: std::time::Instant,
    ) {
        if stop.load(std::sync::atomic::Ordering::Relaxed)
            || start.elapsed() > Duration::from_secs(2)
        {
            return;
        }
        let t = std::time::Instant::now();
        while t.elapsed() < Duration::from_micros(50) {}
        let p = pool.clone();
        pool.spawn(move || churn(p, stop, start));
    }
    let p = pool.clone();
    let start = std::time::Instant::now();
    pool.spawn(move || churn(p, stop, start));
}

/// `fib(n)` with a `join` at every call: fork-join with steals.
pub fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = spindle::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

/// Whether pools here have fibers, so that a job that waits suspends
/// (x86-64 and aarch64 Unix; not under Miri, which cannot switch
/// contexts).
pub const FIBERS: bool = cfg!(all(
    unix,
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(miri)
));

/// Spawns a job named `name` (`Options::name`) that waits on an event
/// set from outside, then sends on the channel: with fibers its worker
/// switches away and runs other jobs meanwhile. Set the event to let it
/// finish.
pub fn waiting_job(
    pool: &spindle::Pool,
    name: &'static str,
) -> (std::sync::Arc<spindle::Event>, mpsc::Receiver<()>) {
    let ev = std::sync::Arc::new(spindle::Event::manual());
    let (tx, rx) = mpsc::channel();
    let wait = ev.clone();
    pool.spawn_with(spindle::Options::new().name(name), move || {
        wait.wait();
        tx.send(()).unwrap();
    })
    .unwrap();
    (ev, rx)
}
