//! `JobError`: why a task produced no value.

use std::any::Any;
use std::fmt;

use crate::unwind::payload_message;

/// Why a task ended without a value: it panicked, or it was cancelled
/// ([`JoinHandle::abort`](crate::JoinHandle::abort), or its pool was
/// dropped first).
///
/// It is `Send + Sync` (the payload is reachable only by value), so `?`
/// turns it into a `Box<dyn Error + Send + Sync>` or an `anyhow::Error`.
///
/// ```
/// let pool = spindle::Pool::builder().workers(1).build()?;
/// let handle = pool.spawn_async(async { panic!("boom") });
/// let err: spindle::JobError = handle.join().unwrap_err();
/// assert!(err.is_panic());
/// let payload = err.into_panic();
/// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
/// # Ok::<(), spindle::Error>(())
/// ```
pub struct JobError {
    repr: Repr,
}

enum Repr {
    Panic(Payload),
    Cancelled,
}

/// A panic payload that may be shared between threads: `Sync` although the
/// payload need not be, because nothing reads it through a shared
/// reference except as a `&str` or `String` (the message, both `Sync`):
/// the payload itself leaves only by value.
struct Payload(Box<dyn Any + Send>);

// SAFETY: see the type's docs: `&Payload` gives access to the payload only
// through `message`, which reads it as `&str` or `String` (`Sync` types)
// after `downcast_ref`, whose `type_id` call reads no data of the value.
unsafe impl Sync for Payload {}

impl Payload {
    fn message(&self) -> &str {
        payload_message(&*self.0)
    }
}

impl JobError {
    pub(crate) fn panic(payload: Box<dyn Any + Send>) -> Self {
        Self {
            repr: Repr::Panic(Payload(payload)),
        }
    }

    pub(crate) fn cancelled() -> Self {
        Self {
            repr: Repr::Cancelled,
        }
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// True if the task was cancelled before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The panic's payload (to inspect, or to `std::panic::resume_unwind`).
    ///
    /// # Panics
    ///
    /// If the task was cancelled; see [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        self.try_into_panic()
            .expect("spindle: JobError::into_panic on a cancelled task")
    }

    /// The panic's payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, JobError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.0),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(p) => write!(f, "task panicked: {}", p.message()),
            Repr::Cancelled => f.write_str("task was cancelled"),
        }
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(p) => f
                .debug_tuple("JobError::Panic")
                .field(&p.message())
                .finish(),
            Repr::Cancelled => f.write_str("JobError::Cancelled"),
        }
    }
}

impl std::error::Error for JobError {}
