//! Where jobs wait to be taken: each slot's Chase-Lev deque (public, and
//! re-exported as [`crate::deque`]), the hidden deque of its active join
//! halves (stealable only through a barrier, `hidden.rs`), the pool's
//! global injector, each
//! worker's mailbox of affine jobs, and the counts of special jobs that
//! let a worker skip the queues it need not look at.

#[cfg(not(loom))]
mod boxed;
pub mod deque;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
pub(crate) mod hidden;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
pub(crate) mod injector;
#[cfg(not(loom))]
pub(crate) mod mailbox;
#[cfg(not(loom))]
pub(crate) mod pending;
