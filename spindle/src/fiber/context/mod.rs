//! The context switch: one file per architecture, each exporting the same
//! items (`switch`, `switch_float_env`, `init`, `FRAME_SIZE`). Targets without one build
//! without fibers (`SUPPORTED` is false) and waits run other jobs instead.

#[cfg(all(spindle_fibers, target_arch = "x86_64"))]
mod x86_64;
#[cfg(all(spindle_fibers, target_arch = "x86_64"))]
pub(crate) use x86_64::{init, switch, switch_float_env};

#[cfg(all(spindle_fibers, target_arch = "aarch64"))]
mod aarch64;
#[cfg(all(spindle_fibers, target_arch = "aarch64"))]
pub(crate) use aarch64::{init, switch, switch_float_env};

#[cfg(not(spindle_fibers))]
mod none;
#[cfg(not(spindle_fibers))]
pub(crate) use none::{init, switch, switch_float_env};

/// True where this crate has a context switch (and fiber stacks). Not
/// under Miri, which cannot run the switch's assembly, nor under
/// ThreadSanitizer (`--cfg spindle_tsan`), which tracks one stack per
/// thread and is not told of our switches: pools there have no fibers, and
/// waits take the fallback path.
pub(crate) const SUPPORTED: bool = cfg!(all(spindle_fibers, not(miri), not(spindle_tsan)));

// Not under Miri: it cannot run the context switch's assembly.
#[cfg(all(test, not(loom), not(miri), spindle_fibers))]
mod tests;
