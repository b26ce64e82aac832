//! Result aggregation and output: one Markdown table per thread count on
//! stdout, and the `--json` file (written by hand; the format is tiny),
//! read back by [`from_json`] for `--svg-from`. The `×best peer` reference
//! ([`best_peer`], [`ratio`]) is shared with the chart (`chart.rs`).
//!
//! Ratios in the tables are *time* ratios, `this impl's median / reference
//! median`, so below 1.00 means faster than the reference:
//! - `×serial`: reference is the `serial` row of the same workload;
//! - `×best peer`: reference is the fastest peer (neither `serial` nor
//!   spindle in any setting, `spindle-nofiber` included, nor the `split`
//!   ceiling) of the same workload and thread count.
//!
//! `split` is not a peer but a ceiling, the work cut into equal parts run
//! by plain threads with no scheduler at all: the tree's parts summed
//! (tree-sum, 2+ threads), or the echo's socket pairs served by one
//! hand-written event loop per thread (io-echo).

use std::fmt::Write as _;
use std::time::Duration;

/// What starts a measurement line of a `--family` child on its stdout.
pub const LINE_TAG: &str = "@measurement\t";

/// Timing summary of one (workload, impl, threads) triple.
pub struct Measurement {
    pub workload: &'static str,
    pub imp: &'static str,
    pub threads: usize,
    pub median_ns: f64,
    pub min_ns: f64,
    /// Latency workloads only: the 99th percentile of the samples.
    pub p99_ns: Option<f64>,
    pub runs: usize,
}

impl Measurement {
    /// Summarises `times` (at least one).
    pub fn new(
        workload: &'static str,
        imp: &'static str,
        threads: usize,
        times: &[Duration],
    ) -> Self {
        let mut ns: Vec<f64> = times.iter().map(|t| t.as_nanos() as f64).collect();
        ns.sort_by(f64::total_cmp);
        let mid = ns.len() / 2;
        let median_ns = if ns.len() % 2 == 1 {
            ns[mid]
        } else {
            (ns[mid - 1] + ns[mid]) / 2.0
        };
        Measurement {
            workload,
            imp,
            threads,
            median_ns,
            min_ns: ns[0],
            p99_ns: None,
            runs: ns.len(),
        }
    }

    /// Summarises the delay `samples` of a latency bench's `runs` runs:
    /// `median_ns` is their p50, `p99_ns` their p99 (nearest rank).
    pub fn latency(
        workload: &'static str,
        imp: &'static str,
        threads: usize,
        runs: usize,
        samples: &[Duration],
    ) -> Self {
        let mut m = Measurement::new(workload, imp, threads, samples);
        let mut ns: Vec<f64> = samples.iter().map(|t| t.as_nanos() as f64).collect();
        ns.sort_by(f64::total_cmp);
        let rank = ((ns.len() as f64) * 0.99).ceil() as usize;
        m.p99_ns = Some(ns[rank.clamp(1, ns.len()) - 1]);
        m.runs = runs;
        m
    }

    /// The same timings per operation, for runs of `ops` operations each.
    /// One line for a parent process to read back (`parse`): the fields,
    /// tab-separated, p99 as `-` when absent.
    pub fn line(&self) -> String {
        let p99 = self.p99_ns.map_or("-".to_string(), |p| format!("{p}"));
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.workload, self.imp, self.threads, self.median_ns, self.min_ns, p99, self.runs
        )
    }

    /// Reads what `line` wrote; `None` if it is not such a line.
    pub fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split('\t').collect();
        let [workload, imp, threads, median, min, p99, runs] = f[..] else {
            return None;
        };
        // A few dozen short strings per run of the program.
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        Some(Measurement {
            workload: leak(workload),
            imp: leak(imp),
            threads: threads.parse().ok()?,
            median_ns: median.parse().ok()?,
            min_ns: min.parse().ok()?,
            p99_ns: match p99 {
                "-" => None,
                p => Some(p.parse().ok()?),
            },
            runs: runs.parse().ok()?,
        })
    }

    pub fn per_op(self, ops: u32) -> Self {
        let ops = f64::from(ops);
        Measurement {
            median_ns: self.median_ns / ops,
            min_ns: self.min_ns / ops,
            ..self
        }
    }
}

/// Formats nanoseconds with three significant digits and a fitting unit.
pub fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

/// `value / reference`, the time ratio of the tables and the chart; `None`
/// without a positive reference.
pub fn ratio(value: f64, reference: Option<f64>) -> Option<f64> {
    match reference {
        Some(r) if r > 0.0 => Some(value / r),
        _ => None,
    }
}

/// A table cell for [`ratio`]: two decimals, or a dash.
fn ratio_cell(ratio: Option<f64>) -> String {
    ratio.map_or("–".to_string(), |r| format!("{r:.2}"))
}

