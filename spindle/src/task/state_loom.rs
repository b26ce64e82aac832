//! Loom models of the task state machine (`state.rs`): the real `State`,
//! driven by the same sequences of transitions the task code makes, with
//! threads standing in for the poller, a waker, the handle and abort.
//!
//! Each model counts what the protocol must do exactly once (queue the
//! task, drop the future, drop the output, free the memory) and asserts
//! it.

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

use super::state::{Abort, State, ToIdle, ToRunning, Wake};

/// Counts of the side effects the protocol orders.
#[derive(Default)]
struct Effects {
    queued: AtomicUsize,
    future_dropped: AtomicUsize,
    output_dropped: AtomicUsize,
    freed: AtomicUsize,
}

impl Effects {
    fn get(c: &AtomicUsize) -> usize {
        c.load(Ordering::SeqCst)
    }
    fn bump(c: &AtomicUsize) {
        c.fetch_add(1, Ordering::SeqCst);
    }
}

/// A spawned task taken from its queue, as `raw::run` does: to RUNNING.
fn start(state: &State) {
    assert_eq!(state.to_running(), ToRunning::Poll);
}

/// What `raw::complete` does with the word: complete, drop the output if
/// nobody joins, release the poll's and the owned references.
fn complete(state: &State, fx: &Effects) {
    let prev = state.to_complete();
    if !prev.has_join_interest() {
        Effects::bump(&fx.output_dropped);
    }
    if state.release(2) {
        Effects::bump(&fx.freed);
    }
}

/// A `Waker::wake` (by value, consuming a reference the caller took) on
/// another thread, recording what the wake did.
fn wake_by_val_elsewhere(state: &Arc<State>, fx: &Arc<Effects>) -> thread::JoinHandle<()> {
    let (state, fx) = (state.clone(), fx.clone());
    thread::spawn(move || match state.wake_by_val() {
        Wake::Submit => Effects::bump(&fx.queued),
        Wake::Nothing => {}
        Wake::Dealloc => Effects::bump(&fx.freed),
    })
}

/// What the `JoinHandle`'s drop does.
fn drop_handle(state: &State, fx: &Effects) {
    let prev = state.drop_join_interest();
    if prev.is_complete() {
        Effects::bump(&fx.output_dropped);
    }
    if state.release(1) {
        Effects::bump(&fx.freed);
    }
}

/// A wake that arrives while the task is being polled: either the poller
/// sees `NOTIFIED` and requeues, or the wake comes after the poll and
/// queues it itself. Never both (two queue entries: polled twice at
/// once), never neither (a lost wake-up).
///
/// Catches: `wake_by_val` queueing a running task; `to_idle` ignoring a
/// notification that came during the poll; reference leaks or double
/// frees on either path.
#[test]
fn wake_during_poll_queues_once() {
    loom::model(|| {
        let state = Arc::new(State::new());
        let fx = Arc::new(Effects::default());
        start(&state);
        // The waker is a clone made before the poll (a reference of its own).
        state.acquire();
        let waker = wake_by_val_elsewhere(&state, &fx);
        match state.to_idle(false) {
            ToIdle::Requeue => Effects::bump(&fx.queued),
            ToIdle::Idle => {}
            ToIdle::Cancel => panic!("nobody aborted"),
        }
        waker.join().unwrap();
        assert_eq!(Effects::get(&fx.queued), 1, "queued {:?}", state.load());
        // Run it once more to completion, then drop the handle: the task
        // must be freed exactly once.
        start(&state);
        complete(&state, &fx);
        drop_handle(&state, &fx);
        assert_eq!(Effects::get(&fx.freed), 1);
        assert_eq!(Effects::get(&fx.output_dropped), 1);
    });
}

/// A task that yields in place (`yield_async` on its own waker: no wake
/// call, the poller's `to_idle(true)` marks it) while another thread
/// wakes it: it is queued exactly once, by the poller, whenever the wake
/// lands.
///
/// Catches: a `to_idle(true)` that leaves `NOTIFIED` clear (the later
/// wake queues the task a second time), or that drops the poll's reference
/// instead of handing it to the queue entry (freed while queued).
#[test]
fn yield_in_place_racing_a_wake_queues_once() {
    loom::model(|| {
        let state = Arc::new(State::new());
        let fx = Arc::new(Effects::default());
        start(&state);
        state.acquire(); // a waker clone held by another thread
        let waker = wake_by_val_elsewhere(&state, &fx);
        match state.to_idle(true) {
            ToIdle::Requeue => Effects::bump(&fx.queued),
            other => panic!("a yield in place must requeue, got {other:?}"),
        }
        waker.join().unwrap();
        assert_eq!(Effects::get(&fx.queued), 1, "queued {:?}", state.load());
        start(&state);
        complete(&state, &fx);
        drop_handle(&state, &fx);
        assert_eq!(Effects::get(&fx.freed), 1);
        assert_eq!(Effects::get(&fx.output_dropped), 1);
    });
}

