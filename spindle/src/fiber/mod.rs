//! Fibers: stackful contexts that a waiting job suspends into, so its
//! worker moves on, and resumes later where it stopped.
//!
//! - [`context`]: the context switch, a few instructions per architecture.
//! - `stack`: fiber stacks (mmap, a guard page below each).
//! - `guard`: the SIGSEGV handler that names a fiber stack overflow.
//! - [`control`]: the fiber control block (one cache line) and its handle.
//! - [`slot`]: a worker slot's fibers and their ready queue.
//! - [`waiter`]: a thread or a fiber in a wait list.
//! - [`round_trip`]: the switch alone, timed (for `spindle-bench`).
//!
//! How a worker uses them is in `worker/fibers.rs`.

pub(crate) mod context;
pub(crate) mod control;
pub(crate) mod guard;
pub(crate) mod round_trip;
pub(crate) mod slot;
pub(crate) mod stack;
pub(crate) mod waiter;

pub(crate) use control::FiberRef;
pub(crate) use slot::SlotFibers;
pub(crate) use stack::{Stack, MAX_FIBER_STACK, MIN_FIBER_STACK};
pub(crate) use waiter::Waiter;
