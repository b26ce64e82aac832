//! Who waits on a latch, event or mutex: a thread (parked), a fiber
//! (suspended) or a future (its waker). Waking any is one call.

use super::control::FiberRef;
use crate::sleep::Parker;
use crate::sync::Arc;

/// A waiter in a wait list.
pub(crate) enum Waiter {
    /// A thread asleep on its parker.
    Thread(Arc<Parker>),
    /// A fiber suspended on its worker.
    Fiber(FiberRef),
    /// An async task (or any future) awaiting it.
    Task(core::task::Waker),
}

impl Waiter {
    /// Wakes it: unparks the thread, or makes the fiber ready on its own
    /// worker. A fiber waiter must be woken exactly once per suspension
    /// (it resumes on that wake); a thread may be unparked spuriously.
    pub(crate) fn wake(self) {
        match self {
            Waiter::Thread(p) => p.unpark(),
            Waiter::Fiber(f) => f.wake(),
            Waiter::Task(w) => w.wake(),
        }
    }

    /// True if both name the same thread or fiber.
    pub(crate) fn same(&self, other: &Waiter) -> bool {
        match (self, other) {
            (Waiter::Thread(a), Waiter::Thread(b)) => Arc::ptr_eq(a, b),
            (Waiter::Fiber(a), Waiter::Fiber(b)) => a == b,
            (Waiter::Task(a), Waiter::Task(b)) => a.will_wake(b),
            _ => false,
        }
    }
}
