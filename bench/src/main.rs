//! `spindle-bench`: compares spindle with rayon, chili, forte, tokio,
//! crossbeam-deque, corosensei and may on a handful of fork-join, spawn,
//! deque, fiber and async-task workloads (the `async-*` ones compare
//! spindle's async tasks with tokio's).
//!
//! ```text
//! spindle-bench [--quick] [--threads 1,2] [--runs N] [--json FILE] [--svg FILE] [WORKLOAD ...]
//! spindle-bench --svg-from RESULTS.json --svg FILE
//! spindle-bench --trace FILE [--threads T] WORKLOAD     (built with --features trace)
//! ```
//!
//! Each implementation family (spindle, rayon, chili, forte, tokio, ...)
//! runs in a process of its own: this program again with `--family F`
//! (see [`isolated::run_isolated`] for why). Within it, for every thread count
//! (ascending) and every selected workload, each of its benches is warmed
//! up and then timed `runs` times, round robin. `--same-process` runs
//! every family in this one process instead, interleaved round robin
//! within each run so that machine noise hits all of them alike. Progress goes to stderr
//! (a line per workload, and a progress bar when stderr is a terminal: see
//! `progress.rs`), one Markdown table per thread count goes to stdout,
//! `--json FILE` writes the raw numbers, and `--svg FILE` a chart of the
//! `×best peer` ratios (see `chart.rs`). `--svg-from RESULTS.json --svg FILE`
//! draws that chart from a file an earlier `--json` wrote, running nothing.
//! `--trace FILE WORKLOAD` (a build with `--features trace`) runs
//! spindle's benches of one workload once, untimed, and writes the pool's
//! Chrome trace (see `trace_run.rs`).
//! A few workloads (`fiber-switch`) report the time of one operation: a
//! run's time divided by its operation count.
//!
//! `threads` counts every thread that runs jobs, a participating caller
//! included (see `impls.rs`). The deque workloads and `fiber-switch` ignore
//! `--threads`: they always use one thread (`deque-pushpop`,
//! `fiber-switch`) or two (`deque-steal`), and run once.

mod chart;
mod impls;
mod isolated;
mod progress;
mod report;
mod trace_run;
mod workloads;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use impls::{Bench, Pools};
use progress::Progress;
use report::Measurement;

