//! `spindle-bench`'s library target holds one thing: the workspace
//! README's examples, compiled and run as doctests by `cargo test
//! --workspace`. They live here, in a crate that is never published, so
//! the `spindle` crate's own doctests include no file from outside it.

/// The README's examples.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
