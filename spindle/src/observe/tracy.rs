//! Feature `tracy`: the pool in the Tracy profiler. A zone per job, task
//! poll and graph node (named as in `observe`), each worker thread named,
//! and every fiber switch told to Tracy (`fiber_enter` on a switch to a
//! pooled fiber, `fiber_leave` on a switch back to the thread's own
//! stack), so zones belong to the fiber that opened them: a job that
//! waits shows as a gap on its fiber, not as a stuck thread.
//!
//! The calls go through [`client`]: Tracy's C client in a build, and a
//! recorder under `cfg(test)`, whose unit test checks the calls the pool
//! makes (capturing with Tracy's own tools needs its GUI or capture
//! program, which this crate's CI does not build).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// An open Tracy zone; it ends when dropped.
pub(crate) struct Zone(#[allow(dead_code)] client::Zone);

/// Opens a zone named `name` on the calling thread (`None` while no
/// Tracy client runs).
#[inline]
pub(crate) fn zone(name: &'static str) -> Option<Zone> {
    client::zone(name).map(Zone)
}

/// Names the calling thread in Tracy.
pub(crate) fn name_thread(name: &str) {
    client::thread_name(name);
}

/// The calling thread switches to fiber `to` (`root`: its own stack).
#[inline]
pub(crate) fn switch_to(to: usize, root: bool) {
    if root {
        client::fiber_leave();
    } else {
        client::fiber_enter(fiber_name(to));
    }
}

/// Starts the Tracy client (at pool build): from then on zones are sent.
pub(crate) fn start() {
    client::start();
}

/// Marks the end of a frame.
pub(crate) fn frame_mark() {
    client::frame_mark();
}

/// Tracy keeps a fiber's name pointer for the whole session: one leaked,
/// NUL-terminated name per fiber id (fibers are pooled, so few).
fn fiber_name(id: usize) -> &'static std::ffi::CStr {
    static NAMES: OnceLock<Mutex<HashMap<usize, &'static std::ffi::CStr>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let next = names.len();
    names.entry(id).or_insert_with(|| {
        let name = std::ffi::CString::new(format!("spindle fiber {next}"))
            .expect("no NUL in a formatted number");
        Box::leak(name.into_boxed_c_str())
    })
}

/// Tracy's client.
#[cfg(not(test))]
mod client {
    use std::ffi::CStr;
    use tracy_client::Client;

    /// Ends the zone when dropped.
    pub(super) struct Zone(#[allow(dead_code)] tracy_client::Span);

    #[inline]
    pub(super) fn zone(name: &'static str) -> Option<Zone> {
        Client::running().map(|c| Zone(c.span_alloc(Some(name), "", "", 0, 0)))
    }

    pub(super) fn thread_name(name: &str) {
        if let Some(c) = Client::running() {
            c.set_thread_name(name);
        }
    }

    pub(super) fn fiber_enter(name: &'static CStr) {
        if Client::is_running() {
            // SAFETY: the client runs, and `name` lives for the rest of
            // the process, as Tracy requires of a fiber's name.
            unsafe { tracy_client_sys::___tracy_fiber_enter(name.as_ptr()) }
        }
    }

    pub(super) fn fiber_leave() {
        if Client::is_running() {
            // SAFETY: the client runs; leaving when on no fiber is a no-op
            // in Tracy.
            unsafe { tracy_client_sys::___tracy_fiber_leave() }
        }
    }

    pub(super) fn start() {
        Client::start();
    }

    pub(super) fn frame_mark() {
        if let Some(c) = Client::running() {
            c.frame_mark();
        }
    }
}

/// A recorder in Tracy's place, for the unit test.
#[cfg(test)]
pub(crate) mod client {
    use std::ffi::CStr;
    use std::sync::Mutex;
    use std::thread::ThreadId;

    /// One call the pool made.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(crate) enum Call {
        ThreadName(String),
        ZoneBegin(&'static str),
        ZoneEnd,
        FiberEnter(String),
        FiberLeave,
        FrameMark,
    }

    pub(crate) static CALLS: Mutex<Vec<(ThreadId, Call)>> = Mutex::new(Vec::new());

    fn record(call: Call) {
        CALLS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((std::thread::current().id(), call));
    }

    pub(crate) struct Zone(());

    impl Drop for Zone {
        fn drop(&mut self) {
            record(Call::ZoneEnd);
        }
    }

