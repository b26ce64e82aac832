//! Timers for async tasks: [`sleep`], [`sleep_until`], [`interval`] and
//! [`timeout`], driven by the pool's own workers.
//!
//! There is no timer thread: a worker with nothing to do sleeps in the
//! pool's event driver until the earliest deadline and wakes the tasks
//! whose deadline passed; busy workers check the earliest deadline every
//! few jobs. A timer belongs to the pool of the task (or job) that first
//! polls it, or to the global pool when polled outside every pool; no
//! thread is made per timer, and a timer dropped before it fires is taken
//! out of the driver at once.
//!
//! Resolution: the OS's event-queue timeout, one millisecond or better on
//! Linux. A timer never fires early. It fires late by the wake-up latency
//! of a sleeping worker, or, while every worker is busy, by up to the time
//! a worker takes to come back to its loop (one job).
//!
//! ```
//! use std::time::{Duration, Instant};
//! let pool = spindle::Pool::builder().workers(2).build()?;
//! let start = Instant::now();
//! let n = pool.block_on(async {
//!     spindle::time::sleep(Duration::from_millis(20)).await;
//!     let late = spindle::time::timeout(
//!         Duration::from_millis(10),
//!         spindle::time::sleep(Duration::from_secs(60)),
//!     )
//!     .await;
//!     assert!(late.is_err());
//!     7
//! });
//! assert_eq!(n, 7);
//! assert!(start.elapsed() >= Duration::from_millis(30));
//! # Ok::<(), spindle::Error>(())
//! ```

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::driver::timers::Timer;
use crate::driver::Driver;

/// How far "never" is: a deadline past `Instant`'s range is clamped here
/// (about 30 years), which no program waits out.
const FAR_FUTURE: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);

fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).unwrap_or_else(|| now + FAR_FUTURE)
}

/// The driver of the pool running this thread, or of the global pool.
pub(crate) fn current_driver() -> Arc<Driver> {
    crate::worker::with_current(|w| w.map(|w| w.registry().driver().clone()))
        .unwrap_or_else(|| crate::pool::global().registry().driver().clone())
}

/// Waits until `duration` has passed.
///
/// A `Duration` too large for the clock (`Duration::MAX`) waits "forever"
/// (about 30 years). See the [module docs](self) for resolution.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(deadline_after(duration))
}

/// Waits until `deadline`; a deadline in the past is ready at once.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels the
/// timer.
#[must_use = "a Sleep does nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    /// Once polled: the queued timer and its driver.
    timer: Option<(Arc<Timer>, Arc<Driver>)>,
}

impl core::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("queued", &self.timer.is_some())
            .finish()
    }
}

impl Sleep {
    fn new(deadline: Instant) -> Self {
        Self {
            deadline,
            timer: None,
        }
    }

    /// When it is ready.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        match &self.timer {
            Some((t, _)) => t.fired() || Instant::now() >= self.deadline,
            None => Instant::now() >= self.deadline,
        }
    }

    /// Waits for `deadline` instead (cancelling the queued timer).
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some((t, driver)) = self.timer.take() {
            if !t.fired() {
                driver.remove_timer(&t);
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some((t, _)) = &self.timer {
            return if t.register(cx.waker()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            };
        }
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let driver = current_driver();
        let timer = Timer::new(self.deadline, cx.waker().clone());
        driver.add_timer(timer.clone());
        self.timer = Some((timer, driver));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Ticks every `period`, the first tick at once. Panics if `period` is
/// zero.
///
/// A tick that comes late does not make the next ones come sooner: missed
/// ticks are skipped and the next one is the first multiple of `period`
/// (counted from the start) that is still ahead.
///
/// ```
/// use std::time::Duration;
/// let pool = spindle::Pool::builder().workers(1).build()?;
/// pool.block_on(async {
///     let mut every = spindle::time::interval(Duration::from_millis(5));
///     let first = every.tick().await;
///     let third = { every.tick().await; every.tick().await };
///     assert!(third - first >= Duration::from_millis(10));
/// });
/// # Ok::<(), spindle::Error>(())
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "spindle::time::interval: the period is zero"
    );
    let start = Instant::now();
    Interval {
        start,
        period,
        sleep: Sleep::new(start),
    }
}

/// The stream of [`interval`]'s ticks; [`tick`](Interval::tick) waits for
/// the next.
#[derive(Debug)]
pub struct Interval {
    start: Instant,
    period: Duration,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns when it was due.
    pub fn tick(&mut self) -> Tick<'_> {
        Tick { interval: self }
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// `tick`'s poll: ready once the current deadline passed, and then
    /// aims at the next.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let due = self.sleep.deadline();
        // The next multiple of the period after now (skipping missed ones).
        let now = Instant::now();
        let mut next = due + self.period;
        if next <= now {
            let behind = now.duration_since(self.start).as_nanos();
            let p = self.period.as_nanos();
            let k = behind / p + 1;
            next = self.start + Duration::from_nanos(u64::try_from(k * p).unwrap_or(u64::MAX));
        }
        self.sleep.reset(next);
        Poll::Ready(due)
    }
}

/// The future of [`Interval::tick`].
#[derive(Debug)]
#[must_use = "a Tick does nothing unless awaited"]
pub struct Tick<'a> {
    interval: &'a mut Interval,
}

impl Future for Tick<'_> {
    type Output = Instant;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        self.interval.poll_tick(cx)
    }
}

/// Runs `future` for at most `duration`: its output, or
/// `Err(Elapsed)` if the time ran out first (the future is dropped then).
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// The future of [`timeout`].
#[derive(Debug)]
#[must_use = "a Timeout does nothing unless awaited"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is pinned with `self` (structural pinning): it
        // is never moved out or handed out unpinned, and `Timeout` has no
        // `Drop` of its own; `sleep` is `Unpin` and not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above: `future` stays where `self` is pinned.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(out) = future.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`timeout`] whose time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl core::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Timers queued in the current pool's driver (or the global pool's):
/// for tests that check cancelled timers leave nothing behind.
#[doc(hidden)]
pub fn __timers_queued() -> usize {
    current_driver().timers_queued()
}
