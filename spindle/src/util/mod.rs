//! Small building blocks with no knowledge of jobs: cache padding, backoff,
//! and a tiny random generator for victim choice.

pub(crate) mod asym;
mod backoff;
mod cache_padded;
pub(crate) mod lock;
mod rng;
pub(crate) mod stack;

pub(crate) use backoff::Backoff;
pub(crate) use cache_padded::CachePadded;
pub(crate) use rng::XorShift;
