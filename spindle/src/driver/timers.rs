//! The driver's timers: a binary min-heap on deadlines whose entries know
//! their place in it, so a timer dropped before it fires is removed at
//! once (`O(log n)`), not left behind until its deadline.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Instant;

/// Not in the heap (never added, fired, or removed).
const NOT_QUEUED: usize = usize::MAX;

/// One pending deadline and the task to wake at it.
pub(crate) struct Timer {
    pub(crate) deadline: Instant,
    /// The task to wake; replaced when the future is polled from another
    /// task.
    waker: Mutex<Option<Waker>>,
    /// Set (release) once the deadline passed and the driver woke it.
    fired: AtomicBool,
    /// Its index in the heap, or `NOT_QUEUED`; read and written only under
    /// the heap's lock (relaxed).
    pos: AtomicUsize,
}

impl Timer {
    pub(crate) fn new(deadline: Instant, waker: Waker) -> Arc<Self> {
        Arc::new(Self {
            deadline,
            waker: Mutex::new(Some(waker)),
            fired: AtomicBool::new(false),
            pos: AtomicUsize::new(NOT_QUEUED),
        })
    }

    /// True once the driver fired it.
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    /// Records the task to wake (if it changed) unless the timer fired
    /// already: then returns true and records nothing.
    pub(crate) fn register(&self, waker: &Waker) -> bool {
        let mut w = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        // Under the lock, which `fire` holds while it sets the flag: a
        // waker stored here is either taken by `fire` or not needed.
        if self.fired.load(Ordering::Relaxed) {
            return true;
        }
        match &*w {
            Some(old) if old.will_wake(waker) => {}
            _ => *w = Some(waker.clone()),
        }
        false
    }

    /// Marks it fired and hands back its waker (the caller wakes it after
    /// letting go of the heap).
    fn fire(&self) -> Option<Waker> {
        let mut w = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        self.fired.store(true, Ordering::Release);
        w.take()
    }
}

/// The heap. Entries are ordered by deadline only; equal deadlines fire
/// together, in no set order.
#[derive(Default)]
pub(crate) struct TimerHeap {
    heap: Vec<Arc<Timer>>,
}

impl TimerHeap {
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The earliest deadline, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.first().map(|t| t.deadline)
    }

    pub(crate) fn push(&mut self, timer: Arc<Timer>) {
        debug_assert_eq!(timer.pos.load(Ordering::Relaxed), NOT_QUEUED);
        let i = self.heap.len();
        timer.pos.store(i, Ordering::Relaxed);
        self.heap.push(timer);
        self.sift_up(i);
    }

    /// Removes `timer` if it is still queued (not fired).
    pub(crate) fn remove(&mut self, timer: &Timer) {
        let i = timer.pos.load(Ordering::Relaxed);
        if i == NOT_QUEUED {
            return;
        }
        debug_assert!(core::ptr::eq(&*self.heap[i], timer));
        self.remove_at(i);
    }

    /// Fires every timer whose deadline is at or before `now`; their
    /// wakers go to `woken`.
    pub(crate) fn fire_due(&mut self, now: Instant, woken: &mut Vec<Waker>) {
        while self.heap.first().is_some_and(|t| t.deadline <= now) {
            let t = self.remove_at(0);
            woken.extend(t.fire());
        }
    }

    fn remove_at(&mut self, i: usize) -> Arc<Timer> {
        let last = self.heap.len() - 1;
        self.swap(i, last);
        let t = self.heap.pop().expect("not empty");
        t.pos.store(NOT_QUEUED, Ordering::Relaxed);
        if i < self.heap.len() {
            // The moved entry may belong above or below its new place.
            self.sift_up(i);
            self.sift_down(i);
        }
        t
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.heap[a].pos.store(a, Ordering::Relaxed);
        self.heap[b].pos.store(b, Ordering::Relaxed);
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[i].deadline >= self.heap[parent].deadline {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut least = i;
            if l < n && self.heap[l].deadline < self.heap[least].deadline {
                least = l;
            }
            if r < n && self.heap[r].deadline < self.heap[least].deadline {
                least = r;
            }
            if least == i {
                return;
            }
            self.swap(i, least);
            i = least;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn noop() -> Waker {
        Waker::noop().clone()
    }

    /// Fires in deadline order, and a removed timer never fires, from any
    /// place in the heap.
    ///
    /// Catches: a removal that leaves the moved entry out of heap order
    /// (no sift after the swap), or positions not updated on swaps.
    #[test]
    fn fires_in_order_and_removal_keeps_the_heap() {
        let base = Instant::now();
        let mut heap = TimerHeap::default();
        let mut timers = Vec::new();
        // A scrambled order of 200 deadlines.
        for k in 0..200u64 {
            let ms = (k * 7919) % 200;
            let t = Timer::new(base + Duration::from_millis(ms), noop());
            heap.push(t.clone());
            timers.push(t);
        }
        // Remove every third one, wherever it sits.
        for t in timers.iter().step_by(3) {
            heap.remove(t);
        }
        assert_eq!(heap.len(), 200 - 67);
        let mut woken = Vec::new();
        let mut last = base;
        let mut fired = 0;
        while let Some(d) = heap.next_deadline() {
            assert!(d >= last, "out of order");
            last = d;
            heap.fire_due(d, &mut woken);
            fired += 1;
        }
        assert_eq!(woken.len(), 200 - 67);
        assert!(fired > 0);
        for (k, t) in timers.iter().enumerate() {
            assert_eq!(t.fired(), k % 3 != 0, "timer {k}");
        }
    }
}
