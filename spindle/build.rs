//! Sets `cfg(spindle_fibers)` on targets where spindle has fibers: a
//! context switch (x86_64, aarch64) and mmap'd stacks with guard pages
//! (unix). Elsewhere the crate builds without them and waits run other
//! jobs instead (see `src/fiber/mod.rs`).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(spindle_fibers)");
    let unix = std::env::var_os("CARGO_CFG_UNIX").is_some();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if unix && matches!(arch.as_str(), "x86_64" | "aarch64") {
        println!("cargo::rustc-cfg=spindle_fibers");
    }
}
