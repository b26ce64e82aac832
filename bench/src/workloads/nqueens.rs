//! `nqueens`: counts the placements of 11 queens on an 11×11 board (2,680,
//! checked), one fork per branch. Rows are filled top to bottom; the free
//! columns of a row are a bitmask, and every pool implementation splits
//! that set of branches with a balanced binary tree of joins (n − 1 joins
//! for n branches), running the lower half inline and exposing the upper
//! half to thieves. About 166,000 boards are visited; the work per join is
//! a few bit operations, so this measures join cost under an irregular,
//! unbalanced tree. Serial is the plain recursion over the same bitmasks.

use crate::impls::{check, timed, Bench, Pools};
use std::hint::black_box;

const N: u32 = 11;
const EXPECTED: u64 = 2_680;

/// A partial board: occupied columns and diagonals of the rows placed so
/// far, as bitmasks shifted for the next row.
#[derive(Clone, Copy)]
struct Board {
    row: u32,
    cols: u32,
    diag1: u32,
    diag2: u32,
}

impl Board {
    const EMPTY: Board = Board {
        row: 0,
        cols: 0,
        diag1: 0,
        diag2: 0,
    };

    /// Columns where the next row's queen can go.
    fn free(self) -> u32 {
        !(self.cols | self.diag1 | self.diag2) & ((1 << N) - 1)
    }

    /// The board with the next row's queen on column bit `bit`.
    fn place(self, bit: u32) -> Board {
        Board {
            row: self.row + 1,
            cols: self.cols | bit,
            diag1: (self.diag1 | bit) << 1,
            diag2: (self.diag2 | bit) >> 1,
        }
    }
}

/// Splits a set of branch bits into its lower and upper halves (by count).
fn split(bits: u32) -> (u32, u32) {
    let mut lower = 0;
    let mut rest = bits;
    for _ in 0..bits.count_ones() / 2 {
        let low = rest & rest.wrapping_neg();
        lower |= low;
        rest &= !low;
    }
    (lower, rest)
}

#[inline(never)]
fn serial(b: Board) -> u64 {
    if b.row == N {
        return 1;
    }
    let mut free = b.free();
    let mut count = 0;
    while free != 0 {
        let bit = free & free.wrapping_neg();
        free &= !bit;
        count += serial(b.place(bit));
    }
    count
}

fn spindle_branches(b: Board, bits: u32) -> u64 {
    match bits.count_ones() {
        0 => 0,
        1 => spindle(b.place(bits)),
        _ => {
            let (lower, upper) = split(bits);
            let (x, y) =
                spindle::join(|| spindle_branches(b, lower), || spindle_branches(b, upper));
            x + y
        }
    }
}

fn spindle(b: Board) -> u64 {
    if b.row == N {
        return 1;
    }
    spindle_branches(b, b.free())
}

fn rayon_branches(b: Board, bits: u32) -> u64 {
    match bits.count_ones() {
        0 => 0,
        1 => rayon(b.place(bits)),
        _ => {
            let (lower, upper) = split(bits);
            let (x, y) = rayon::join(|| rayon_branches(b, lower), || rayon_branches(b, upper));
            x + y
        }
    }
}

fn rayon(b: Board) -> u64 {
    if b.row == N {
        return 1;
    }
    rayon_branches(b, b.free())
}

/// chili and forte run their second closure inline: it gets the lower half.
fn chili_branches(s: &mut chili::Scope<'_>, b: Board, bits: u32) -> u64 {
    match bits.count_ones() {
        0 => 0,
        1 => chili(s, b.place(bits)),
        _ => {
            let (lower, upper) = split(bits);
            let (y, x) = s.join(
                |s| chili_branches(s, b, upper),
                |s| chili_branches(s, b, lower),
            );
            x + y
        }
    }
}

fn chili(s: &mut chili::Scope<'_>, b: Board) -> u64 {
    if b.row == N {
        return 1;
    }
    chili_branches(s, b, b.free())
}

fn forte_branches(w: &forte::Worker, b: Board, bits: u32) -> u64 {
    match bits.count_ones() {
        0 => 0,
        1 => forte(w, b.place(bits)),
        _ => {
            let (lower, upper) = split(bits);
            let (y, x) = w.join(
                |w| forte_branches(w, b, upper),
                |w| forte_branches(w, b, lower),
            );
            x + y
        }
    }
}

fn forte(w: &forte::Worker, b: Board) -> u64 {
    if b.row == N {
        return 1;
    }
    forte_branches(w, b, b.free())
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    const W: &str = "nqueens";
    vec![
        Bench::new("serial", || {
            let (r, t) = timed(|| serial(black_box(Board::EMPTY)));
            check(W, "serial", r, EXPECTED);
            t
        }),
        Bench::new("spindle", || {
            let (r, t) = timed(|| pools.spindle().run(|| spindle(black_box(Board::EMPTY))));
            check(W, "spindle", r, EXPECTED);
            t
        }),
        Bench::new("rayon", || {
            let (r, t) = timed(|| pools.rayon().install(|| rayon(black_box(Board::EMPTY))));
            check(W, "rayon", r, EXPECTED);
            t
        }),
        Bench::new("chili", || {
            let (r, t) = timed(|| pools.chili(|s| chili(s, black_box(Board::EMPTY))));
            check(W, "chili", r, EXPECTED);
            t
        }),
        Bench::new("forte", || {
            let (r, t) = timed(|| pools.forte(|w| forte(w, black_box(Board::EMPTY))));
            check(W, "forte", r, EXPECTED);
            t
        }),
    ]
}
