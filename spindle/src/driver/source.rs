//! I/O sources registered with the driver: a descriptor, the tasks that
//! wait for it to become readable or writable, and what readiness the
//! driver saw.
//!
//! Registrations are edge-triggered where the system has that (epoll,
//! kqueue): a descriptor is added once with both directions, and no
//! system call is made per wait. Each direction keeps a *ready* flag and a
//! *tick* that every event bumps. An operation notes the tick, runs, and
//! on `WouldBlock` waits only if the tick has not moved meanwhile (else an
//! edge came in between, and it retries at once); waiting clears the
//! flag. So an edge is never lost between an operation and its wait.
//! Where edges are not offered, the descriptor is re-armed one-shot at
//! each wait, which the kernel reports at once if it is ready already.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use polling::{Event, PollMode};

use super::Driver;

/// Read or write.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    Read,
    Write,
}

#[derive(Default)]
struct Dir {
    /// An event came since a waiter last cleared it.
    ready: bool,
    /// Events so far.
    tick: u64,
    waker: Option<Waker>,
}

#[derive(Default)]
struct State {
    read: Dir,
    write: Dir,
}

impl State {
    fn dir(&mut self, d: Direction) -> &mut Dir {
        match d {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }
}

/// One registered descriptor.
pub(crate) struct Source {
    key: usize,
    fd: RawFd,
    state: Mutex<State>,
}

impl Source {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tick of `dir`, to note before an operation.
    pub(crate) fn tick(&self, dir: Direction) -> u64 {
        self.state().dir(dir).tick
    }

    /// After an operation that would block, begun at `tick`: ready at
    /// once if an event came since (retry), else clears the readiness,
    /// records the task and waits for the next event.
    pub(crate) fn poll_blocked(
        &self,
        driver: &Driver,
        dir: Direction,
        tick: u64,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut s = self.state();
        let d = s.dir(dir);
        if d.tick != tick {
            return Poll::Ready(Ok(()));
        }
        d.ready = false;
        self.wait(driver, &mut s, dir, cx)
    }

    /// Ready if an event came since the last wait cleared it; else waits
    /// for one.
    pub(crate) fn poll_ready(
        &self,
        driver: &Driver,
        dir: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut s = self.state();
        if s.dir(dir).ready {
            return Poll::Ready(Ok(()));
        }
        self.wait(driver, &mut s, dir, cx)
    }

    fn wait(
        &self,
        driver: &Driver,
        s: &mut State,
        dir: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let d = s.dir(dir);
        match &d.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => d.waker = Some(cx.waker().clone()),
        }
        if driver.edge {
            return Poll::Pending;
        }
        let interest = Event::new(self.key, s.read.waker.is_some(), s.write.waker.is_some());
        // SAFETY: the descriptor stays open while its `Async` lives, and
        // the `Async` deregisters before closing it; this call is made
        // through that `Async`.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        if let Err(e) = driver.poller.modify(fd, interest) {
            s.dir(dir).waker = None;
            return Poll::Ready(Err(e));
        }
        Poll::Pending
    }

    /// The driver saw an event: marks its directions ready, bumps their
    /// ticks and hands back the tasks to wake.
    fn on_event(&self, ev: &Event, woken: &mut Vec<Waker>) {
        let mut guard = self.state();
        let s = &mut *guard;
        for (yes, d) in [(ev.readable, &mut s.read), (ev.writable, &mut s.write)] {
            if yes {
                d.ready = true;
                d.tick = d.tick.wrapping_add(1);
                woken.extend(d.waker.take());
            }
        }
    }
}

/// The driver's table of sources, by key.
#[derive(Default)]
pub(crate) struct Sources {
    table: Mutex<Table>,
    /// Sources registered now: busy workers poll the event queue only
    /// while there are some.
    pub(crate) count: AtomicUsize,
}

#[derive(Default)]
struct Table {
    slots: Vec<Option<Arc<Source>>>,
    free: Vec<usize>,
}

impl Driver {
    /// Registers `fd` (non-blocking already) with no interest yet.
    pub(crate) fn register(&self, fd: RawFd) -> io::Result<Arc<Source>> {
        let mut t = self.sources.table.lock().unwrap_or_else(|e| e.into_inner());
        let key = t.free.pop().unwrap_or(t.slots.len());
        let source = Arc::new(Source {
            key,
            fd,
            state: Mutex::new(State::default()),
        });
        let (interest, mode) = if self.edge {
            (Event::all(key), PollMode::Edge)
        } else {
            (Event::none(key), PollMode::Oneshot)
        };
        // SAFETY: the caller's `Async` owns `fd` and deregisters it before
        // closing it.
        if let Err(e) = unsafe { self.poller.add_with_mode(fd, interest, mode) } {
            // A regular file (EPERM), a closed descriptor (EBADF): the key
            // goes back unused.
            if key < t.slots.len() {
                t.free.push(key);
            }
            return Err(e);
        }
        if key == t.slots.len() {
            t.slots.push(Some(source.clone()));
        } else {
            t.slots[key] = Some(source.clone());
        }
        self.sources.count.fetch_add(1, Ordering::Relaxed);
        Ok(source)
    }

    /// Removes `source` from the event queue and the table. Before its
    /// descriptor is closed.
    pub(crate) fn deregister(&self, source: &Source) {
        // SAFETY: still open (see `register`).
        let fd = unsafe { BorrowedFd::borrow_raw(source.fd) };
        // An error means the descriptor is gone from the queue already.
        let _ = self.poller.delete(fd);
        let mut t = self.sources.table.lock().unwrap_or_else(|e| e.into_inner());
        t.slots[source.key] = None;
        t.free.push(source.key);
        self.sources.count.fetch_sub(1, Ordering::Relaxed);
    }

    /// Dispatches the events of one turn.
    pub(crate) fn dispatch(&self, events: &polling::Events, woken: &mut Vec<Waker>) {
        if events.is_empty() {
            return;
        }
        let t = self.sources.table.lock().unwrap_or_else(|e| e.into_inner());
        for ev in events.iter() {
            // A source deregistered since the wait: its event is dropped.
            if let Some(Some(s)) = t.slots.get(ev.key) {
                s.on_event(&ev, woken);
            }
        }
    }
}
