//! Loom models of `SpinLock`: the value lives in a cell of spindle's sync
//! facade, so under loom every access through a guard is checked for a
//! happens-before edge with the previous holder's accesses.
//!
//! Run with the other loom models:
//! `RUSTFLAGS="--cfg loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2
//! CARGO_TARGET_DIR=target/loom cargo test -p spindle --release --lib --tests`.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use spindle::SpinLock;

/// Adds 1 through `try_lock`, trying at most twice; true if it did.
///
/// Loom cannot check two threads spinning on a lock at once: a schedule
/// that alternates the two spinners' yields forever, never running the
/// holder, is one it must explore. So at most one thread per model waits
/// in `lock()`; the others use bounded `try_lock`s.
fn try_increment(lock: &SpinLock<usize>) -> bool {
    for _ in 0..2 {
        if let Some(mut g) = lock.try_lock() {
            *g += 1;
            return true;
        }
        thread::yield_now();
    }
    false
}

/// Two threads increment the protected value through `lock()`, as a
/// read-modify-write through the guard: the total is 2.
///
/// Catches: a lock that two threads can hold at once (an increment is
/// lost, or loom sees the two writes race), and an acquire or release
/// weakened to `Relaxed` (the next holder's read races the last write).
#[test]
fn mutual_exclusion_two_threads() {
    loom::model(|| {
        let lock = Arc::new(SpinLock::new(0usize));
        let l2 = lock.clone();
        let t = thread::spawn(move || *l2.lock() += 1);
        *lock.lock() += 1;
        t.join().unwrap();
        assert_eq!(*lock.lock(), 2, "an increment was lost");
    });
}

/// Three threads increment: one through `lock()` (which may take the
/// contended path, test-and-test-and-set with backoff), two through
/// bounded `try_lock`s. The total is the number of increments done.
///
/// Catches: the same bugs with a third party: a guard handed out without
/// a successful CAS (e.g. on the contended path after seeing the lock
/// free), or a `try_lock` that succeeds on a held lock.
#[test]
fn mutual_exclusion_three_threads() {
    loom::model(|| {
        let lock = Arc::new(SpinLock::new(0usize));
        let l2 = lock.clone();
        let waiter = thread::spawn(move || *l2.lock() += 1);
        let l3 = lock.clone();
        let trier = thread::spawn(move || try_increment(&l3));
        let mut done = 1 + usize::from(try_increment(&lock));
        waiter.join().unwrap();
        done += usize::from(trier.join().unwrap());
        assert_eq!(*lock.lock(), done, "an increment was lost");
    });
}

/// `try_lock` fails while another thread holds the lock, and when it
/// succeeds it sees everything the previous holder wrote.
///
/// Catches: a `try_lock` that succeeds on a held lock (it sees
/// `released == false` and the value mid-update), and an unlock that
/// does not release the critical section's writes.
#[test]
fn try_lock_fails_while_held() {
    loom::model(|| {
        let lock = Arc::new(SpinLock::new(0u32));
        let released = Arc::new(AtomicBool::new(false));
        let mut guard = lock.lock();
        let (l2, r2) = (lock.clone(), released.clone());
        let t = thread::spawn(move || match l2.try_lock() {
            Some(g) => {
                assert!(r2.load(Ordering::Relaxed), "try_lock succeeded while held");
                assert_eq!(*g, 2, "the holder's writes are not visible");
            }
            // Held: a blocking `lock` then gets it once released.
            None => assert_eq!(*l2.lock(), 2, "the holder's writes are not visible"),
        });
        *guard = 1;
        *guard += 1;
        released.store(true, Ordering::Relaxed);
        drop(guard);
        t.join().unwrap();
        assert!(lock.try_lock().is_some(), "unlocked, yet try_lock failed");
    });
}
