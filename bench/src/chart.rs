//! The `--svg` chart: a small hand-written SVG of the `×best peer` ratios
//! (see `report.rs`: an implementation's median over the median of the
//! fastest peer of the same workload and thread count), one panel per
//! thread count, side by side, sharing the row labels.
//!
//! What it draws, to stay readable for ~35 workloads: for each workload,
//! spindle in every setting it ran in (`spindle`, `spindle-caller`, ...),
//! one bar for the best peer (1.00 by definition, named at its bar, as it
//! may differ between panels), and the `serial` and `split` references
//! where the workload has them. The other peers are left out: the Markdown
//! tables have every row. Workloads with no peer at any thread count have
//! nothing to divide by and are left out too.
//!
//! Bars start at 0 on a linear axis, so a bar's length is its ratio; a
//! vertical line marks 1.0 (as fast as the best peer): left of it is
//! faster. The axis ends at the largest ratio drawn, rounded up to a half,
//! and at most [`CAP`]; longer bars are cut there and marked `»` before
//! their value. Hovering a bar shows its times (an SVG `<title>`).

use std::fmt::Write as _;

use crate::report::{self, Measurement};

/// Where the axis ends at most; ratios past it are cut.
pub const CAP: f64 = 4.0;

/// The axis step between ticks.
const TICK: f64 = 0.5;

const MARGIN: f64 = 14.0;
/// Width of a panel's plot, from 0 to the axis end.
const PLOT_W: f64 = 300.0;
/// Room right of a plot for the labels after its bars.
const PLOT_PAD: f64 = 96.0;
const PANEL_GAP: f64 = 24.0;
const ROW_H: f64 = 15.0;
const BAR_H: f64 = 10.0;
const GROUP_GAP: f64 = 5.0;
/// Estimated width of one character of 11 px text (there is no font
/// metric here: generous, so that labels do not overlap).
const CHAR_W: f64 = 6.6;
/// The same for bold text.
const BOLD_CHAR_W: f64 = 7.2;
/// The same for the 10 px labels at the bars' ends.
const LABEL_CHAR_W: f64 = 5.8;

const SPINDLE: &str = "#e6550d";
const PEER: &str = "#6b6b6b";
const REFERENCE: &str = "#9ecae1";
/// The background of every other workload's rows.
const BAND: &str = "#f3f3f3";
const TITLE: &str = "time / best peer's time, lower is better";

/// One row of a workload's group.
#[derive(Clone, Copy, PartialEq)]
enum Row<'m> {
    /// An implementation drawn under its own name (spindle, serial, split).
    Imp(&'m str),
    /// The workload's fastest peer, whichever it is in each panel.
    BestPeer,
}

impl Row<'_> {
    fn label(&self) -> &str {
        match self {
            Row::Imp(imp) => imp,
            Row::BestPeer => "best peer",
        }
    }
}

/// A drawn bar: the measurement, its best peer, and its ratio.
struct Cell<'m> {
    m: &'m Measurement,
    peer: &'m Measurement,
    ratio: f64,
}

/// One workload's rows and, per panel, its measurements.
struct Group<'m> {
    workload: &'m str,
    rows: Vec<Row<'m>>,
    /// Per panel: the workload's measurements at that thread count.
    panels: Vec<Vec<&'m Measurement>>,
}

impl<'m> Group<'m> {
    fn cell(&self, panel: usize, row: Row<'m>) -> Option<Cell<'m>> {
        let rows = &self.panels[panel];
        let peer = report::best_peer(rows.iter().copied())?;
        let m = match row {
            Row::BestPeer => peer,
            Row::Imp(imp) => *rows.iter().find(|m| m.imp == imp)?,
        };
        let ratio = report::ratio(m.median_ns, Some(peer.median_ns))?;
        Some(Cell { m, peer, ratio })
    }
}

/// The thread counts (ascending) and the workload groups (in the order of
/// their first measurement) of `results`.
fn groups(results: &[Measurement]) -> (Vec<usize>, Vec<Group<'_>>) {
    let mut threads: Vec<usize> = results.iter().map(|m| m.threads).collect();
    threads.sort_unstable();
    threads.dedup();
    let mut workloads: Vec<&str> = Vec::new();
    for m in results {
        if !workloads.contains(&m.workload) {
            workloads.push(m.workload);
        }
    }
    let groups = workloads
        .into_iter()
        .map(|workload| {
            let same: Vec<&Measurement> =
                results.iter().filter(|m| m.workload == workload).collect();
            let mut rows: Vec<Row> = Vec::new();
            for m in same.iter().filter(|m| m.imp.starts_with("spindle")) {
                if !rows.contains(&Row::Imp(m.imp)) {
                    rows.push(Row::Imp(m.imp));
                }
            }
            rows.push(Row::BestPeer);
            for reference in ["serial", "split"] {
                if same.iter().any(|m| m.imp == reference) {
                    rows.push(Row::Imp(reference));
                }
            }
            let panels = threads
                .iter()
                .map(|&t| same.iter().copied().filter(|m| m.threads == t).collect())
                .collect();
            Group {
                workload,
                rows,
                panels,
            }
        })
        .filter(|g| (0..threads.len()).any(|p| g.cell(p, Row::BestPeer).is_some()))
        .collect();
    (threads, groups)
}

/// Escapes text for SVG content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn threads_label(t: usize) -> String {
    format!("{t} thread{}", if t == 1 { "" } else { "s" })
}

