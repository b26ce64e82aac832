//! Fibers: stackful contexts that a waiting job suspends into, so its
//! worker moves on.

pub(crate) mod context;
