//! `Graph::to_dot`: the graph in Graphviz's language.

use core::fmt::Write as _;

use super::exec::GraphInner;
use crate::options::Priority;

/// Graphviz text for `g`: nodes `n0, n1, ...` labelled with their names.
pub(super) fn to_dot(g: &GraphInner) -> String {
    let mut out = String::from("digraph spindle {\n    node [shape=box];\n");
    for (i, n) in g.info.iter().enumerate() {
        let mut label = escape(&n.name);
        if n.is_main_thread() {
            label.push_str(" [main]");
        }
        match n.priority() {
            Priority::Normal => {}
            p => {
                let _ = write!(label, " [{p:?}]");
            }
        }
        let _ = writeln!(out, "    n{i} [label=\"{label}\"];");
    }
    for i in 0..g.len() {
        for s in g.successors(i) {
            let _ = writeln!(out, "    n{i} -> n{s};");
        }
    }
    out.push_str("}\n");
    out
}

/// A name inside a double-quoted dot string.
fn escape(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}
