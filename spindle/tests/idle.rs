#![cfg(not(loom))]
//! An idle pool sleeps: under 1 ms of CPU per second.

use std::time::{Duration, Instant};

/// CPU time in ns of the threads whose name starts with `prefix`, from
/// /proc/self/task/*/schedstat (Linux; ns precision).
fn cpu_ns_of(prefix: &str) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        let name = std::fs::read_to_string(dir.join("comm")).ok()?;
        if name.trim_end().starts_with(prefix) {
            let stat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
            total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(total)
}

#[test]
#[cfg_attr(
    miri,
    ignore = "reads /proc, which Miri's isolation forbids; measures CPU time, meaningless when interpreted"
)]
fn idle_pool_burns_no_cpu() {
    let pool = spindle::Pool::builder()
        .workers(2)
        .thread_name("idle-test-")
        .build()
        .unwrap();
    // Some work first, so the workers have been busy and went back to sleep.
    pool.install(|| spindle::join(|| (), || ()));
    pool.scope(|s| (0..1000).for_each(|_| s.spawn(|_| ())));
    std::thread::sleep(Duration::from_millis(100));

    let Some(before) = cpu_ns_of("idle-test-") else {
        return; // no /proc: not Linux
    };
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let after = cpu_ns_of("idle-test-").unwrap();
    let per_sec = (after - before) as f64 / start.elapsed().as_secs_f64();
    println!("idle pool: {:.3} ms of CPU per second", per_sec / 1e6);
    assert!(
        per_sec < 1e6,
        "idle pool used {per_sec} ns of CPU per second"
    );
    assert!(pool.stats().total().parks > 0);
}
