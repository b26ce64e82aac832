//! The context switch: one file per architecture, each exporting the same
//! items (`switch`, `init`, `FRAME_SIZE`). Targets without one build
//! without fibers (`SUPPORTED` is false) and waits run other jobs instead.

#[cfg(all(target_arch = "x86_64", unix))]
mod x86_64;
#[cfg(all(target_arch = "x86_64", unix))]
pub(crate) use x86_64::{init, switch};

#[cfg(all(target_arch = "aarch64", unix))]
mod aarch64;
#[cfg(all(target_arch = "aarch64", unix))]
pub(crate) use aarch64::{init, switch};

/// True where this crate has a context switch (and fiber stacks).
pub(crate) const SUPPORTED: bool = cfg!(all(
    unix,
    any(target_arch = "x86_64", target_arch = "aarch64")
));

// Not under Miri: it cannot run the context switch's assembly.
#[cfg(all(
    test,
    not(loom),
    not(miri),
    unix,
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod tests;