const USAGE: &str = "usage: spindle-bench [--quick] [--threads 1,2] [--runs N] [--json FILE] [--svg FILE] [--same-process | --family NAME] [WORKLOAD ...]
       spindle-bench --svg-from RESULTS.json --svg FILE   (the chart of an earlier --json file; runs nothing)
       spindle-bench --trace FILE [--threads T] WORKLOAD  (one untimed run of spindle's benches, as a Chrome trace; needs --features trace)";

/// The implementation families; each runs in a process of its own (see
/// [`isolated::run_isolated`]). A bench belongs to the family its name starts with
/// (`spindle-caller` to `spindle`, `crossbeam-deque` to `crossbeam`).
const FAMILIES: &[&str] = &[
    "serial",
    "split",
    "spindle",
    "rayon",
    "chili",
    "forte",
    "tokio",
    "smol",
    "crossbeam",
    "corosensei",
    "may",
];

/// The family a bench named `imp` belongs to.
fn family_of(imp: &str) -> &str {
    imp.split('-').next().unwrap_or(imp)
}

/// Every workload id, in the order they run, with its one-line
/// description (printed by `--help` and under the tables).
const WORKLOADS: &[(&str, &str)] = &[
    ("fib", "fib(30) with a join at every call, no cutoff: the raw cost of a join"),
    ("tree-sum", "sum of a 2^24-node binary tree of heap nodes, one join per node"),
    ("tree-sum-small", "the same on a 1023-node tree, many sums per run: a pool's start-up and wake-up cost (at 1 thread the caller hands the sum to the one worker)"),
    ("spawn", "10^6 tiny jobs spawned in one scope from one thread"),
    ("skynet", "the skynet tree (10^6 leaves, 10 children per node) with joins"),
    ("skynet-scope", "the skynet tree with a scope per node spawning its 10 children"),
    ("nqueens", "11-queens placements, one fork per branch of the search"),
    ("deque-pushpop", "2^20 push+pop pairs by a deque's owner in batches of 32, no thief"),
    ("deque-steal", "the owner pushes 2^20 items in batches of 32 and pops while a thief steals"),
    ("fiber-switch", "one suspend + resume round trip between two stackful contexts"),
    ("trace-event", "recording one event in a thread's trace ring (rows only in a build with --features trace)"),
    ("fiber-wait", "marl's MultipleForkAndJoin: jobs that wait mid-way for 512 children each"),
    ("async-spawn-many", "tokio's spawn_many_local: 10^4 empty tasks spawned and completed"),
    ("async-yield-many", "tokio's yield_many: 200 tasks yielding 1000 times each"),
    ("async-ping-pong", "tokio's ping_pong: 1000 round trips, each between its own pair of tasks"),
    ("async-ping-pong-seq", "one pair of tasks, 10^6 messages back and forth through bounded channels"),
    ("async-chained-spawn", "tokio's chained_spawn: a chain of 1000 spawns, one at a time"),
    ("async-skynet", "the skynet tree with a task per node (1,111,110 tasks)"),
    ("graph-chain", "a task graph that is a chain of 65,536 tiny nodes: scheduling latency per node"),
    ("graph-tree", "a task graph that is a complete binary tree of 2^16 - 1 nodes, each before its children"),
    ("graph-wavefront", "a 256x256 grid task graph, each cell after its left and top neighbours"),
    ("graph-random", "a random task graph of 2^15 nodes with 0-4 edges each to later nodes"),
    ("graph-frame", "a game frame as a graph (40 physics -> animation chunks, a main-thread render, Low streaming), 300 frames: frame time p50/p99"),
    ("priority-latency", "delay of a High job submitted every ms behind a flood of Low jobs (p50/p99)"),
    ("affinity", "5000 jobs pinned to worker 0 while 4000 others load every worker"),
    ("io-echo", "a TCP echo server and 200 clients x 50 round trips of 1 KiB on loopback, in one process: round trip p50/p99"),
    ("io-echo-slowest", "the same: the slowest client's total time per run"),
    ("timer-storm", "100,000 tasks each sleeping a random 0-50 ms: how late each wakes (p50/p99)"),
    ("blocking-mix", "200 CPU tasks of ~0.5 ms, alone and beside 100 blocking calls sleeping 10 ms each"),
    ("par-sort", "10^7 random u64 sorted unstably (par::sort_unstable, par_sort_unstable, std sort_unstable)"),
    ("par-sort-stable", "the same sorted stably (par::sort, par_sort, std sort)"),
    ("par-sum", "the sum of 10^8 u32 in a Vec"),
    ("par-map", "10^7 f64 mapped through ln(sqrt(x) + 1) into a new Vec"),
    ("par-for-uneven", "a parallel loop of 10^5 iterations whose cost grows with the square of the index (up to 6000 Mandelbrot steps)"),
];

/// The workload ids alone, in order.
fn workload_ids() -> impl Iterator<Item = &'static str> {
    WORKLOADS.iter().map(|(id, _)| *id)
}

/// Where `id` comes in the canonical order.
fn workload_rank(id: &str) -> Option<usize> {
    workload_ids().position(|w| w == id)
}

/// Parsed command line.
struct Options {
    quick: bool,
    threads: Vec<usize>,
    runs: usize,
    json: Option<String>,
    /// Where to write the chart (`chart.rs`).
    svg: Option<String>,
    /// Draw the chart of this `--json` file instead of running anything.
    svg_from: Option<String>,
    /// Write a Chrome trace of one untimed run of spindle's benches of the
    /// one workload given (`trace_run.rs`).
    trace: Option<String>,
    /// Run only this family's benches, here (a child of [`isolated::run_isolated`]).
    family: Option<String>,
    /// Run every family in this one process, interleaved.
    same_process: bool,
    workloads: Vec<&'static str>,
}

