//! What jobs, fibers, tasks and threads wait on, bottom up: the parker
//! (a thread's place to sleep), the one wait cell every wait blocks on
//! (`wait_cell.rs`, with its protocol), waiter lists, the function that
//! blocks the calling thread or fiber (`block.rs`), and the primitives
//! built on them: [`Counter`], [`Event`], [`Mutex`] and [`SpinLock`].

#[cfg(not(loom))]
pub(crate) mod block;
#[cfg_attr(loom, allow(dead_code))]
pub(crate) mod countdown;
#[cfg(not(loom))]
pub(crate) mod counter;
#[cfg(not(loom))]
pub(crate) mod event;
#[cfg(not(loom))]
pub(crate) mod mutex;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
pub(crate) mod parker;
pub(crate) mod spin_lock;
#[cfg_attr(loom, allow(dead_code, unused_imports))]
pub(crate) mod wait_cell;
#[cfg(not(loom))]
pub(crate) mod wait_list;

#[cfg(not(loom))]
pub use counter::{Counter, CounterFuture};
#[cfg(not(loom))]
pub use event::{Event, EventFuture};
#[cfg(not(loom))]
pub use mutex::{Mutex, MutexGuard};
pub use spin_lock::{SpinLock, SpinLockGuard};
