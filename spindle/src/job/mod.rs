//! Jobs: a type-erased header that every queue entry points to.
//!
//! # Spec
//!
//! A job is a [`JobHeader`] at offset 0 of some larger, `#[repr(C)]` value
//! (a [`StackJob`] in a caller's frame, or a [`HeapJob`] block from a job
//! cache or the heap). Queues hold [`JobRef`]s: one word, a pointer to the
//! header whose low bits carry a small tag (the priority class).
//!
//! Rules:
//! 1. A `JobRef` is executed at most once. Whoever takes it out of a queue
//!    owns that right; the deque and injector guarantee a single taker.
//! 2. The memory behind a `JobRef` stays valid until the job has executed,
//!    and for a stack job until its wait cell is set *and* the owner has
//!    seen it.
//! 3. `execute` never unwinds: each job kind catches panics at its boundary
//!    and hands them to whoever joins or handles it.

mod cache;
mod header;
mod heap_job;
mod result;
mod stack_job;

#[cfg(not(loom))]
pub(crate) use cache::set_current_cache;
pub(crate) use cache::{JobCache, JobCacheHome};
pub(crate) use header::{JobHeader, JobRef, Priority};
pub(crate) use heap_job::HeapJob;
pub(crate) use result::JobResult;
pub(crate) use stack_job::StackJob;
