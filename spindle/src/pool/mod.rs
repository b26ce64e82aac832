//! The pool: its builder, the registry its slots share, the `Pool`
//! handle and the ways into it, the one submit path, main-thread jobs,
//! the list of idle async tasks (for shutdown), pinning and statistics.

pub(crate) mod blocking;
pub(crate) mod builder;
pub(crate) mod handle;
pub(crate) mod hooks;
pub(crate) mod main_jobs;
pub(crate) mod pin;
pub(crate) mod placement;
pub(crate) mod registry;
pub(crate) mod shutdown;
pub(crate) mod spawn_handler;
pub(crate) mod stats;
pub(crate) mod submit;
pub(crate) mod tasks;

pub use handle::Pool;
pub(crate) use handle::{global, with_worker};
