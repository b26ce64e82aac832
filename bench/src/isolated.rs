//! The parent's side of the default mode: each implementation family runs
//! in a child process of its own (this program again with `--family F`),
//! whose measurements come back on its stdout as `@measurement` lines
//! (`report::LINE_TAG`), and whose progress lines the parent shows on
//! stderr, above its progress bar when stderr is a terminal.

use std::io::{BufRead, BufReader, Read};

use crate::progress::Progress;
use crate::report::{self, Measurement};
use crate::{workloads, Options, FAMILIES};

/// Runs every family in a process of its own, one after another: this
/// program again with `--family F` (and `--threads T` for the workloads
/// on pools), reading back its measurements.
///
/// Why: in one process, implementations disturb each other beyond what
/// the settle pause removes: forte's `spawn` ran 35–100% slower after the
/// other runtimes' runs than alone (its heartbeat thread, the allocator
/// state tokio's million tasks leave), and the same holds for any
/// runtime's leftover threads. The cost: the round-robin interleaving no
/// longer spreads a noisy moment over every implementation, so compare
/// medians and minima over several runs (`--same-process` gives the
/// interleaved form).
pub fn run_isolated(options: &Options) -> Result<Vec<Measurement>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let (fixed, pooled): (Vec<&str>, Vec<&str>) = options
        .workloads
        .iter()
        .partition(|w| workloads::is_fixed(w));
    // One child per family for the fixed workloads, then one per family
    // and thread count (ascending, as forte needs) for the others.
    let mut jobs: Vec<(Option<usize>, Vec<&str>)> = Vec::new();
    if !fixed.is_empty() {
        jobs.push((None, fixed));
    }
    if !pooled.is_empty() {
        for &t in &options.threads {
            jobs.push((Some(t), pooled.clone()));
        }
    }
    // The progress bar: a step per workload of each child. A child prints
    // each workload's measurements as soon as it has them, which moves the
    // bar to that workload; a family without a bench for a workload
    // prints nothing for it, so the bar passes it when the child ends.
    let steps: usize = jobs.iter().map(|(_, w)| w.len()).sum::<usize>() * FAMILIES.len();
    let progress = Progress::new(steps as u64);
    progress.tick_every_second();
    let results = run_children(&exe, options, &jobs, &progress);
    progress.finish();
    results
}

/// Runs the children of [`run_isolated`] one after another, `jobs` being
/// the thread count to pass (none for the fixed-thread workloads) and the
/// workloads of each child.
fn run_children(
    exe: &std::path::Path,
    options: &Options,
    jobs: &[(Option<usize>, Vec<&str>)],
    progress: &Progress,
) -> Result<Vec<Measurement>, String> {
    let mut results = Vec::new();
    let mut step = 0;
    for (threads, workloads) in jobs {
        for family in FAMILIES {
            let mut cmd = std::process::Command::new(exe);
            cmd.arg("--family").arg(family);
            cmd.arg("--runs").arg(options.runs.to_string());
            if options.quick {
                cmd.arg("--quick");
            }
            if let Some(t) = threads {
                cmd.arg("--threads").arg(t.to_string());
            }
            cmd.args(workloads);
            progress.set_message(match threads {
                Some(t) => format!("{family}, {t} thread(s)"),
                None => format!("{family}, fixed-thread workloads"),
            });
            // With the bar drawn, the child's progress lines are printed
            // above it; without, they go straight to stderr, as they are.
            cmd.stdout(std::process::Stdio::piped());
            cmd.stderr(if progress.visible() {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::inherit()
            });
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
            let stdout = child.stdout.take().expect("stdout is piped");
            let stderr = child.stderr.take();
            let mut unreadable = None;
            std::thread::scope(|s| {
                if let Some(stderr) = stderr {
                    s.spawn(|| for_each_line(stderr, |line| progress.line(line)));
                }
                for_each_line(stdout, |line| {
                    let Some(fields) = line.strip_prefix(report::LINE_TAG) else {
                        return;
                    };
                    match report::Measurement::parse(fields) {
                        Some(m) => {
                            if let Some(i) = workloads.iter().position(|w| *w == m.workload) {
                                progress.advance_to((step + i + 1) as u64);
                            }
                            results.push(m);
                        }
                        None => {
                            unreadable.get_or_insert_with(|| fields.to_string());
                        }
                    }
                });
            });
            let status = child
                .wait()
                .map_err(|e| format!("cannot wait for the {family} run: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "the {family} run ({}) failed: {status}",
                    workloads.join(" "),
                ));
            }
            if let Some(line) = unreadable {
                return Err(format!(
                    "the {family} run printed a line this program cannot read: {line}"
                ));
            }
            step += workloads.len();
            progress.advance_to(step as u64);
        }
    }
    Ok(results)
}

/// Calls `f` with each line `reader` gives (lossily decoded, without its
/// line break) until its end.
fn for_each_line(reader: impl Read, mut f: impl FnMut(&str)) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                f(line.trim_end_matches(['\n', '\r']));
            }
        }
    }
}