/// A command-line error: printed with the usage line, exit code 2.
struct UsageError(String);

fn parse_threads(value: &str) -> Result<Vec<usize>, UsageError> {
    let mut threads = Vec::new();
    for part in value.split(',') {
        match part.trim().parse::<usize>() {
            Ok(n) if n >= 1 => threads.push(n),
            _ => {
                return Err(UsageError(format!(
                    "--threads expects a comma-separated list of integers >= 1, got `{value}`"
                )))
            }
        }
    }
    // forte 1.0.0-alpha.4 deadlocks when its pool shrinks, so thread counts
    // always run in ascending order (its pool only ever grows).
    threads.sort_unstable();
    threads.dedup();
    Ok(threads)
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Option<Options>, UsageError> {
    let mut quick = false;
    let mut threads = None;
    let mut runs = None;
    let mut json = None;
    let mut svg = None;
    let mut svg_from = None;
    let mut trace = None;
    let mut family = None;
    let mut same_process = false;
    let mut workloads: Vec<&'static str> = Vec::new();
    let mut args = args.peekable();

    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline_value) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, UsageError> {
            inline_value
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| UsageError(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--quick" if inline_value.is_none() => quick = true,
            "--threads" => threads = Some(parse_threads(&value("--threads")?)?),
            "--runs" => {
                let v = value("--runs")?;
                match v.parse::<usize>() {
                    Ok(n) if n >= 1 => runs = Some(n),
                    _ => {
                        return Err(UsageError(format!(
                            "--runs expects an integer >= 1, got `{v}`"
                        )))
                    }
                }
            }
            "--json" => json = Some(value("--json")?),
            "--svg" => svg = Some(value("--svg")?),
            "--svg-from" => svg_from = Some(value("--svg-from")?),
            "--trace" => trace = Some(value("--trace")?),
            "--same-process" if inline_value.is_none() => same_process = true,
            "--family" => {
                let v = value("--family")?;
                if !FAMILIES.contains(&v.as_str()) {
                    return Err(UsageError(format!(
                        "unknown family `{v}` (known: {})",
                        FAMILIES.join(", ")
                    )));
                }
                family = Some(v);
            }
            f if f.starts_with('-') => return Err(UsageError(format!("unknown flag `{arg}`"))),
            id => match workload_ids().find(|w| *w == id) {
                Some(w) => {
                    if !workloads.contains(&w) {
                        workloads.push(w);
                    }
                }
                None => {
                    return Err(UsageError(format!(
                        "unknown workload `{id}` (known: {})",
                        workload_ids().collect::<Vec<_>>().join(", ")
                    )))
                }
            },
        }
    }

    if svg_from.is_some() {
        if svg.is_none() {
            return Err(UsageError(
                "--svg-from needs --svg FILE, where to write the chart".into(),
            ));
        }
        if quick
            || threads.is_some()
            || runs.is_some()
            || json.is_some()
            || family.is_some()
            || same_process
            || !workloads.is_empty()
        {
            return Err(UsageError(
                "--svg-from draws a results file and runs nothing: it takes --svg FILE only".into(),
            ));
        }
    }
    if trace.is_some() && (workloads.len() != 1 || svg_from.is_some() || family.is_some()) {
        return Err(UsageError(
            "--trace FILE takes exactly one workload (and optionally --threads)".into(),
        ));
    }
    if workloads.is_empty() {
        workloads = workload_ids().collect();
    } else {
        // Run in the canonical order whatever the order on the command line.
        workloads.sort_by_key(|w| workload_rank(w));
    }
    Ok(Some(Options {
        quick,
        threads: threads.unwrap_or_else(|| vec![1, 2]),
        runs: runs.unwrap_or(if quick { 3 } else { 10 }),
        json,
        svg,
        svg_from,
        trace,
        family,
        same_process,
        workloads,
    }))
}

