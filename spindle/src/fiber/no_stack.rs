//! Fiber stacks on a target without fibers: a type with no values.
//!
//! The pool's code names `Stack` on every target, but the builder asks for
//! stacks only where `context::SUPPORTED` is true, which it is not here.
//! An uninhabited type makes that a fact the compiler checks: no stack,
//! hence no pooled fiber and no switch, can exist.

use crate::Error;

/// No fiber stack exists on this target.
pub(crate) enum Stack {}

impl Stack {
    /// Always fails: this target has no fiber stacks. (Not reached: the
    /// builder gives no slot fibers where `context::SUPPORTED` is false.)
    pub(crate) fn new(usable_size: usize) -> Result<Stack, Error> {
        Err(Error::FiberStack {
            size: usable_size,
            source: std::io::ErrorKind::Unsupported.into(),
        })
    }

    /// Never called: there is no `Stack` to call it on.
    pub(crate) fn top(&self) -> *mut u8 {
        match *self {}
    }

    /// Never called: there is no `Stack` to call it on.
    pub(crate) fn usable_size(&self) -> usize {
        match *self {}
    }
}
