//! The event driver: timers (and the OS event queue they wait on) driven
//! by the pool's own workers, with no thread of its own.
//!
//! A worker about to sleep with nothing to do tries to become the
//! *driving* worker: it then sleeps in the OS event queue (epoll, kqueue,
//! IOCP, through the `polling` crate) until the earliest timer's deadline,
//! instead of on its parker. At most one worker drives at a time; the
//! others sleep as always. Whatever would unpark the driving worker (new
//! work for it, a wait it is part of) notifies the event queue instead
//! (`Parker::park_via`), so it wakes exactly as a parked worker would.
//! When it wakes it fires the due timers: their tasks are woken from that
//! worker, each with its own priority and affinity, as any wake.
//!
//! A wait that parks its thread (no fiber to suspend) drives the same
//! way. Busy workers look at the earliest deadline every `INJECTOR_TICK`
//! picks and fire due timers (and take I/O events while sources are
//! registered) if no worker drives (`poll_if_due`), so timers fire while
//! every worker is busy too, though only as often as the workers come
//! back to their loops: a worker stuck in one long job fires nothing.

#[cfg(unix)]
pub(crate) mod source;
pub(crate) mod timers;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use polling::{Events, Poller};

use timers::{Timer, TimerHeap};

/// `Driver::next` and `waiting_until` when there is no deadline.
const NONE: u64 = u64::MAX;
/// `Driver::waiting_until` while no worker waits in the event queue: no
/// deadline is earlier, so adding a timer notifies nobody.
const NOT_WAITING: u64 = 0;

pub(crate) struct Driver {
    pub(crate) poller: Poller,
    /// Registered I/O sources.
    #[cfg(unix)]
    pub(crate) sources: source::Sources,
    /// The system offers edge-triggered registration (see `source.rs`).
    #[cfg(unix)]
    pub(crate) edge: bool,
    timers: Mutex<TimerHeap>,
    /// The earliest deadline, in nanoseconds since `base` (`NONE`: no
    /// timer), for busy workers to check without the lock.
    next: AtomicU64,
    /// The deadline the driving worker sleeps until (`NONE`: no deadline;
    /// `NOT_WAITING`: no worker sleeps in the driver). Written under the
    /// `timers` lock, so a timer added with an earlier deadline knows to
    /// notify, and only then.
    waiting_until: AtomicU64,
    /// A worker drives (is in `turn`).
    driving: AtomicBool,
    /// The driving worker's event buffer.
    events: Mutex<Events>,
    base: Instant,
}

impl Driver {
    pub(crate) fn new() -> std::io::Result<Self> {
        let poller = Poller::new()?;
        Ok(Self {
            #[cfg(unix)]
            edge: poller.supports_edge(),
            poller,
            #[cfg(unix)]
            sources: source::Sources::default(),
            timers: Mutex::new(TimerHeap::default()),
            next: AtomicU64::new(NONE),
            waiting_until: AtomicU64::new(NOT_WAITING),
            driving: AtomicBool::new(false),
            events: Mutex::new(Events::new()),
            base: Instant::now(),
        })
    }

    fn nanos(&self, t: Instant) -> u64 {
        // Saturates: a deadline 584 years out is as good as none.
        u64::try_from(t.saturating_duration_since(self.base).as_nanos()).unwrap_or(NONE - 1)
    }

