//! Feature `tracing`: spans and events of the `tracing` crate, at `TRACE`
//! level with target `spindle`. Spans `job`, `task` and `node` carry the
//! work's name as field `name`; events: `steal` (field `victim`),
//! `global_queue_pop`, `park`, `unpark`, `wake` (field `slot`) and
//! `fiber_switch` (field `to`).
//!
//! A subscriber keeps a stack of entered spans per thread. A fiber switch
//! would leave the suspended job's spans on that stack under the next
//! job's, so the spans spindle entered on the running context are kept in
//! a thread-local list: a switch exits them (innermost first) and the
//! context's return enters them again.

use std::cell::RefCell;

use super::{Event, Kind};

thread_local! {
    /// The spans spindle entered on the running context, outermost first.
    static OPEN: RefCell<Vec<tracing::Span>> = const { RefCell::new(Vec::new()) };
}

fn enter(span: &tracing::Span) {
    span.with_subscriber(|(id, dispatch)| dispatch.enter(id));
}

fn exit(span: &tracing::Span) {
    span.with_subscriber(|(id, dispatch)| dispatch.exit(id));
}

/// A span spindle entered; exits it when dropped.
pub(crate) struct Open(bool);

#[inline]
pub(crate) fn open(kind: Kind, name: &'static str) -> Open {
    let span = match kind {
        Kind::Job => tracing::trace_span!(target: "spindle", "job", name),
        Kind::Task => tracing::trace_span!(target: "spindle", "task", name),
        Kind::Node => tracing::trace_span!(target: "spindle", "node", name),
    };
    if span.is_disabled() {
        return Open(false);
    }
    enter(&span);
    OPEN.with(|o| o.borrow_mut().push(span));
    Open(true)
}

impl Drop for Open {
    fn drop(&mut self) {
        if self.0 {
            // The innermost span of this context is this one: spans close
            // in reverse order, and a switch restores the context's list.
            if let Some(span) = OPEN.with(|o| o.borrow_mut().pop()) {
                exit(&span);
            }
        }
    }
}

pub(crate) fn event(event: Event) {
    match event {
        Event::Steal { victim } => tracing::trace!(target: "spindle", victim, "steal"),
        Event::InjectorPop => tracing::trace!(target: "spindle", "global_queue_pop"),
        Event::Park => tracing::trace!(target: "spindle", "park"),
        Event::Unpark => tracing::trace!(target: "spindle", "unpark"),
        Event::Wake { slot } => tracing::trace!(target: "spindle", slot, "wake"),
    }
}

/// The spans a suspended context had entered.
pub(crate) struct Saved(Vec<tracing::Span>);

pub(crate) fn suspend(to: usize) -> Saved {
    let spans = OPEN.with(|o| core::mem::take(&mut *o.borrow_mut()));
    for span in spans.iter().rev() {
        exit(span);
    }
    tracing::trace!(target: "spindle", to, "fiber_switch");
    Saved(spans)
}

pub(crate) fn resume(saved: Saved) {
    for span in &saved.0 {
        enter(span);
    }
    OPEN.with(|o| *o.borrow_mut() = saved.0);
}
