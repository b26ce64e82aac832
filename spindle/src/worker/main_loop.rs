//! The loop a worker thread runs for the life of the pool.

use super::{set_current, WorkerLocal};
use crate::registry::Registry;
use crate::sync::Arc;
use crate::util::Backoff;

/// Entry point of a worker thread: runs jobs until the pool terminates and
/// every queue is empty.
pub(crate) fn run_worker(local: Box<WorkerLocal>, registry: Arc<Registry>) {
    let prev = set_current(&*local);
    debug_assert!(prev.is_null(), "a worker thread already ran a slot");
    local.main_loop();
    set_current(prev);
    drop(local);
    drop(registry);
}

impl WorkerLocal {
    fn main_loop(&self) {
        let registry = self.registry();
        let sleep = &registry.sleep;
        let mut searching = false;
        let mut backoff = Backoff::new();
        loop {
            if let Some(job) = self.find_local() {
                if searching {
                    sleep.stop_searching(true);
                    searching = false;
                }
                self.execute(job);
                backoff.reset();
                continue;
            }
            // Read the flag *before* scanning: every job queued before
            // shutdown began is then visible to the scan (the flag's store
            // is a release after the submission, our load an acquire).
            let terminating = registry.is_terminating();
            if let Some(job) = self.find_remote() {
                if searching {
                    sleep.stop_searching(true);
                    searching = false;
                }
                self.execute(job);
                backoff.reset();
                continue;
            }
            // Only a thread that found nothing anywhere counts as searching:
            // a steal that succeeds at once costs no write to the shared
            // sleep state.
            if !searching {
                sleep.start_searching();
                searching = true;
            }
            // Nothing anywhere. Shutdown runs every queued job first, so we
            // leave only when the queues were empty after we saw the flag.
            if terminating {
                break;
            }
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            self.counters().parks.bump();
            sleep.sleep(self.index, || {
                registry.has_work() || registry.is_terminating()
            });
            backoff.reset();
        }
        if searching {
            sleep.stop_searching(false);
        }
    }
}
