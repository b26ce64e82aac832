//! Feature `tracing`: the spans and events spindle gives a `tracing`
//! subscriber. Run with `cargo test -p spindle --features tracing`.
//!
//! A recording subscriber checks what a subscriber's per-thread span stack
//! needs: on every thread, each `exit` is of the innermost entered span.
//! A job that waits on a fiber must not stay entered under the jobs its
//! worker runs meanwhile: its span is exited at the switch and entered
//! again when it resumes.
#![cfg(all(not(loom), feature = "tracing"))]

mod common;

use spindle::{Options, Pool};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Metadata, Subscriber};

#[derive(Default)]
struct Log {
    /// Span id → (span name, field `name`).
    spans: HashMap<u64, (String, String)>,
    /// Per thread: the entered spans, innermost last.
    stacks: HashMap<ThreadId, Vec<u64>>,
    /// Exits that were not of the innermost entered span.
    misnested: Vec<String>,
    /// Event messages.
    events: Vec<String>,
    /// Spans entered while another of this test's job spans was entered on
    /// the same thread (nested), by name.
    entered: Vec<String>,
}

struct Recorder {
    next: AtomicU64,
    log: Arc<Mutex<Log>>,
}

struct NameField(String);

impl Visit for NameField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "name" || field.name() == "message" {
            self.0 = value.to_owned();
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "name" || field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut name = NameField(String::new());
        attrs.record(&mut name);
        self.log
            .lock()
            .unwrap()
            .spans
            .insert(id, (attrs.metadata().name().to_owned(), name.0));
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut msg = NameField(String::new());
        event.record(&mut msg);
        self.log.lock().unwrap().events.push(msg.0);
    }
    fn enter(&self, span: &Id) {
        let mut log = self.log.lock().unwrap();
        let name = log.spans[&span.into_u64()].1.clone();
        log.entered.push(name);
        log.stacks
            .entry(std::thread::current().id())
            .or_default()
            .push(span.into_u64());
    }
    fn exit(&self, span: &Id) {
        let mut log = self.log.lock().unwrap();
        let me = std::thread::current().id();
        let top = log.stacks.entry(me).or_default().pop();
        if top != Some(span.into_u64()) {
            let names = |id: Option<u64>| id.and_then(|i| log.spans.get(&i).cloned());
            let what = format!(
                "exit of {:?} with {:?} innermost",
                names(Some(span.into_u64())),
                names(top)
            );
            log.misnested.push(what);
        }
    }
}

#[test]
fn spans_and_events_reach_the_subscriber_and_nest_per_thread_across_fiber_switches() {
    let log = Arc::new(Mutex::new(Log::default()));
    tracing::subscriber::set_global_default(Recorder {
        next: AtomicU64::new(0),
        log: log.clone(),
    })
    .unwrap();
    common::within(60, "tracing", move || {
        let pool = Pool::builder().workers(2).build().unwrap();
        // A job that waits on an event set from outside; meanwhile its
        // worker runs other jobs.
        let (ev, rx) = common::waiting_job(&pool, "waiter");
        std::thread::sleep(Duration::from_millis(20));
        let counter = spindle::Counter::new();
        pool.dispatch_with(
            Options::new().name("meanwhile"),
            &counter,
            (0..8).map(|_| || {}),
        )
        .unwrap();
        pool.wait(&counter);
        std::thread::sleep(Duration::from_millis(20));
        ev.set();
        rx.recv().unwrap();
        let v = pool.block_on(pool.spawn_async(async { 5 })).unwrap();
        assert_eq!(v, 5);
        let g = pool.graph();
        g.node("integrate", || {});
        g.build().unwrap().run().wait();
        // A panic nobody handles: a WARN event, not a line on stderr.
        pool.spawn(|| panic!("lost panic"));
        let switches: u64 = pool.stats().workers.iter().map(|w| w.fiber_switches).sum();
        drop(pool);

        let log = log.lock().unwrap();
        assert!(log.misnested.is_empty(), "{:?}", log.misnested);
        let spans = |kind: &str, name: &str| {
            log.spans
                .values()
                .filter(|(k, n)| k == kind && n == name)
                .count()
        };
        assert_eq!(spans("job", "waiter"), 1);
        assert_eq!(spans("job", "meanwhile"), 8);
        assert_eq!(spans("node", "integrate"), 1);
        assert!(log.spans.values().any(|(k, _)| k == "task"));
        assert!(
            switches > 0 || !common::FIBERS,
            "the waiter never suspended"
        );
        if switches > 0 {
            // Exited at the switch, entered again on resuming.
            let waiter_enters = log.entered.iter().filter(|n| *n == "waiter").count();
            assert!(waiter_enters >= 2, "{waiter_enters}");
            assert!(log.events.iter().any(|e| e == "fiber_switch"));
        }
        assert!(log.events.iter().any(|e| e == "park"));
        assert!(
            log.events
                .iter()
                .any(|e| e.contains("a job panicked with no one to join it (lost panic)")),
            "{:?}",
            log.events
                .iter()
                .filter(|e| e.contains("panic"))
                .collect::<Vec<_>>()
        );
    });
}
