//! Locking a short critical section without ever waiting on a futex on
//! wasm: a browser's main thread may not wait (`memory.atomic.wait`
//! traps there), yet it takes these locks to submit work (the injector),
//! to wake a worker (its parker) and to await (a waiter list). Their
//! critical sections are a few instructions long, so spinning costs
//! nothing a futex would save. Elsewhere this is `Mutex::lock`.

use crate::facade::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning (every critical section it guards leaves
/// the data consistent at each step).
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(all(target_arch = "wasm32", not(loom)))]
    loop {
        match m.try_lock() {
            Ok(guard) => return guard,
            Err(std::sync::TryLockError::Poisoned(e)) => return e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => core::hint::spin_loop(),
        }
    }
    #[cfg(not(all(target_arch = "wasm32", not(loom))))]
    m.lock().unwrap_or_else(|e| e.into_inner())
}