/// A waker fired (by value) as the task completes, with the handle
/// dropped meanwhile: the wake queues nothing, and whichever of the
/// three drops the last reference frees the task, once.
///
/// Catches: a wake of a complete task that queues it (a poll after
/// completion), a reference released twice or never.
#[test]
fn wake_after_complete_frees_once() {
    loom::model(|| {
        let state = Arc::new(State::new());
        let fx = Arc::new(Effects::default());
        start(&state);
        state.acquire(); // a waker held by some other thread
        let waker = wake_by_val_elsewhere(&state, &fx);
        let (s3, f3) = (state.clone(), fx.clone());
        let handle = thread::spawn(move || drop_handle(&s3, &f3));
        // The poll returned Ready.
        complete(&state, &fx);
        waker.join().unwrap();
        handle.join().unwrap();
        // A wake that came before completion set NOTIFIED on the running
        // task (no queue entry); after completion it queues nothing.
        assert_eq!(Effects::get(&fx.queued), 0);
        assert_eq!(Effects::get(&fx.freed), 1);
        assert_eq!(Effects::get(&fx.output_dropped), 1);
    });
}

/// `abort` while the task is being polled: either the poller sees
/// `CANCELLED` after the poll and drops the future, or the abort comes
/// after the poll, finds the task idle and queues it, and that run
/// cancels. The future is dropped exactly once.
///
/// Catches: an abort of a running task that queues it (two pollers), an
/// abort lost between the poll's end and `to_idle`, a cancelled run that
/// polls.
#[test]
fn abort_during_poll_drops_the_future_once() {
    loom::model(|| {
        let state = Arc::new(State::new());
        let fx = Arc::new(Effects::default());
        start(&state);
        let (s2, f2) = (state.clone(), fx.clone());
        let aborter = thread::spawn(move || {
            if s2.abort() == Abort::Submit {
                Effects::bump(&f2.queued);
            }
        });
        match state.to_idle(false) {
            ToIdle::Cancel => {
                Effects::bump(&fx.future_dropped);
                complete(&state, &fx);
            }
            ToIdle::Idle => {}
            ToIdle::Requeue => panic!("nobody woke it"),
        }
        aborter.join().unwrap();
        if Effects::get(&fx.queued) == 1 {
            // The queued run (made by abort) must cancel, not poll.
            assert_eq!(state.to_running(), ToRunning::Cancel);
            Effects::bump(&fx.future_dropped);
            complete(&state, &fx);
        }
        assert_eq!(Effects::get(&fx.future_dropped), 1);
        drop_handle(&state, &fx);
        assert_eq!(Effects::get(&fx.freed), 1);
        assert_eq!(Effects::get(&fx.output_dropped), 1);
    });
}

/// The handle is dropped while the task completes: exactly one of them
/// drops the output (the completer if the handle was gone, the handle if
/// the task was complete), and the last reference frees the task once.
///
/// Catches: an output dropped twice (both think they own it) or leaked
/// (neither does), a join waker read after the handle took the slot back.
#[test]
fn handle_drop_racing_completion_drops_output_once() {
    loom::model(|| {
        let state = Arc::new(State::new());
        let fx = Arc::new(Effects::default());
        start(&state);
        // The handle registered a join waker earlier.
        state.set_join_waker().unwrap();
        let (s2, f2) = (state.clone(), fx.clone());
        let handle = thread::spawn(move || drop_handle(&s2, &f2));
        let prev = state.to_complete();
        if prev.has_join_interest() {
            // Would wake the join waker: the slot must still be the task's.
            assert!(prev.has_join_waker());
        } else {
            Effects::bump(&fx.output_dropped);
        }
        if state.release(2) {
            Effects::bump(&fx.freed);
        }
        handle.join().unwrap();
        assert_eq!(Effects::get(&fx.output_dropped), 1);
        assert_eq!(Effects::get(&fx.freed), 1);
    });
}

/// Pool shutdown racing a wake from outside the pool, after the workers
/// are gone: the wake may queue the idle task on a queue that nobody will
/// drain. Shutdown must drop the future whether the wake came first (it
/// takes the queued task; the entry, if ever run, only drops its
/// reference) or second (the wake then finds the task complete).
///
/// Catches: a shutdown that leaves a queued task to its entry (the old
/// rule, mutation-checked: the future is never dropped), an entry that
/// runs a task shutdown took, reference slips on the `Skip` path.
#[test]
fn shutdown_racing_a_wake_drops_the_future_once() {
    use super::state::Shutdown;
    loom::model(|| {
        let state = Arc::new(State::new());
        let fx = Arc::new(Effects::default());
        start(&state);
        assert_eq!(state.to_idle(false), ToIdle::Idle);
        state.acquire(); // the outside waker's reference
                         // Pushed on a queue nobody drains now, if queued.
        let waker = wake_by_val_elsewhere(&state, &fx);
        // The close pass: a temporary reference, then shutdown.
        state.acquire();
        if state.shutdown() == Shutdown::Cancel {
            Effects::bump(&fx.future_dropped);
            // Completion releases only the owned reference here.
            let prev = state.to_complete();
            assert!(prev.has_join_interest());
            if state.release(1) {
                Effects::bump(&fx.freed);
            }
        }
        if state.release(1) {
            Effects::bump(&fx.freed);
        }
        waker.join().unwrap();
        assert_eq!(Effects::get(&fx.future_dropped), 1, "{:?}", state.load());
        if Effects::get(&fx.queued) == 1 {
            // Should the entry run after all (a late drain), it only
            // drops its reference.
            assert_eq!(state.to_running(), ToRunning::Skip);
            if state.release(1) {
                Effects::bump(&fx.freed);
            }
        }
        drop_handle(&state, &fx);
        assert_eq!(Effects::get(&fx.freed), 1);
    });
}
