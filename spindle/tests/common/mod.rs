//! Shared by the integration tests: a watchdog, and where the stress tests
//! write their figures. Each test binary uses part of it.
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