/// The pause before every run, so that it starts on a quiet machine: the
/// threads of the run before (often another implementation's) have gone
/// back to sleep. Without it, one implementation's idle spinning is timed
/// as the next one's cost: on the 2-core development machine tokio's
/// workers, still searching after `async-spawn-many`, tripled spindle's
/// next run in some processes (0.93 ms alone, 2.4–3.1 ms right after
/// tokio), and the pause costs each run the wake-up of parked threads,
/// which every implementation pays alike.
const SETTLE: Duration = Duration::from_millis(2);

/// Warms up and times `benches` round robin, each run after a [`SETTLE`]
/// pause, returning one measurement each.
fn measure(
    workload: &'static str,
    threads: usize,
    mut benches: Vec<Bench<'_>>,
    options: &Options,
    progress: &Progress,
) -> Vec<Measurement> {
    if let Some(family) = &options.family {
        benches.retain(|b| family_of(b.name) == family);
    }
    if benches.is_empty() {
        return Vec::new();
    }
    let warmup = if options.quick { 1 } else { 2 };
    let runs = options.runs;
    let start = Instant::now();
    progress.line(&format!(
        "[{threads} thread(s)] {workload}: {} impls, {warmup} warm-up + {runs} timed runs each",
        benches.len()
    ));
    for _ in 0..warmup {
        for bench in &mut benches {
            std::thread::sleep(SETTLE);
            (bench.run)(&mut Vec::new());
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); benches.len()];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); benches.len()];
    for _ in 0..runs {
        for ((bench, times), samples) in benches.iter_mut().zip(&mut times).zip(&mut samples) {
            std::thread::sleep(SETTLE);
            times.push((bench.run)(samples));
        }
    }
    let results: Vec<Measurement> = benches
        .iter()
        .zip(times)
        .zip(samples)
        .map(|((bench, times), samples)| {
            if bench.latency {
                Measurement::latency(workload, bench.name, threads, runs, &samples)
            } else {
                Measurement::new(workload, bench.name, threads, &times).per_op(bench.ops)
            }
        })
        .collect();
    let summary: Vec<String> = results
        .iter()
        .map(|m| format!("{} {}", m.imp, report::format_ns(m.median_ns)))
        .collect();
    progress.line(&format!(
        "    done in {:.2} s: {}",
        start.elapsed().as_secs_f64(),
        summary.join(", ")
    ));
    results
}

/// The number of `measure` calls [`run_here`] makes for `options` (the
/// steps of the `--same-process` progress bar).
fn workloads_to_measure(options: &Options) -> usize {
    let fixed = options
        .workloads
        .iter()
        .filter(|w| workloads::is_fixed(w))
        .count();
    fixed + (options.workloads.len() - fixed) * options.threads.len()
}

/// Runs the selected workloads in this process: every family interleaved
/// (`--same-process`), or one (`--family`). Each workload's measurements
/// go to `done` as soon as they are taken (a child prints them then, so
/// that its parent's progress bar moves), one `progress` step each.
fn run_here(
    options: &Options,
    progress: &Progress,
    mut done: impl FnMut(&[Measurement]),
) -> Vec<Measurement> {
    let mut results = Vec::new();
    let mut record = |measured: Vec<Measurement>| {
        done(&measured);
        progress.inc();
        results.extend(measured);
    };

    // The fixed-thread workloads go first, while no pool exists yet: once
    // grown, forte's pool keeps a heartbeat thread ticking every 100 µs for
    // the rest of the process, which would disturb these one- and two-thread
    // runs.
    for &workload in options.workloads.iter().filter(|w| workloads::is_fixed(w)) {
        let (threads, benches) = workloads::fixed_benches(workload);
        progress.set_message(format!("{workload}, {threads} thread(s)"));
        record(measure(workload, threads, benches, options, progress));
    }

    let pool_workloads: Vec<&'static str> = options
        .workloads
        .iter()
        .copied()
        .filter(|w| !workloads::is_fixed(w))
        .collect();
    if !pool_workloads.is_empty() {
        let data = workloads::Data::new();
        for &threads in &options.threads {
            let pools = Pools::new(threads);
            for &workload in &pool_workloads {
                let benches = workloads::pool_benches(workload, &pools, &data);
                progress.set_message(format!("{workload}, {threads} thread(s)"));
                record(measure(workload, threads, benches, options, progress));
            }
        }
    }
    results
}

