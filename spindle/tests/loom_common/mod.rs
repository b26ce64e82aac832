//! Helpers shared by the loom models of the deque (`loom_deque.rs`,
//! `loom_deque_more.rs`). Not every model file uses every helper.
#![allow(dead_code)]

use std::ptr::NonNull;

use loom::thread;
use spindle::deque::{self, Steal};

/// Item `i` as a fake pointer (never dereferenced).
pub fn item(i: usize) -> NonNull<u8> {
    NonNull::new(std::ptr::without_provenance_mut(i * 8)).unwrap()
}

pub fn id(p: NonNull<u8>) -> usize {
    p.addr().get() / 8
}

/// Steals until `Success` or `Empty`, retrying after `Retry`.
pub fn steal_once(s: &deque::Stealer<u8>) -> Option<usize> {
    loop {
        match s.steal() {
            Steal::Success(p) => return Some(id(p)),
            Steal::Empty => return None,
            Steal::Retry => thread::yield_now(),
        }
    }
}

/// Lets the thieves just spawned run first in loom's initial schedule.
///
/// Loom's partial-order reduction treats two loads as independent, so when
/// the owner's load of `top` comes first it never learns that a thief's
/// later CAS on `top` (preceded by the thief's own load) conflicts with
/// it, and never tries the CAS first. Starting from the other order, the
/// owner's load comes after the CAS and depends on it, and loom explores
/// both. (The yield changes no behaviour, only where exploration starts.)
pub fn yield_to_thieves() {
    thread::yield_now();
}

/// Pops everything left, newest first.
pub fn pop_all(w: &deque::Worker<u8>, into: &mut Vec<usize>) {
    while let Some(p) = w.pop() {
        into.push(id(p));
    }
}

/// Checks that `taken` holds each of `1..=n` exactly once.
pub fn assert_exactly_once(mut taken: Vec<usize>, n: usize) {
    taken.sort_unstable();
    assert_eq!(taken, (1..=n).collect::<Vec<_>>(), "lost or doubled");
}
