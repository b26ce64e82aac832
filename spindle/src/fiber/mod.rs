//! Fibers: stackful contexts that a waiting job suspends into, so its
//! worker moves on, and resumes later where it stopped.
//!
//! - [`context`]: the context switch, a few instructions per architecture.
//! - `asan`: the switch's annotations for AddressSanitizer.
//! - `stack`: fiber stacks (mmap, a guard page below each); `no_stack.rs`
//!   where there are none.
//! - `guard`: the SIGSEGV handler that names a fiber stack overflow.
//! - [`control`]: the fiber control block (one cache line) and its handle.
//! - [`slot`]: a worker slot's fibers and their ready queue.
//! - [`round_trip`]: the switch alone, timed (for `spindle-bench`).
//!
//! How a worker uses them is in `worker/fibers.rs`.
//!
//! Fibers exist where `cfg(spindle_fibers)` is set (by `build.rs`): unix
//! on x86_64 and aarch64. Elsewhere `stack` is `no_stack.rs` (a stack type
//! with no values), there is no `guard`, `context::SUPPORTED` is false, and
//! the builder gives no slot a fiber: every wait runs other jobs instead.

pub(crate) mod asan;
pub(crate) mod context;
pub(crate) mod control;
#[cfg(spindle_fibers)]
pub(crate) mod guard;
pub(crate) mod round_trip;
pub(crate) mod slot;
#[cfg(spindle_fibers)]
pub(crate) mod stack;
#[cfg(not(spindle_fibers))]
#[path = "no_stack.rs"]
pub(crate) mod stack;

pub(crate) use control::FiberRef;
pub(crate) use slot::SlotFibers;

/// The smallest fiber stack the builder accepts, in bytes (on every
/// target: a size is checked even where it will not be used).
pub(crate) const MIN_FIBER_STACK: usize = 16 * 1024;
/// The largest fiber stack the builder accepts, in bytes.
pub(crate) const MAX_FIBER_STACK: usize = 1 << 30;
