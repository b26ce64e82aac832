//! `spindle-bench`: compares spindle with rayon, chili, forte, tokio,
//! crossbeam-deque, corosensei and may on a handful of fork-join, spawn,
//! deque, fiber and async-task workloads (the `async-*` ones compare
//! spindle's async tasks with tokio's).
//!
//! ```text
//! spindle-bench [--quick] [--threads 1,2] [--runs N] [--json FILE] [WORKLOAD ...]
//! ```
//!
//! Each implementation family (spindle, rayon, chili, forte, tokio, ...)
//! runs in a process of its own: this program again with `--family F`
//! (see [`run_isolated`] for why). Within it, for every thread count
//! (ascending) and every selected workload, each of its benches is warmed
//! up and then timed `runs` times, round robin. `--same-process` runs
//! every family in this one process instead, interleaved round robin
//! within each run so that machine noise hits all of them alike. Progress goes to stderr, one
//! Markdown table per thread count goes to stdout, and `--json FILE` writes
//! the raw numbers. A few workloads (`fiber-switch`) report the time of one
//! operation: a run's time divided by its operation count.
//!
//! `threads` counts every thread that runs jobs, a participating caller
//! included (see `impls.rs`). The deque workloads and `fiber-switch` ignore
//! `--threads`: they always use one thread (`deque-pushpop`,
//! `fiber-switch`) or two (`deque-steal`), and run once.

mod impls;
mod report;
mod workloads;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use impls::{Bench, Pools};
use report::Measurement;

const USAGE: &str = "usage: spindle-bench [--quick] [--threads 1,2] [--runs N] [--json FILE] [--same-process | --family NAME] [WORKLOAD ...]";

/// The implementation families; each runs in a process of its own (see
/// [`run_isolated`]). A bench belongs to the family its name starts with
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
    /// Run only this family's benches, here (a child of [`run_isolated`]).
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
    eprintln!(
        "[{threads} thread(s)] {workload}: {} impls, {warmup} warm-up + {runs} timed runs each",
        benches.len()
    );
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
    eprintln!(
        "    done in {:.2} s: {}",
        start.elapsed().as_secs_f64(),
        summary.join(", ")
    );
    results
}

/// Runs the selected workloads in this process: every family interleaved
/// (`--same-process`), or one (`--family`).
fn run_here(options: &Options) -> Vec<Measurement> {
    let mut results = Vec::new();

    // The fixed-thread workloads go first, while no pool exists yet: once
    // grown, forte's pool keeps a heartbeat thread ticking every 100 µs for
    // the rest of the process, which would disturb these one- and two-thread
    // runs.
    for &workload in options.workloads.iter().filter(|w| workloads::is_fixed(w)) {
        let (threads, benches) = workloads::fixed_benches(workload);
        results.extend(measure(workload, threads, benches, options));
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
                results.extend(measure(workload, threads, benches, options));
            }
        }
    }
    results
}

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
fn run_isolated(options: &Options) -> Result<Vec<Measurement>, String> {
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
    let mut results = Vec::new();
    for (threads, workloads) in &jobs {
        for family in FAMILIES {
            let mut cmd = std::process::Command::new(&exe);
            cmd.arg("--family").arg(family);
            cmd.arg("--runs").arg(options.runs.to_string());
            if options.quick {
                cmd.arg("--quick");
            }
            if let Some(t) = threads {
                cmd.arg("--threads").arg(t.to_string());
            }
            cmd.args(workloads);
            cmd.stderr(std::process::Stdio::inherit());
            let out = cmd
                .output()
                .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "the {family} run ({}) failed: {}",
                    workloads.join(" "),
                    out.status
                ));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            for line in text
                .lines()
                .filter_map(|l| l.strip_prefix(report::LINE_TAG))
            {
                results.push(report::Measurement::parse(line).ok_or_else(|| {
                    format!("the {family} run printed a line this program cannot read: {line}")
                })?);
            }
        }
    }
    Ok(results)
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

    let start = Instant::now();
    if options.family.is_some() {
        // A child of `run_isolated`: the measurements only, on stdout.
        for m in run_here(&options) {
            println!("{}{}", report::LINE_TAG, m.line());
        }
        return ExitCode::SUCCESS;
    }
    let mut results = if options.same_process {
        run_here(&options)
    } else {
        match run_isolated(&options) {
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
    eprintln!("total wall time {:.1} s", start.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bench_name_maps_to_a_known_family() {
        for imp in [
            "serial",
            "split",
            "spindle",
            "spindle-caller",
            "spindle-switch",
            "spindle-nofiber",
            "spindle-any",
            "rayon",
            "chili",
            "forte",
            "tokio",
            "smol",
            "crossbeam-deque",
            "corosensei",
            "may",
        ] {
            assert!(FAMILIES.contains(&family_of(imp)), "{imp}");
        }
        assert_eq!(family_of("crossbeam-deque"), "crossbeam");
    }

    #[test]
    fn a_measurement_line_reads_back_as_written() {
        let m = Measurement {
            workload: "fib",
            imp: "spindle-caller",
            threads: 2,
            median_ns: 1234.5,
            min_ns: 1000.25,
            p99_ns: Some(2e6),
            runs: 10,
        };
        let back = Measurement::parse(&m.line()).expect("parses");
        assert_eq!(
            (back.workload, back.imp, back.threads, back.runs),
            ("fib", "spindle-caller", 2, 10)
        );
        assert_eq!(
            (back.median_ns, back.min_ns, back.p99_ns),
            (1234.5, 1000.25, Some(2e6))
        );
        let none = Measurement { p99_ns: None, ..m };
        assert_eq!(Measurement::parse(&none.line()).unwrap().p99_ns, None);
        assert!(Measurement::parse("fib\tspindle\tnot a number\t1\t1\t-\t1").is_none());
        assert!(Measurement::parse("too\tfew").is_none());
    }

    #[test]
    fn family_and_same_process_are_parsed_and_checked() {
        let args = |v: &[&str]| parse_args(v.iter().map(|s| s.to_string()));
        let o = args(&["--family", "rayon", "fib"]).ok().flatten().unwrap();
        assert_eq!(o.family.as_deref(), Some("rayon"));
        assert!(!o.same_process);
        assert!(
            args(&["--same-process"])
                .ok()
                .flatten()
                .unwrap()
                .same_process
        );
        assert!(args(&["--family", "nope"]).is_err());
    }
}