/// Whether `imp` may be the `×best peer` reference: neither `serial`, nor
/// the `split` ceiling, nor spindle in any setting.
pub fn is_peer(imp: &str) -> bool {
    !matches!(imp, "serial" | "split") && !imp.starts_with("spindle")
}

/// The fastest peer (smallest median, see [`is_peer`]) among `rows`, the
/// measurements of one workload at one thread count.
pub fn best_peer<'m>(rows: impl IntoIterator<Item = &'m Measurement>) -> Option<&'m Measurement> {
    rows.into_iter()
        .filter(|m| is_peer(m.imp))
        .min_by(|a, b| a.median_ns.total_cmp(&b.median_ns))
}

/// One Markdown table per thread count, ascending.
pub fn markdown(results: &[Measurement]) -> String {
    let mut threads: Vec<usize> = results.iter().map(|m| m.threads).collect();
    threads.sort_unstable();
    threads.dedup();

    let mut out = String::new();
    for t in threads {
        let rows: Vec<&Measurement> = results.iter().filter(|m| m.threads == t).collect();
        let _ = writeln!(out, "\n## {t} thread{}\n", if t == 1 { "" } else { "s" });
        out.push_str("| workload | impl | median | min | p99 | ×serial | ×best peer |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---:|\n");
        for m in &rows {
            let same: Vec<&&Measurement> =
                rows.iter().filter(|o| o.workload == m.workload).collect();
            let serial = same.iter().find(|o| o.imp == "serial").map(|o| o.median_ns);
            let peer = best_peer(same.iter().copied().copied()).map(|o| o.median_ns);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                m.workload,
                m.imp,
                format_ns(m.median_ns),
                format_ns(m.min_ns),
                m.p99_ns.map_or("–".to_string(), format_ns),
                ratio_cell(ratio(m.median_ns, serial)),
                ratio_cell(ratio(m.median_ns, peer)),
            );
        }
    }
    out.push_str(
        "\nRatios are time ratios (median / reference median): below 1.00 is faster. \
         Best peer = fastest impl other than serial and spindle (any setting). \
         Latency rows (`priority-latency`): median and min are the p50 and \
         minimum delay, p99 the 99th percentile. \
         `split` is a ceiling, not a peer: the work cut in equal parts \
         run by plain threads with no scheduler.\n",
    );
    out
}

/// Escapes a string for a JSON string literal (ids are plain ASCII, but be safe).
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{"schema":1,"results":[{...}, ...]}`, one object per measurement.
pub fn json(results: &[Measurement]) -> String {
    let objects: Vec<String> = results
        .iter()
        .map(|m| {
            let p99 = m
                .p99_ns
                .map_or(String::new(), |p| format!(",\"p99_ns\":{p:.1}"));
            format!(
                "{{\"workload\":{},\"impl\":{},\"threads\":{},\"median_ns\":{:.1},\"min_ns\":{:.1}{},\"runs\":{}}}",
                json_str(m.workload),
                json_str(m.imp),
                m.threads,
                m.median_ns,
                m.min_ns,
                p99,
                m.runs
            )
        })
        .collect();
    format!("{{\"schema\":1,\"results\":[{}]}}\n", objects.join(","))
}

/// Reads back a file that [`json`] wrote (schema 1): the measurements in
/// the file's order, or a message saying what is wrong with it.
pub fn from_json(text: &str) -> Result<Vec<Measurement>, String> {
    use serde_json::Value;
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    match root.get("schema").and_then(Value::as_u64) {
        Some(1) => {}
        Some(n) => return Err(format!("schema {n}; this program reads schema 1")),
        None => return Err("no \"schema\" number: not a spindle-bench --json file".into()),
    }
    let Some(items) = root.get("results").and_then(Value::as_array) else {
        return Err("no \"results\" array: not a spindle-bench --json file".into());
    };
    // A few dozen short strings per run of the program.
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = |name: &str| {
                item.get(name)
                    .ok_or_else(|| format!("result {i}: no \"{name}\""))
            };
            let text = |name: &str| {
                field(name)?
                    .as_str()
                    .ok_or_else(|| format!("result {i}: \"{name}\" is not a string"))
            };
            let number = |name: &str| {
                field(name)?
                    .as_f64()
                    .ok_or_else(|| format!("result {i}: \"{name}\" is not a number"))
            };
            let count = |name: &str| {
                field(name)?
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| format!("result {i}: \"{name}\" is not a count"))
            };
            Ok(Measurement {
                workload: leak(text("workload")?),
                imp: leak(text("impl")?),
                threads: count("threads")?,
                median_ns: number("median_ns")?,
                min_ns: number("min_ns")?,
                p99_ns: match item.get("p99_ns") {
                    None => None,
                    Some(_) => Some(number("p99_ns")?),
                },
                runs: count("runs")?,
            })
        })
        .collect()
}
