//! Feature `trace`: a [`Trace`] written as Chrome trace-event JSON (the
//! "JSON object format": `{"traceEvents": [...]}`), which Perfetto and
//! `chrome://tracing` load.
//!
//! Each slot is a thread track (`tid` = slot index, named by a `thread_name`
//! metadata event). Spans are `B`/`E` pairs, which viewers require to nest
//! per thread. A fiber switch breaks that nesting on the thread (the job
//! that waits is still open when the next job starts), so the writer keeps
//! a stack of open spans per fiber: at a switch it ends the leaving
//! fiber's spans and begins the arriving fiber's again.

use std::collections::HashMap;
use std::fmt::Write;

use super::trace::{Trace, TraceEventKind};

/// The fiber a thread's events start on, before any switch names it.
const FIRST: usize = usize::MAX;

pub(crate) fn write(trace: &Trace) -> String {
    let mut out = String::from("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    let mut first = true;
    let mut push = |out: &mut String, line: String| {
        if !first {
            out.push_str(",\n");
        }
        first = false;
        out.push_str(&line);
    };
    for t in &trace.threads {
        let tid = t.index;
        push(
            &mut out,
            format!(
                "{{\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}}",
                json_str(&t.name)
            ),
        );
        push(
            &mut out,
            format!(
                "{{\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{tid}}}}}"
            ),
        );
        let mut stacks: HashMap<usize, Vec<(&'static str, &'static str)>> = HashMap::new();
        let mut cur = FIRST;
        let mut last_ts = 0u64;
        for e in &t.events {
            let ts = e.time_ns;
            last_ts = last_ts.max(ts);
            let slice = |ph: char, name: &str, cat: &str, note: Option<&str>| {
                let args = note.map_or(String::new(), |n| format!(",\"args\":{{\"{n}\":true}}"));
                format!(
                    "{{\"ph\":\"{ph}\",\"pid\":1,\"tid\":{tid},\"ts\":{},\"name\":{},\"cat\":\"{cat}\"{args}}}",
                    micros(ts),
                    json_str(name)
                )
            };
            let instant = |name: &str, args: String| {
                format!(
                    "{{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":{tid},\"ts\":{},\"name\":\"{name}\",\"cat\":\"sched\"{args}}}",
                    micros(ts)
                )
            };
            match e.kind {
                TraceEventKind::Begin { name, category } => {
                    stacks.entry(cur).or_default().push((name, category));
                    push(&mut out, slice('B', name, category, None));
                }
                TraceEventKind::End => {
                    // An end whose begin was overwritten in the ring: skip.
                    if let Some((name, cat)) = stacks.entry(cur).or_default().pop() {
                        push(&mut out, slice('E', name, cat, None));
                    }
                }
                TraceEventKind::FiberSwitch { from, to } => {
                    if cur == FIRST {
                        // Now we know which fiber the first events ran on.
                        if let Some(s) = stacks.remove(&FIRST) {
                            stacks.insert(from, s);
                        }
                        cur = from;
                    }
                    let leaving = stacks.entry(cur).or_default().clone();
                    for (name, cat) in leaving.iter().rev() {
                        push(&mut out, slice('E', name, cat, Some("suspended")));
                    }
                    push(
                        &mut out,
                        instant(
                            "fiber switch",
                            format!(",\"args\":{{\"from\":{from},\"to\":{to}}}"),
                        ),
                    );
                    cur = to;
                    for (name, cat) in stacks.entry(cur).or_default().iter() {
                        push(&mut out, slice('B', name, cat, Some("resumed")));
                    }
                }
                TraceEventKind::Steal { victim } => push(
                    &mut out,
                    instant("steal", format!(",\"args\":{{\"from\":{victim}}}")),
                ),
                TraceEventKind::InjectorPop => {
                    push(&mut out, instant("global queue pop", String::new()))
                }
                TraceEventKind::Park => push(&mut out, instant("park", String::new())),
                TraceEventKind::Frame => push(&mut out, instant("frame", String::new())),
                TraceEventKind::Unpark => push(&mut out, instant("unpark", String::new())),
                TraceEventKind::Wake { slot } => push(
                    &mut out,
                    instant("wake", format!(",\"args\":{{\"slot\":{slot}}}")),
                ),
            }
        }
        // Close what the running fiber still has open, innermost first.
        let open = stacks.remove(&cur).unwrap_or_default();
        for (name, cat) in open.iter().rev() {
            push(
                &mut out,
                format!(
                    "{{\"ph\":\"E\",\"pid\":1,\"tid\":{tid},\"ts\":{},\"name\":{},\"cat\":\"{cat}\",\"args\":{{\"unfinished\":true}}}}",
                    micros(last_ts),
                    json_str(name)
                ),
            );
        }
    }
    out.push_str("\n]}\n");
    out
}

/// Nanoseconds as the microseconds Chrome's format counts, to the
/// nanosecond.
fn micros(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// `s` as a JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::super::trace::{ThreadTrace, TraceEvent};
    use super::*;

    fn ev(time_ns: u64, kind: TraceEventKind) -> TraceEvent {
        TraceEvent { time_ns, kind }
    }

    #[test]
    fn a_fiber_switch_ends_the_leaving_fibers_spans_and_reopens_them_on_return() {
        let begin = |name| TraceEventKind::Begin {
            name,
            category: "job",
        };
        let trace = Trace {
            threads: vec![ThreadTrace {
                index: 0,
                name: "w\"0".into(),
                lost: 0,
                events: vec![
                    ev(1000, begin("a")),
                    ev(2000, TraceEventKind::FiberSwitch { from: 7, to: 9 }),
                    ev(3000, begin("b")),
                    ev(4000, TraceEventKind::FiberSwitch { from: 9, to: 7 }),
                    ev(5000, TraceEventKind::End),
                    ev(6000, TraceEventKind::FiberSwitch { from: 7, to: 9 }),
                    ev(7000, TraceEventKind::End),
                ],
            }],
        };
        let json = write(&trace);
        let phases: Vec<(&str, &str)> = json
            .lines()
            .filter(|l| l.contains("\"cat\":\"job\""))
            .map(|l| {
                let ph = &l[l.find("\"ph\":\"").unwrap() + 6..][..1];
                let name = &l[l.find("\"name\":\"").unwrap() + 8..][..1];
                (ph, name)
            })
            .collect();
        // a opens; switch: a ends; b opens; switch back: b ends, a
        // reopens; a ends; switch: b reopens; b ends.
        assert_eq!(
            phases,
            [
                ("B", "a"),
                ("E", "a"),
                ("B", "b"),
                ("E", "b"),
                ("B", "a"),
                ("E", "a"),
                ("B", "b"),
                ("E", "b")
            ]
        );
        assert!(json.contains("\"name\":\"w\\\"0\""));
        assert!(json.contains("\"ts\":1.000"));
    }
}
