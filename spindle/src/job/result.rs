//! The outcome of a job that someone joins.

use std::any::Any;

/// Not yet run, a value, or the payload of a panic to re-raise.
pub(crate) enum JobResult<T> {
    None,
    Ok(T),
    Panic(Box<dyn Any + Send>),
}

impl<T> JobResult<T> {
    /// Runs `f`, catching a panic.
    pub(crate) fn call(f: impl FnOnce() -> T) -> Self {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(v) => JobResult::Ok(v),
            Err(p) => JobResult::Panic(p),
        }
    }

    /// The value, or the panic resumed on this thread.
    ///
    /// # Panics
    ///
    /// Re-raises the job's panic; panics if the job never ran (a bug).
    pub(crate) fn into_return_value(self) -> T {
        match self {
            JobResult::Ok(v) => v,
            JobResult::Panic(p) => std::panic::resume_unwind(p),
            JobResult::None => unreachable!("spindle: joined a job that never ran"),
        }
    }
}