/// `--svg-from IN --svg OUT`: the chart of a results file.
fn svg_from(input: &str, output: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(input).map_err(|e| format!("cannot read {input}: {e}"))?;
    let results = report::from_json(&text).map_err(|e| format!("{input}: {e}"))?;
    write_svg(output, &results)
}

/// Writes the chart of `results` to `path`.
fn write_svg(path: &str, results: &[Measurement]) -> Result<(), String> {
    std::fs::write(path, chart::svg(results)).map_err(|e| format!("cannot write {path}: {e}"))?;
    eprintln!("wrote {path}");
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            println!("workloads:");
            for (id, what) in WORKLOADS {
                println!("  {id:<20} {what}");
            }
            return ExitCode::SUCCESS;
        }
        Err(UsageError(message)) => {
            eprintln!("spindle-bench: {message}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };

    if let (Some(input), Some(output)) = (&options.svg_from, &options.svg) {
        return match svg_from(input, output) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("spindle-bench: {message}");
                ExitCode::FAILURE
            }
        };
    }

    if let Some(path) = &options.trace {
        let threads = *options.threads.last().expect("at least one thread count");
        return match trace_run::run(path, options.workloads[0], threads) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("spindle-bench: {message}");
                ExitCode::FAILURE
            }
        };
    }

    let start = Instant::now();
    if options.family.is_some() {
        // A child of `run_isolated`: the measurements only, on stdout, each
        // workload's as soon as they are taken (the parent's bar moves).
        run_here(&options, &Progress::hidden(), |measured| {
            for m in measured {
                println!("{}{}", report::LINE_TAG, m.line());
            }
        });
        return ExitCode::SUCCESS;
    }
    let mut results = if options.same_process {
        let progress = Progress::new(workloads_to_measure(&options) as u64);
        let results = run_here(&options, &progress, |_| {});
        progress.finish();
        results
    } else {
        match isolated::run_isolated(&options) {
            Ok(results) => results,
            Err(message) => {
                eprintln!("spindle-bench: {message}");
                return ExitCode::FAILURE;
            }
        }
    };
    // Report in the canonical workload order, and within a workload in
    // the family order (both sorts are stable: a family's rows keep the
    // order its workload module gives them).
    results.sort_by_key(|m| FAMILIES.iter().position(|f| *f == family_of(m.imp)));
    results.sort_by_key(|m| workload_rank(m.workload));
    print!("{}", report::markdown(&results));
    println!("\nWorkloads:\n");
    for (id, what) in WORKLOADS
        .iter()
        .filter(|(id, _)| options.workloads.contains(id))
    {
        println!("- `{id}`: {what}");
    }
    println!(
        "\nThis run: {} timed runs per row{}, {}, {:.0} s of wall time.",
        options.runs,
        if options.quick { " (--quick)" } else { "" },
        if options.same_process {
            "every implementation in one process, interleaved"
        } else {
            "each implementation in a process of its own"
        },
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = &options.json {
        if let Err(e) = std::fs::write(path, report::json(&results)) {
            eprintln!("spindle-bench: cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {path}");
    }
    if let Some(path) = &options.svg {
        if let Err(message) = write_svg(path, &results) {
            eprintln!("spindle-bench: {message}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!("total wall time {:.1} s", start.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests;
