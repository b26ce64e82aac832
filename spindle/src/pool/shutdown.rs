//! Shutdown: the terminate flag, the workers' exit vote, the last worker
//! out closing the task list, and the drain of what is left.

use super::registry::Registry;
use crate::facade::{Arc, Condvar, Mutex, Ordering};
use crate::job::JobRef;
use crate::worker::SlotBox;

/// The end of the workers, for pools whose threads a spawn handler
/// started (`pool/spawn_handler.rs`): the pool cannot join those, so its
/// shutdown waits here until the last worker has left its loop.
#[derive(Default)]
pub(crate) struct WorkerExits {
    all_gone: Mutex<bool>,
    changed: Condvar,
    /// Slots of workers whose `WorkerThread` was dropped without running:
    /// kept until the registry goes, as thieves may still read their
    /// (empty) hidden rings.
    never_ran: Mutex<Vec<SlotBox>>,
}

impl Registry {
    /// A worker found nothing anywhere while the pool terminates, and can
    /// exit (it runs on its own stack, no fiber suspended). Returns true
    /// once every worker has voted: the pool is quiescent and the worker
    /// may exit. Until then a voter runs nothing; if work for it shows up,
    /// it takes back its vote ([`unvote`](Self::unvote)) before taking it.
    ///
    /// Why not exit at once, as a worker without affine jobs could: a job
    /// still running elsewhere may queue work that only this worker may run
    /// (its mailbox). Exit is decided when the last worker votes; each
    /// vote comes after a check that no queue, mailboxes included, holds
    /// work, and a voter that takes work un-votes first, so when the count
    /// reaches zero no job runs and none is queued.
    pub(crate) fn vote_exit(&self, voted: &core::cell::Cell<bool>) -> bool {
        if voted.get() {
            return self.exit_decided();
        }
        // Order the check after whatever this thread queued and ran.
        crate::facade::fence(Ordering::SeqCst);
        if self.has_work() {
            return false;
        }
        voted.set(true);
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.sleep.wake_all();
            return true;
        }
        false
    }

    /// Called by each worker as its thread ends, after it left its loop:
    /// the last one out closes the task list and drains what is left
    /// (`close_tasks`). So shutdown completes whether the pool was dropped
    /// by an outside thread (which joins the workers, and so returns after
    /// this) or by one of its own jobs (which detaches them).
    pub(crate) fn worker_exited(this: &Arc<Registry>) {
        if this.exited.fetch_add(1, Ordering::AcqRel) + 1 == this.num_workers {
            Registry::close_tasks(this);
            let mut gone = this
                .exits
                .all_gone
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            *gone = true;
            this.exits.changed.notify_all();
        }
    }

    /// A worker's `WorkerThread` was dropped without running: the pool
    /// goes on a worker short, and that worker counts as exited (its vote
    /// and its exit are taken now).
    pub(crate) fn worker_never_ran(this: &Arc<Registry>, local: SlotBox) {
        this.exits
            .never_ran
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(local);
        if this.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            // The others voted already and sleep until exit is decided.
            this.sleep.wake_all();
        }
        Registry::worker_exited(this);
    }

    /// Blocks until every worker has left its loop (or never ran).
    pub(crate) fn wait_workers_exited(&self) {
        let mut gone = self
            .exits
            .all_gone
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while !*gone {
            gone = self
                .exits
                .changed
                .wait(gone)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// True once every worker voted to exit.
    pub(crate) fn exit_decided(&self) -> bool {
        self.live.load(Ordering::SeqCst) == 0
    }

    /// Takes back a vote (see `vote_exit`); false if exit is decided
    /// already.
    pub(crate) fn unvote(&self, voted: &core::cell::Cell<bool>) -> bool {
        debug_assert!(voted.get());
        let ok = self
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > 0).then_some(n + 1)
            })
            .is_ok();
        if ok {
            voted.set(false);
        }
        ok
    }

    pub(crate) fn is_terminating(&self) -> bool {
        self.terminating.load(Ordering::Acquire)
    }

    /// Starts shutdown: workers finish every queued job, then exit.
    pub(crate) fn terminate(&self) {
        self.terminating.store(true, Ordering::Release);
        self.sleep.wake_all();
    }

    /// After the workers have exited: cancels every unfinished task and
    /// runs what is left in the global queue (see `task/list.rs`).
    pub(crate) fn close_tasks(this: &Arc<Registry>) {
        this.tasks.close();
        this.drain_after_close();
        this.tasks.retire(this.clone());
    }

    /// Runs every job left in the global queue and the mailboxes on this
    /// thread. Called once
    /// the task list is closed, when no worker takes jobs any more: queued
    /// tasks see the pool terminating and cancel themselves.
    pub(crate) fn drain_after_close(&self) {
        // Pairs with the fence in an outside `schedule`'s `notify_work`
        // (push, fence, read `closed`): either it sees the list closed and
        // drains itself, or we see its job.
        crate::facade::fence(Ordering::SeqCst);
        loop {
            let mut jobs: Vec<JobRef> = self.injector.pop().into_iter().collect();
            if jobs.is_empty() {
                jobs = self
                    .slots
                    .iter()
                    .flat_map(|s| s.mailbox.take_all())
                    .collect();
            }
            if jobs.is_empty() {
                break;
            }
            for job in jobs {
                // SAFETY: taken from a queue, so ours to execute once.
                unsafe { job.execute() };
            }
        }
    }
}
