//! Tests of the chart: a well-formed standalone document (checked by a
//! tiny tag matcher), escaped text, bar widths proportional to the ratios,
//! bars cut at the cap, and workloads without a peer left out.

use super::*;

fn m(workload: &'static str, imp: &'static str, threads: usize, median_ns: f64) -> Measurement {
    Measurement {
        workload,
        imp,
        threads,
        median_ns,
        min_ns: median_ns,
        p99_ns: None,
        runs: 3,
    }
}

/// Checks that the tags of `xml` nest and close, and that every `&`
/// starts an entity; returns the first problem found.
fn check_xml(xml: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            if !["&amp;", "&lt;", "&gt;", "&quot;"]
                .iter()
                .any(|e| entity.starts_with(e))
            {
                return Err(format!("bare & in {text:?}"));
            }
        }
        let end = rest[start..].find('>').ok_or("a tag does not close")? + start;
        let tag = &rest[start + 1..end];
        if tag.contains('<') {
            return Err(format!("< inside a tag: {tag:?}"));
        }
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(o) if o == name.trim() => {}
                o => return Err(format!("</{name}> closes {o:?}")),
            }
        } else if !tag.ends_with('/') {
            open.push(tag.split_whitespace().next().unwrap_or(""));
        }
        rest = &rest[end + 1..];
    }
    match open.is_empty() {
        true => Ok(()),
        false => Err(format!("never closed: {open:?}")),
    }
}

/// The `width` of every `<rect class="bar ...">`, in document order.
fn bar_widths(svg: &str) -> Vec<f64> {
    svg.lines()
        .filter(|l| l.starts_with(r#"<rect class="bar"#))
        .map(|l| {
            let w = l.split(" width=\"").nth(1).expect("a width");
            w[..w.find('"').unwrap()].parse().expect("a number")
        })
        .collect()
}

#[test]
fn the_checker_catches_broken_xml() {
    assert!(check_xml("<a><b/></a>").is_ok());
    assert!(check_xml("<a><b></a>").is_err());
    assert!(check_xml("<a>x & y</a>").is_err());
    assert!(check_xml("<a>").is_err());
}

#[test]
fn the_svg_is_a_standalone_document() {
    let results = [
        m("fib", "spindle", 1, 90.0),
        m("fib", "spindle-caller", 1, 80.0),
        m("fib", "rayon", 1, 100.0),
        m("fib", "chili", 1, 120.0),
        m("fib", "serial", 1, 30.0),
        m("fib", "spindle", 2, 50.0),
        m("fib", "rayon", 2, 60.0),
        m("tree-sum", "spindle", 2, 10.0),
        m("tree-sum", "forte", 2, 12.0),
        m("tree-sum", "split", 2, 9.0),
    ];
    let svg = svg(&results);
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
    assert!(svg.contains("viewBox=\"0 0 "));
    assert!(svg.contains(TITLE));
    check_xml(&svg).unwrap();
    for label in [
        ">1 thread<",
        ">2 threads<",
        ">fib<",
        ">tree-sum<",
        ">spindle-caller<",
        ">split<",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    // chili is neither spindle, the best peer nor a reference.
    assert!(!svg.contains("chili"));
    // One 1.0 line per panel.
    assert_eq!(svg.matches(r#"<line class="one""#).count(), 2);
    // Empty results still make a valid document.
    check_xml(&super::svg(&[])).unwrap();
}

#[test]
fn text_is_escaped() {
    assert_eq!(escape(r#"a<b>&"c""#), "a&lt;b&gt;&amp;&quot;c&quot;");
    let svg = svg(&[m("a<b&c>", "spindle", 1, 1.0), m("a<b&c>", "x&y", 1, 2.0)]);
    assert!(svg.contains("a&lt;b&amp;c&gt;"));
    assert!(svg.contains("x&amp;y"));
    assert!(!svg.contains("a<b"));
    check_xml(&svg).unwrap();
}

#[test]
fn bar_widths_scale_with_the_ratio() {
    let results = [
        m("w", "spindle", 1, 50.0),
        m("w", "rayon", 1, 100.0),
        m("w", "serial", 1, 200.0),
    ];
    let svg = svg(&results);
    // Rows: spindle (0.5), best peer (1.0), serial (2.0).
    let w = bar_widths(&svg);
    assert_eq!(w.len(), 3, "{svg}");
    assert!((w[1] - 2.0 * w[0]).abs() < 0.05, "{w:?}");
    assert!((w[2] - 2.0 * w[1]).abs() < 0.05, "{w:?}");
    // The axis ends at 2.0 here: the serial bar fills the plot.
    assert!((w[2] - PLOT_W).abs() < 0.05, "{w:?}");
    assert!(svg.contains(r#"<rect class="bar spindle""#));
    assert!(svg.contains(r#"<rect class="bar peer""#));
    assert!(svg.contains(r#"<rect class="bar reference""#));
}

#[test]
fn bars_past_the_cap_are_cut_and_marked() {
    let results = [m("w", "spindle", 1, 1000.0), m("w", "rayon", 1, 100.0)];
    let svg = svg(&results);
    let w = bar_widths(&svg);
    assert!((w[0] - PLOT_W).abs() < 0.05, "{w:?}");
    assert!((w[1] - PLOT_W / CAP).abs() < 0.05, "{w:?}");
    assert!(svg.contains("» 10.00"));
}

#[test]
fn workloads_without_a_peer_are_left_out() {
    let svg = svg(&[
        m("lonely", "spindle", 1, 1.0),
        m("lonely", "serial", 1, 2.0),
    ]);
    assert!(!svg.contains("lonely"));
    assert!(svg.contains("No workload here has a peer"));
    check_xml(&svg).unwrap();
}