    pub(super) fn zone(name: &'static str) -> Option<Zone> {
        record(Call::ZoneBegin(name));
        Some(Zone(()))
    }

    pub(super) fn thread_name(name: &str) {
        record(Call::ThreadName(name.to_owned()));
    }

    pub(super) fn fiber_enter(name: &'static CStr) {
        record(Call::FiberEnter(name.to_string_lossy().into_owned()));
    }

    pub(super) fn fiber_leave() {
        record(Call::FiberLeave);
    }

    pub(super) fn start() {}

    pub(super) fn frame_mark() {
        record(Call::FrameMark);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::client::{Call, CALLS};
    use std::collections::HashMap;
    use std::thread::ThreadId;

    /// A pool whose job waits on an event set later (its fiber suspends),
    /// a scope of named jobs, and a frame mark: the recorded calls name
    /// every worker, balance every zone per fiber, and enter a fiber on
    /// each switch away from a thread's stack and leave it on the way back.
    #[test]
    fn the_pool_names_threads_opens_zones_and_switches_fibers_in_tracy() {
        let pool = crate::Pool::builder()
            .workers(2)
            .thread_name("tracy-")
            .build()
            .unwrap();
        let ev = std::sync::Arc::new(crate::Event::manual());
        let (tx, rx) = std::sync::mpsc::channel();
        let ev2 = ev.clone();
        pool.spawn_with(crate::Options::new().name("tracy-waiter"), move || {
            ev2.wait();
            tx.send(()).unwrap();
        })
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        pool.scope(|s| {
            for _ in 0..4 {
                s.spawn_with(crate::Options::new().name("tracy-job"), |_| {})
                    .unwrap();
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        ev.set();
        rx.recv().unwrap();
        crate::frame_mark();
        let switches: u64 = pool.stats().workers.iter().map(|w| w.fiber_switches).sum();
        drop(pool);

        let calls = CALLS.lock().unwrap().clone();
        // This test's workers: the threads that named themselves tracy-*.
        let workers: Vec<ThreadId> = calls
            .iter()
            .filter(|(_, c)| matches!(c, Call::ThreadName(n) if n.starts_with("tracy-")))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(workers.len(), 2, "{calls:?}");
        let mine = |t: &ThreadId| workers.contains(t);
        // Scope jobs may run on the calling thread too: count zones
        // everywhere (the names are this test's own).
        let zone_names: Vec<_> = calls
            .iter()
            .filter_map(|(_, c)| match c {
                Call::ZoneBegin(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(zone_names.iter().filter(|n| **n == "tracy-job").count(), 4);
        assert_eq!(
            zone_names.iter().filter(|n| **n == "tracy-waiter").count(),
            1
        );
        // Per thread, per fiber: zones balance.
        let mut depth: HashMap<(ThreadId, Option<String>), i64> = HashMap::new();
        let mut on: HashMap<ThreadId, Option<String>> = HashMap::new();
        let mut enters = 0u64;
        let mut leaves = 0u64;
        for (t, c) in calls.iter().filter(|(t, _)| mine(t)) {
            let fiber = on.entry(*t).or_insert(None).clone();
            match c {
                Call::ZoneBegin(_) => *depth.entry((*t, fiber)).or_default() += 1,
                Call::ZoneEnd => {
                    let d = depth.entry((*t, fiber)).or_default();
                    *d -= 1;
                    assert!(*d >= 0, "a zone ended on a fiber that did not open it");
                }
                Call::FiberEnter(name) => {
                    enters += 1;
                    on.insert(*t, Some(name.clone()));
                }
                Call::FiberLeave => {
                    leaves += 1;
                    on.insert(*t, None);
                }
                _ => {}
            }
        }
        assert!(depth.values().all(|d| *d == 0), "{depth:?}");
        // One call per switch (a switch after `stats` was read may add one).
        assert!(
            enters + leaves >= switches,
            "{enters} + {leaves} < {switches}"
        );
        let fibers = cfg!(all(
            any(target_arch = "x86_64", target_arch = "aarch64"),
            not(miri)
        ));
        assert!(switches > 0 || !fibers, "the waiter never suspended");
        if switches > 0 {
            assert!(enters > 0 && leaves > 0);
        }
        assert!(calls.iter().any(|(_, c)| *c == Call::FrameMark));
    }
}
