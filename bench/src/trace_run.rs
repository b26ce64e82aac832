//! `--trace FILE WORKLOAD`: one run of spindle's benches of a workload,
//! with the pool recording (feature `trace`), written as Chrome
//! trace-event JSON: what the workload looks like on a timeline (open it
//! in <https://ui.perfetto.dev>). One thread count: the last of
//! `--threads` (default 2). The run is not timed.

use crate::impls::Pools;
use crate::workloads;

/// Runs `workload`'s spindle benches once on `threads` threads and writes
/// the pool's trace to `path`.
pub fn run(path: &str, workload: &'static str, threads: usize) -> Result<(), String> {
    if workloads::is_fixed(workload) {
        return Err(format!(
            "--trace runs a workload on a pool; `{workload}` does not use one"
        ));
    }
    if !cfg!(feature = "trace") {
        return Err("--trace needs the trace feature: cargo run --release -p spindle-bench --features trace -- --trace FILE WORKLOAD".into());
    }
    let data = workloads::Data::new();
    let pools = Pools::new(threads);
    let mut benches = workloads::pool_benches(workload, &pools, &data);
    benches.retain(|b| crate::family_of(b.name) == "spindle");
    if benches.is_empty() {
        return Err(format!("`{workload}` has no spindle bench"));
    }
    for bench in &mut benches {
        eprintln!(
            "[{threads} thread(s)] {workload}/{}: one run, traced",
            bench.name
        );
        (bench.run)(&mut Vec::new());
    }
    write(path, &pools)
}

#[cfg(feature = "trace")]
fn write(path: &str, pools: &Pools) -> Result<(), String> {
    let trace = pools.spindle().pool().trace();
    trace
        .write_chrome_json(path)
        .map_err(|e| format!("cannot write {path}: {e}"))?;
    let lost: u64 = trace.threads.iter().map(|t| t.lost).sum();
    eprintln!(
        "wrote {path}: {} events on {} threads ({lost} overwritten: the ring keeps the last ones)",
        trace.len(),
        trace.threads.len()
    );
    Ok(())
}

#[cfg(not(feature = "trace"))]
fn write(_: &str, _: &Pools) -> Result<(), String> {
    unreachable!("checked in run")
}
