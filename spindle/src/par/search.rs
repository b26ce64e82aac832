//! Searches that stop early: `any`, `all`, `find_first`.
//!
//! A found item is published in one shared atomic; every chunk reads it
//! before and while it runs and stops once nothing it could find would
//! change the answer. Chunks not yet started then return at once, so a
//! search costs about the items before the answer plus a check per chunk.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::items::{IntoItems, Items};
use super::Par;

impl Par<'_> {
    /// See [`par::any`](super::any).
    pub fn any<I: IntoItems>(&self, items: I, f: impl Fn(I::Item) -> bool + Sync) -> bool {
        let found = AtomicBool::new(false);
        self.drive(
            items.into_items(),
            |_, chunk: I::Items| {
                for item in chunk.into_serial() {
                    if found.load(Ordering::Relaxed) {
                        return;
                    }
                    if f(item) {
                        found.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            },
            |(), ()| (),
        );
        // The loop's join (or its return on this thread) orders every
        // store before this load.
        found.into_inner()
    }

    /// See [`par::all`](super::all).
    pub fn all<I: IntoItems>(&self, items: I, f: impl Fn(I::Item) -> bool + Sync) -> bool {
        !self.any(items, |item| !f(item))
    }

    /// See [`par::find_first`](super::find_first).
    pub fn find_first<I>(&self, items: I, f: impl Fn(&I::Item) -> bool + Sync) -> Option<I::Item>
    where
        I: IntoItems,
        I::Item: Send,
    {
        // The index of the leftmost item found so far; chunks right of it
        // cannot change the answer.
        let best = AtomicUsize::new(usize::MAX);
        self.drive(
            items.into_items(),
            |offset, chunk: I::Items| {
                for (k, item) in chunk.into_serial().enumerate() {
                    let i = offset + k;
                    if i > best.load(Ordering::Relaxed) {
                        return None;
                    }
                    if f(&item) {
                        best.fetch_min(i, Ordering::Relaxed);
                        return Some(item);
                    }
                }
                None
            },
            // Left before right: the leftmost found item wins.
            |a: Option<I::Item>, b| a.or(b),
        )
    }
}
