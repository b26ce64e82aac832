//! Sorting with `spindle::par`: random numbers made in parallel, then
//! sorted by the parallel unstable and stable sorts, each checked against
//! and timed beside std's sort of the same kind, and records sorted by a
//! key, checked to keep equal keys in their order.
//!
//! ```sh
//! cargo run --release -p spindle --example sort            # 2,000,000 u64
//! cargo run --release -p spindle --example sort -- 10000000
//! ```

use std::time::{Duration, Instant};

/// A well-mixed u64 from an index (splitmix64), so the input is the same
/// however the threads split the work.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A sort of the numbers in place.
type Sort = fn(&mut Vec<u64>);

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn main() {
    let n: u64 = match std::env::args().nth(1) {
        None => 2_000_000,
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("usage: sort [ELEMENTS]   (got {arg:?})");
            std::process::exit(2)
        }),
    };
    let input: Vec<u64> = spindle::par::map(0..n, mix);
    println!(
        "{n} random u64 on {} threads",
        spindle::current_num_threads()
    );
    println!(
        "{:<14} {:>10} {:>10} {:>8}",
        "sort", "std", "spindle", "ratio"
    );

    let sorts: [(&str, Sort, Sort); 2] = [
        (
            "unstable",
            |v| v.sort_unstable(),
            |v| spindle::par::sort_unstable(v),
        ),
        ("stable", |v| v.sort(), |v| spindle::par::sort(v)),
    ];
    for (name, std_sort, par_sort) in sorts {
        let (mut by_std, mut by_par) = (input.clone(), input.clone());
        let t_std = time(|| std_sort(&mut by_std));
        let t_par = time(|| par_sort(&mut by_par));
        assert!(by_par == by_std, "the {name} sort disagrees with std's");
        println!(
            "{name:<14} {:>8.1}ms {:>8.1}ms {:>7.2}x",
            t_std.as_secs_f64() * 1e3,
            t_par.as_secs_f64() * 1e3,
            t_par.as_secs_f64() / t_std.as_secs_f64(),
        );
    }

    // Records with few distinct keys: a stable sort keeps each key's
    // records in the order they came (their `seq` increasing).
    let mut records: Vec<(u8, u64)> = spindle::par::map(0..n, |i| ((mix(i) % 16) as u8, i));
    let t = time(|| spindle::par::sort_by_key(&mut records, |r| r.0));
    let in_order = spindle::par::all(0..records.len().saturating_sub(1), |i| {
        let (a, b) = (records[i], records[i + 1]);
        a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
    });
    assert!(in_order, "sort_by_key moved equal keys out of order");
    println!(
        "{:<14} {:>10} {:>8.1}ms  (16 keys, order kept)",
        "by key",
        "",
        t.as_secs_f64() * 1e3
    );
}