    fn timers(&self) -> std::sync::MutexGuard<'_, TimerHeap> {
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Becomes the driving worker, unless one already is.
    pub(crate) fn try_drive(&self) -> Option<Drive<'_>> {
        self.driving
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            // Lazily: a guard made on failure would clear `driving` when
            // dropped.
            .then(|| Drive { driver: self })
    }

    /// True if a worker could take the driver now: a sleeper that finds
    /// it free must not sleep on its parker (nobody would then wait for
    /// the timers), but take it (the sleep re-check, S3, looks here).
    #[inline]
    pub(crate) fn is_free(&self) -> bool {
        !self.driving.load(Ordering::Relaxed)
    }

    /// Cuts the driving worker's wait short (or its next one).
    pub(crate) fn notify(&self) {
        // An error here means the OS refused a write to the wake-up
        // descriptor; the driver's timeout still bounds the wait.
        let _ = self.poller.notify();
    }

    /// Queues `timer`; notifies the driving worker if it sleeps past the
    /// new deadline.
    pub(crate) fn add_timer(&self, timer: Arc<Timer>) {
        let at = self.nanos(timer.deadline);
        let mut heap = self.timers();
        heap.push(timer);
        self.next.fetch_min(at, Ordering::Relaxed);
        let late = at < self.waiting_until.load(Ordering::Relaxed);
        drop(heap);
        if late {
            self.notify();
        }
    }

    /// Takes `timer` out if it has not fired.
    pub(crate) fn remove_timer(&self, timer: &Timer) {
        let mut heap = self.timers();
        heap.remove(timer);
        self.next.store(
            heap.next_deadline().map_or(NONE, |d| self.nanos(d)),
            Ordering::Relaxed,
        );
    }

    /// Timers queued now (for tests).
    pub(crate) fn timers_queued(&self) -> usize {
        self.timers().len()
    }

    /// For a busy worker, every few picks: fires the due timers if one is
    /// due, and takes the I/O events if any source is registered, unless
    /// a worker drives already. `Some(woken)` if it drove (the caller then
    /// lets a sleeper know the driver is free again).
    #[inline]
    pub(crate) fn poll_if_due(&self) -> Option<usize> {
        #[cfg(unix)]
        let io = self.sources.count.load(Ordering::Relaxed) > 0;
        #[cfg(not(unix))]
        let io = false;
        let next = self.next.load(Ordering::Relaxed);
        if io || (next != NONE && self.nanos(Instant::now()) >= next) {
            if let Some(drive) = self.try_drive() {
                return Some(drive.turn(false));
            }
        }
        None
    }
}

/// The right to drive, held by one worker at a time.
pub(crate) struct Drive<'a> {
    driver: &'a Driver,
}

impl Drive<'_> {
    pub(crate) fn driver(&self) -> &Driver {
        self.driver
    }

    /// One turn: waits for an event, a notification or the earliest
    /// deadline (not at all without `block`), then fires the due timers.
    /// Returns how many tasks it woke (the worker then runs its queue
    /// oldest first: `WorkerLocal::after_driver_wakes`).
    pub(crate) fn turn(&self, block: bool) -> usize {
        let d = self.driver;
        let timeout = {
            let heap = d.timers();
            let next = heap.next_deadline();
            d.waiting_until.store(
                if block {
                    next.map_or(NONE, |t| d.nanos(t))
                } else {
                    NOT_WAITING
                },
                Ordering::Relaxed,
            );
            match (block, next) {
                (false, _) => Some(Duration::ZERO),
                (true, None) => None,
                // If the OS rounds it down the wait ends early, fires
                // nothing, and the caller's loop waits again: timers are
                // fired only once due.
                (true, Some(t)) => Some(t.saturating_duration_since(Instant::now())),
            }
        };
        let mut woken = Vec::new();
        {
            let mut events = d.events.lock().unwrap_or_else(|e| e.into_inner());
            events.clear();
            // An error (EINTR is retried inside) only ends this turn early;
            // the caller's loop comes back.
            let _ = d.poller.wait(&mut events, timeout);
            #[cfg(unix)]
            d.dispatch(&events, &mut woken);
        }
        {
            let mut heap = d.timers();
            d.waiting_until.store(NOT_WAITING, Ordering::Relaxed);
            heap.fire_due(Instant::now(), &mut woken);
            d.next.store(
                heap.next_deadline().map_or(NONE, |t| d.nanos(t)),
                Ordering::Relaxed,
            );
        }
        let n = woken.len();
        for w in woken {
            w.wake();
        }
        n
    }
}

impl Drop for Drive<'_> {
    fn drop(&mut self) {
        self.driver.driving.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One driving worker at a time, however often others try.
    ///
    /// Catches: a failed attempt that releases the driver anyway (a guard
    /// built eagerly and dropped): two workers then wait in the event
    /// queue, one of them on a lock, and timers stall.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
    )]
    fn one_driver_at_a_time() {
        let d = Driver::new().unwrap();
        let first = d.try_drive().expect("free at first");
        assert!(d.try_drive().is_none());
        assert!(d.try_drive().is_none(), "a failed try released the driver");
        drop(first);
        assert!(d.try_drive().is_some());
    }
}
