//! Shared by the stress tests: where they write their figures.

use std::io::Write;

/// Appends `key=value` lines to `$SPINDLE_RELIABILITY_DIR/stress.txt`, if
/// the variable is set; `.ci/run` sums them into its reliability summary.
pub fn report(pairs: &[(&str, usize)]) {
    let Some(dir) = std::env::var_os("SPINDLE_RELIABILITY_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::path::Path::new(&dir).join("stress.txt"))
        .unwrap();
    for (k, v) in pairs {
        writeln!(f, "{k}={v}").unwrap();
    }
}
