//! Reductions: a general fold, `sum`, `min` and `max`.

use core::iter::Sum;

use super::items::{IntoItems, Items};
use super::Par;

impl Par<'_> {
    /// See [`par::reduce`](super::reduce).
    pub fn reduce<I, T>(
        &self,
        items: I,
        identity: impl Fn() -> T + Sync,
        fold: impl Fn(T, I::Item) -> T + Sync,
        combine: impl Fn(T, T) -> T + Sync,
    ) -> T
    where
        I: IntoItems,
        T: Send,
    {
        self.drive(
            items.into_items(),
            |_, chunk: I::Items| chunk.into_serial().fold(identity(), &fold),
            combine,
        )
    }

    /// See [`par::sum`](super::sum).
    pub fn sum<I, S>(&self, items: I) -> S
    where
        I: IntoItems,
        S: Sum<I::Item> + Sum<S> + Send,
    {
        self.drive(
            items.into_items(),
            |_, chunk: I::Items| chunk.into_serial().sum::<S>(),
            |a, b| [a, b].into_iter().sum(),
        )
    }

    /// See [`par::min`](super::min).
    pub fn min<I>(&self, items: I) -> Option<I::Item>
    where
        I: IntoItems,
        I::Item: Ord + Send,
    {
        self.drive(
            items.into_items(),
            |_, chunk: I::Items| chunk.into_serial().min(),
            |a, b| match (a, b) {
                // The first of equal ones, as `Iterator::min`.
                (Some(a), Some(b)) => Some(if b < a { b } else { a }),
                (a, b) => a.or(b),
            },
        )
    }

    /// See [`par::max`](super::max).
    pub fn max<I>(&self, items: I) -> Option<I::Item>
    where
        I: IntoItems,
        I::Item: Ord + Send,
    {
        self.drive(
            items.into_items(),
            |_, chunk: I::Items| chunk.into_serial().max(),
            |a, b| match (a, b) {
                // The last of equal ones, as `Iterator::max`.
                (Some(a), Some(b)) => Some(if b >= a { b } else { a }),
                (a, b) => a.or(b),
            },
        )
    }
}