/// A tick's label: `0`, `0.5`, `1`, ...
fn tick_label(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Appends `<text>` at (x, y) with extra attributes `attrs`.
fn text(out: &mut String, x: f64, y: f64, attrs: &str, content: &str) {
    let _ = writeln!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}"{attrs}>{}</text>"#,
        escape(content)
    );
}

/// The chart of `results` as a standalone SVG document (see the module
/// documentation for what it shows).
pub fn svg(results: &[Measurement]) -> String {
    let (threads, groups) = groups(results);

    // The axis: up to the largest ratio drawn, rounded up to a tick, with
    // room past 1.0, at most CAP.
    let largest = groups
        .iter()
        .flat_map(|g| {
            (0..threads.len()).flat_map(move |p| g.rows.iter().filter_map(move |&r| g.cell(p, r)))
        })
        .map(|c| c.ratio)
        .fold(0.0f64, f64::max);
    let axis_end = ((largest / TICK).ceil() * TICK).clamp(1.5, CAP);
    let scale = |ratio: f64| ratio.min(axis_end) / axis_end * PLOT_W;

    // Columns: workload labels, implementation labels, then the panels.
    let workload_w = groups
        .iter()
        .map(|g| g.workload.chars().count())
        .max()
        .unwrap_or(0) as f64
        * BOLD_CHAR_W
        + 12.0;
    let imp_w = groups
        .iter()
        .flat_map(|g| g.rows.iter().map(|r| r.label().chars().count()))
        .max()
        .unwrap_or(0) as f64
        * CHAR_W
        + 12.0;
    let panel_x =
        |p: usize| MARGIN + workload_w + imp_w + p as f64 * (PLOT_W + PLOT_PAD + PANEL_GAP);
    let width = (panel_x(threads.len().max(1)) - PANEL_GAP + MARGIN).max(680.0);

    let mut body = String::new();

    // Title, subtitle and legend.
    text(
        &mut body,
        MARGIN,
        26.0,
        r#" font-size="16" font-weight="bold""#,
        &format!("spindle-bench: {TITLE}"),
    );
    text(
        &mut body,
        MARGIN,
        44.0,
        r##" fill="#444""##,
        "Each bar: a median divided by the median of the fastest peer (not serial, split or spindle)",
    );
    text(
        &mut body,
        MARGIN,
        58.0,
        r##" fill="#444""##,
        "of the same workload and thread count. Left of the 1.0 line is faster than every peer.",
    );
    let legend: [(&str, &str); 3] = [
        (SPINDLE, "spindle (every setting)"),
        (PEER, "best peer (named at its bar)"),
        (REFERENCE, "serial / split (references)"),
    ];
    let (mut lx, mut ly) = (MARGIN, 76.0);
    for (colour, label) in legend {
        let w = 18.0 + label.chars().count() as f64 * CHAR_W + 18.0;
        if lx + w > width - MARGIN {
            lx = MARGIN;
            ly += 16.0;
        }
        let _ = writeln!(
            body,
            r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="{BAR_H}" fill="{colour}"/>"#,
            ly - BAR_H + 1.0
        );
        text(&mut body, lx + 16.0, ly, "", label);
        lx += w;
    }

    let top = ly + 46.0;
    let mut y = top;
    // Row positions first: the zebra bands and the grid go under the bars.
    let mut group_tops = Vec::with_capacity(groups.len());
    for g in &groups {
        group_tops.push(y);
        y += g.rows.len() as f64 * ROW_H + GROUP_GAP;
    }
    let bottom = y - GROUP_GAP;

    for (i, (g, &gy)) in groups.iter().zip(&group_tops).enumerate() {
        if i % 2 == 1 {
            let _ = writeln!(
                body,
                r##"<rect x="{MARGIN}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{BAND}"/>"##,
                gy - GROUP_GAP / 2.0,
                width - 2.0 * MARGIN,
                g.rows.len() as f64 * ROW_H + GROUP_GAP
            );
        }
    }

    // Panel titles, ticks and grid lines.
    for (p, &t) in threads.iter().enumerate() {
        let x0 = panel_x(p);
        text(
            &mut body,
            x0 + PLOT_W / 2.0,
            top - 26.0,
            r#" font-size="13" font-weight="bold" text-anchor="middle""#,
            &threads_label(t),
        );
        let ticks = (axis_end / TICK).round() as usize;
        for k in 0..=ticks {
            let value = k as f64 * TICK;
            let x = x0 + scale(value);
            let _ = writeln!(
                body,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#d6d6d6"/>"##,
                top - 6.0,
                bottom + 4.0
            );
            for ty in [top - 9.0, bottom + 16.0] {
                text(
                    &mut body,
                    x,
                    ty,
                    r##" font-size="10" fill="#555" text-anchor="middle""##,
                    &tick_label(value),
                );
            }
        }
        text(
            &mut body,
            x0 + PLOT_W / 2.0,
            bottom + 31.0,
            r##" font-size="10" fill="#555" text-anchor="middle""##,
            &format!("× best peer's median ({})", threads_label(t)),
        );
    }

    // Labels and bars; the labels at the bars' ends go after the 1.0 lines.
    let mut labels = String::new();
    for (i, (g, &gy)) in groups.iter().zip(&group_tops).enumerate() {
        // The colour of the group's band, under the labels' patches.
        let band = if i % 2 == 1 { BAND } else { "white" };
        text(
            &mut body,
            MARGIN + 4.0,
            gy + ROW_H - 4.0,
            r#" font-weight="bold""#,
            g.workload,
        );
        for (r, &row) in g.rows.iter().enumerate() {
            let ry = gy + r as f64 * ROW_H;
            let baseline = ry + ROW_H - 4.0;
            let style = if row == Row::BestPeer {
                r##" font-style="italic" fill="#444""##
            } else {
                ""
            };
            text(&mut body, MARGIN + workload_w, baseline, style, row.label());
            for (p, &t) in threads.iter().enumerate() {
                let x0 = panel_x(p);
                let Some(cell) = g.cell(p, row) else {
                    text(&mut body, x0 + 3.0, baseline, r##" fill="#aaa""##, "–");
                    continue;
                };
                let (colour, kind) = match row {
                    Row::BestPeer => (PEER, "peer"),
                    Row::Imp(imp) if imp.starts_with("spindle") => (SPINDLE, "spindle"),
                    Row::Imp(_) => (REFERENCE, "reference"),
                };
                let w = scale(cell.ratio);
                let tip = format!(
                    "{}, {}, {}: median {} = {:.2} × {} ({})",
                    g.workload,
                    cell.m.imp,
                    threads_label(t),
                    report::format_ns(cell.m.median_ns),
                    cell.ratio,
                    cell.peer.imp,
                    report::format_ns(cell.peer.median_ns),
                );
                let _ = writeln!(
                    body,
                    r#"<rect class="bar {kind}" x="{x0:.1}" y="{:.1}" width="{w:.2}" height="{BAR_H}" fill="{colour}"><title>{}</title></rect>"#,
                    ry + (ROW_H - BAR_H) / 2.0,
                    escape(&tip)
                );
                let label = match row {
                    Row::BestPeer => cell.peer.imp.to_string(),
                    _ if cell.ratio > axis_end => format!("» {:.2}", cell.ratio),
                    _ => format!("{:.2}", cell.ratio),
                };
                // On a patch of the band's colour: the 1.0 line passes
                // behind the value.
                let _ = writeln!(
                    labels,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="11" fill="{band}"/>"#,
                    x0 + w + 2.0,
                    baseline - 9.5,
                    label.chars().count() as f64 * LABEL_CHAR_W + 4.0
                );
                text(
                    &mut labels,
                    x0 + w + 4.0,
                    baseline - 0.5,
                    r##" font-size="10" fill="#333""##,
                    &label,
                );
            }
        }
    }

    // The 1.0 lines, over the bars and under their labels.
    for p in 0..threads.len() {
        let x = panel_x(p) + scale(1.0);
        let _ = writeln!(
            body,
            r##"<line class="one" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#111" stroke-width="1.5"/>"##,
            top - 6.0,
            bottom + 4.0
        );
    }

    body.push_str(&labels);

    let mut note_y = bottom + 52.0;
    if groups.is_empty() {
        text(
            &mut body,
            MARGIN,
            top,
            "",
            "No workload here has a peer to compare with.",
        );
        note_y = top + 24.0;
    }
    for line in [
        "Drawn: spindle in every setting, the best peer and the serial / split references;".to_string(),
        "the Markdown tables have every implementation. Serial runs one thread; split is the work cut".to_string(),
        format!("in equal parts on plain threads, no scheduler. Bars past {axis_end}× are cut (»). – : not run."),
    ] {
        text(&mut body, MARGIN, note_y, r##" font-size="10" fill="#555""##, &line);
        note_y += 13.0;
    }
    let height = note_y + MARGIN;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, "<title>spindle-bench: {}</title>", escape(TITLE));
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests;
