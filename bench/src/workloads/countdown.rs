//! [`Countdown`]: how the async workloads learn that their tasks are done,
//! the same for every runtime. An atomic count of the tasks still running,
//! plus a `futures-channel` oneshot that the task bringing the count to zero
//! fires; the root future awaits its receiver, so a waiting root never
//! blocks its thread (spindle's `block_on` caller runs jobs meanwhile).

use futures_channel::oneshot;
use std::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire},
};
use std::sync::{Arc, Mutex};

pub struct Countdown {
    remaining: AtomicUsize,
    done: Mutex<Option<oneshot::Sender<()>>>,
}

impl Countdown {
    /// A countdown of `tasks` (>= 1), and the receiver that fires when the
    /// last of them has counted down (see [`wait`]).
    pub fn new(tasks: usize) -> (Arc<Countdown>, oneshot::Receiver<()>) {
        assert!(tasks >= 1);
        let (tx, rx) = oneshot::channel();
        let countdown = Countdown {
            remaining: AtomicUsize::new(tasks),
            done: Mutex::new(Some(tx)),
        };
        (Arc::new(countdown), rx)
    }

    /// The tasks that have not counted down yet.
    pub fn remaining(&self) -> usize {
        self.remaining.load(Acquire)
    }

    /// Counts one task down; the last one fires the receiver. AcqRel: what
    /// every task did before counting down happens before the firing, so
    /// before the waiter reads it.
    pub fn count_down(&self) {
        if self.remaining.fetch_sub(1, AcqRel) == 1 {
            let tx = self.done.lock().unwrap().take();
            let tx = tx.expect("counted down past zero");
            // The waiter holds its receiver until it fires.
            tx.send(()).expect("the countdown's waiter is gone");
        }
    }
}

/// Waits until `rx`'s countdown reaches zero.
pub async fn wait(rx: oneshot::Receiver<()>) {
    rx.await
        .expect("the countdown's sender was dropped unfired");
}
