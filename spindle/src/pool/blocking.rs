//! The threads `spawn_blocking` runs calls on: a set apart from the
//! workers, started as calls come (up to a cap), each ending after a
//! keep-alive with nothing to do.
//!
//! A call is queued; an idle thread takes it, or, if none is idle and the
//! cap allows, a new thread starts for it. The caller's task awaits the
//! result through a one-shot slot (`Slot`). A thread never unwinds: the
//! call's panic is caught there and re-raised in the awaiting task, so
//! its `JoinHandle` reports it as the task's panic.
//!
//! Dropping the pool does not wait for blocking calls: the threads finish
//! what was queued and exit on their own (they hold the queue, not the
//! pool).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Settings from the builder.
pub(crate) struct Config {
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) name: String,
}

type Call = Box<dyn FnOnce() + Send>;

/// The shared queue and counts.
struct Shared {
    state: Mutex<State>,
    cond: Condvar,
    config: Config,
}

struct State {
    queue: VecDeque<Call>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for a call.
    idle: usize,
    /// Idle threads notified and not yet awake: each will take a call.
    notified: usize,
}

/// A pool's blocking threads.
pub(crate) struct Blocking {
    shared: Arc<Shared>,
}

impl Blocking {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    notified: 0,
                }),
                cond: Condvar::new(),
                config,
            }),
        }
    }

    /// Queues `call`, starting a thread for it if no idle one will take it
    /// and the cap allows. If the system refuses a thread while none runs,
    /// the call is dropped unrun (its awaiting task learns it from its
    /// slot); with threads running, it waits for one of them.
    pub(crate) fn submit(&self, call: Call) {
        let shared = &self.shared;
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.queue.push_back(call);
        if state.idle > state.notified {
            state.notified += 1;
            drop(state);
            shared.cond.notify_one();
            return;
        }
        if state.threads >= shared.config.max_threads {
            return;
        }
        state.threads += 1;
        drop(state);
        let s = shared.clone();
        let started = std::thread::Builder::new()
            .name(shared.config.name.clone())
            .spawn(move || run(&s));
        if started.is_err() {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            state.threads -= 1;
            if state.threads == 0 {
                // Nobody will run what is queued: dropping the calls tells
                // their tasks (see `Slot`).
                let dropped: Vec<Call> = state.queue.drain(..).collect();
                drop(state);
                drop(dropped);
            }
        }
    }

    /// Threads alive now (for tests).
    pub(crate) fn threads(&self) -> usize {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .threads
    }
}

/// A blocking thread: takes calls until none came for the keep-alive.
fn run(shared: &Shared) {
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(call) = state.queue.pop_front() {
            drop(state);
            // Calls catch their own panics (see `Slot`); this is the
            // backstop, so a thread never dies with its count held.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
            state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        state.idle += 1;
        let (s, timeout) = shared
            .cond
            .wait_timeout(state, shared.config.keep_alive)
            .unwrap_or_else(|e| e.into_inner());
        state = s;
        state.idle -= 1;
        if state.notified > 0 {
            state.notified -= 1;
        } else if timeout.timed_out() && state.queue.is_empty() {
            state.threads -= 1;
            return;
        }
    }
}
