//! The pool: its builder, the registry its slots share, the `Pool`
//! handle and the ways into it, main-thread jobs, pinning and statistics.

pub(crate) mod builder;
pub(crate) mod handle;
pub(crate) mod main_jobs;
pub(crate) mod pin;
pub(crate) mod registry;
pub(crate) mod stats;
pub(crate) mod submit;

pub use handle::Pool;
pub(crate) use handle::{global, with_worker};
