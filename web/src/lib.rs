//! spindle in the browser: a `WebPool` whose workers are Web Workers
//! sharing the module's memory, started through spindle's spawn handler
//! ([`spindle::Builder::spawn_handler`]).
//!
//! The browser's main thread must never block (a blocking wait there is a
//! trap), so a `WebPool` offers only what returns at once or is awaited:
//! `WebPool::run`, `WebPool::spawn_async` and `WebPool::spawn`. Inside
//! a job every spindle API works as on native threads (`join`, `scope`,
//! `Counter` waits, `par`, priorities), except that waits help rather than
//! suspend: wasm has no fibers.
//!
//! # Building
//!
//! The module must be built with shared memory: nightly Rust,
//! `-Z build-std=panic_abort,std`, `RUSTFLAGS="-C
//! target-feature=+atomics,+bulk-memory,+mutable-globals"` and the link
//! arguments in `.cargo/config.toml` of this crate's `examples/web/build.sh`;
//! then `wasm-bindgen --target web`. The page must be cross-origin isolated
//! (COOP `same-origin` and COEP `require-corp` headers) for
//! `SharedArrayBuffer`.
//!
//! ```ignore
//! use spindle_web::WebPool;
//!
//! let pool = WebPool::new(3)?;
//! let n = pool.run(|| fib(30)).await?;
//! ```
//!
//! On targets other than wasm32 this crate is empty.

#![warn(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod pool;
#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(target_arch = "wasm32")]
pub use pool::WebPool;
