//! Unit tests of the command line, the `@measurement` lines, the `--json`
//! round trip behind `--svg-from`, and `--svg-from` itself (the chart's own
//! tests are in `chart/tests.rs`).

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

#[test]
fn svg_and_svg_from_are_parsed_and_checked() {
    let args = |v: &[&str]| parse_args(v.iter().map(|s| s.to_string()));
    let o = args(&["--svg", "out.svg", "--json=r.json", "fib"])
        .ok()
        .flatten()
        .unwrap();
    assert_eq!(o.svg.as_deref(), Some("out.svg"));
    assert_eq!(o.json.as_deref(), Some("r.json"));
    assert_eq!(o.svg_from, None);
    assert_eq!(o.workloads, ["fib"]);

    let o = args(&["--svg-from", "r.json", "--svg=c.svg"])
        .ok()
        .flatten()
        .unwrap();
    assert_eq!(o.svg_from.as_deref(), Some("r.json"));
    assert_eq!(o.svg.as_deref(), Some("c.svg"));

    let message = |v: &[&str]| match args(v) {
        Err(UsageError(m)) => m,
        Ok(_) => panic!("{v:?} should be refused"),
    };
    assert!(message(&["--svg"]).contains("--svg needs a value"));
    assert!(message(&["--svg-from", "r.json"]).contains("needs --svg"));
    for extra in [
        &["fib"][..],
        &["--runs", "3"],
        &["--same-process"],
        &["--quick"],
    ] {
        let mut v = vec!["--svg-from", "r.json", "--svg", "c.svg"];
        v.extend_from_slice(extra);
        assert!(message(&v).contains("runs nothing"), "{v:?}");
    }
}

fn sample() -> Vec<Measurement> {
    vec![
        Measurement {
            workload: "fib",
            imp: "spindle",
            threads: 2,
            median_ns: 1234.5,
            // The file keeps tenths of a nanosecond.
            min_ns: 1000.2,
            p99_ns: None,
            runs: 10,
        },
        Measurement {
            workload: "priority-latency",
            imp: "rayon",
            threads: 1,
            median_ns: 5e6,
            min_ns: 4e6,
            p99_ns: Some(9.5e6),
            runs: 3,
        },
    ]
}

#[test]
fn a_json_file_reads_back_as_written() {
    let results = sample();
    let back = report::from_json(&report::json(&results)).expect("reads back");
    assert_eq!(back.len(), results.len());
    for (a, b) in results.iter().zip(&back) {
        assert_eq!(
            (a.workload, a.imp, a.threads, a.runs),
            (b.workload, b.imp, b.threads, b.runs)
        );
        assert_eq!(
            (a.median_ns, a.min_ns, a.p99_ns),
            (b.median_ns, b.min_ns, b.p99_ns)
        );
    }
    // The chart of the file is the chart of the run.
    assert_eq!(chart::svg(&back), chart::svg(&results));
}

#[test]
fn a_bad_json_file_is_refused_with_a_reason() {
    let error = |text: &str| report::from_json(text).err().expect("refused");
    assert!(error("").contains("not valid JSON"));
    assert!(error("{\"schema\":1,\"results\":[").contains("not valid JSON"));
    assert!(error("[1, 2]").contains("schema"));
    assert!(error("{\"schema\":2,\"results\":[]}").contains("schema 2"));
    assert!(error("{\"schema\":1}").contains("results"));
    let no_median = r#"{"schema":1,"results":[{"workload":"fib","impl":"rayon","threads":1,"min_ns":1.0,"runs":3}]}"#;
    assert!(error(no_median).contains("result 0: no \"median_ns\""));
    let bad_threads = r#"{"schema":1,"results":[{"workload":"fib","impl":"rayon","threads":-1,"median_ns":1,"min_ns":1.0,"runs":3}]}"#;
    assert!(error(bad_threads).contains("\"threads\" is not a count"));
    assert_eq!(
        report::from_json("{\"schema\":1,\"results\":[]}")
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn svg_from_writes_the_chart_or_says_why_not() {
    let dir = std::env::temp_dir().join(format!("spindle-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("results.json");
    let output = dir.join("chart.svg");
    let (input, output) = (input.to_str().unwrap(), output.to_str().unwrap());
    std::fs::write(input, report::json(&sample())).unwrap();
    svg_from(input, output).expect("draws");
    assert!(std::fs::read_to_string(output).unwrap().starts_with("<svg"));

    let missing = dir.join("missing.json");
    let e = svg_from(missing.to_str().unwrap(), output).unwrap_err();
    assert!(e.starts_with("cannot read"), "{e}");
    std::fs::write(input, "{not json").unwrap();
    let e = svg_from(input, output).unwrap_err();
    assert!(e.contains("not valid JSON"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn trace_takes_one_pool_workload_and_says_why_not() {
    let args = |v: &[&str]| parse_args(v.iter().map(|s| s.to_string()));
    let o = args(&["--trace", "t.json", "--threads", "2", "skynet-scope"])
        .ok()
        .flatten()
        .unwrap();
    assert_eq!(o.trace.as_deref(), Some("t.json"));
    assert_eq!(o.workloads, ["skynet-scope"]);
    for bad in [
        &["--trace", "t.json"][..],
        &["--trace", "t.json", "fib", "spawn"],
        &["--trace", "t.json", "--family", "rayon", "fib"],
    ] {
        match args(bad) {
            Err(UsageError(m)) => assert!(m.contains("exactly one workload"), "{bad:?}: {m}"),
            Ok(_) => panic!("{bad:?} should be refused"),
        }
    }
    // A fixed workload has no pool to trace.
    let err = trace_run::run("/nonexistent/t.json", "fiber-switch", 2).unwrap_err();
    assert!(err.contains("does not use one"), "{err}");
}

#[cfg(not(feature = "trace"))]
#[test]
fn trace_without_the_feature_says_how_to_get_it() {
    let err = trace_run::run("/nonexistent/t.json", "fib", 2).unwrap_err();
    assert!(err.contains("--features trace"), "{err}");
}

#[cfg(feature = "trace")]
#[test]
fn trace_writes_a_chrome_trace_of_one_run() {
    let path =
        std::env::temp_dir().join(format!("spindle-bench-trace-{}.json", std::process::id()));
    let p = path.to_str().unwrap();
    trace_run::run(p, "skynet-scope", 2).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    assert!(events.iter().any(|e| e["ph"] == "B" && e["cat"] == "job"));
    std::fs::remove_file(path).unwrap();
}
