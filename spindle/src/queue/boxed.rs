//! A typed, owning layer over the raw deque: items are `Box<T>`, and what
//! is still queued when the last handle goes is dropped. Re-exported from
//! [`crate::deque`] as [`boxed`], [`BoxWorker`] and [`BoxStealer`].

use core::marker::PhantomData;
use core::ptr::NonNull;

use super::deque::{self, Steal, Stealer, Worker};
use crate::facade::Arc;

/// Creates a deque of boxed items with room for `capacity` of them: the
/// owning, typed form of [`deque::new`]. Items move in and out as
/// `Box<T>`; nothing here is `unsafe` to use.
///
/// # Panics
///
/// As [`deque::new`]: if `capacity` is zero, not a power of two, or above
/// [`deque::MAX_CAPACITY`].
///
/// ```
/// use spindle::deque::{self, Steal};
///
/// let (worker, stealer) = deque::boxed::<String>(8);
/// for word in ["a", "b", "c"] {
///     worker.push(Box::new(word.to_owned())).unwrap();
/// }
/// // The owner pops the newest, a thief steals the oldest.
/// assert_eq!(*worker.pop().unwrap(), "c");
/// let thief = std::thread::spawn(move || match stealer.steal() {
///     Steal::Success(item) => *item,
///     _ => unreachable!(),
/// });
/// assert_eq!(thief.join().unwrap(), "a");
/// // "b" is still queued: dropped with the last handle.
/// ```
///
/// Items cross threads, so the handles are `Send` only for `T: Send`:
///
/// ```compile_fail
/// let (worker, _stealer) = spindle::deque::boxed::<std::rc::Rc<u8>>(4);
/// std::thread::spawn(move || drop(worker));
/// ```
pub fn boxed<T>(capacity: usize) -> (BoxWorker<T>, BoxStealer<T>) {
    let (raw, stealer) = deque::new::<T>(capacity);
    let leftovers = Arc::new(Leftovers {
        stealer: stealer.clone(),
    });
    (
        BoxWorker {
            raw,
            _leftovers: leftovers.clone(),
            _items: PhantomData,
        },
        BoxStealer {
            raw: stealer,
            leftovers,
            _items: PhantomData,
        },
    )
}

/// The owner's end of a [`boxed`] deque: pushes and pops at the bottom.
/// `Send` (for `T: Send`) but not `Sync`: one thread at a time.
pub struct BoxWorker<T> {
    raw: Worker<T>,
    _leftovers: Arc<Leftovers<T>>,
    /// Owns `T`s: `Send` only if they are.
    _items: PhantomData<*const T>,
}

/// A thief's end of a [`boxed`] deque: steals the oldest item. Clone it
/// for every thief.
pub struct BoxStealer<T> {
    raw: Stealer<T>,
    leftovers: Arc<Leftovers<T>>,
    _items: PhantomData<*const T>,
}

/// Shared by every handle; dropped with the last one, when no other thread
/// can take from the deque any more.
struct Leftovers<T> {
    stealer: Stealer<T>,
}

// SAFETY: every item is a `Box<T>` moved into the deque by `push` and out
// of it exactly once (the deque's guarantee); moving a handle moves the
// right to take `T`s on another thread, which `T: Send` allows. The owner
// end stays `!Sync` (the raw `Worker` is).
unsafe impl<T: Send> Send for BoxWorker<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for BoxStealer<T> {}
// SAFETY: `&BoxStealer` only steals (atomics, each item to one thief) and
// reads lengths; a stolen `T` moves to the stealing thread (`T: Send`).
unsafe impl<T: Send> Sync for BoxStealer<T> {}

impl<T> Drop for Leftovers<T> {
    fn drop(&mut self) {
        // The last handle is gone: nobody else can push or take.
        loop {
            match self.stealer.steal() {
                Steal::Success(p) => drop(unbox(p)),
                Steal::Empty => break,
                Steal::Retry => {}
            }
        }
    }
}

/// Back to the box an item came from. Every item in a `boxed` deque came
/// from `Box::into_raw` in `BoxWorker::push`, and the deque hands each one
/// out (or refuses it back) exactly once, so this is its single owner.
fn unbox<T>(item: NonNull<T>) -> Box<T> {
    // SAFETY: the invariant above: a live `Box<T>` allocation, owned here.
    unsafe { Box::from_raw(item.as_ptr()) }
}

impl<T> BoxWorker<T> {
    /// Pushes `item` at the bottom; gives it back if the deque is full.
    pub fn push(&self, item: Box<T>) -> Result<(), Box<T>> {
        // SAFETY: `Box::into_raw` is never null.
        let p = unsafe { NonNull::new_unchecked(Box::into_raw(item)) };
        // A refused item is still ours.
        self.raw.push(p).map_err(unbox)
    }

    /// Takes the newest item.
    pub fn pop(&self) -> Option<Box<T>> {
        self.raw.pop().map(unbox)
    }

    /// Takes the oldest item (the one a thief would get).
    pub fn pop_oldest(&self) -> Option<Box<T>> {
        self.raw.pop_oldest().map(unbox)
    }

    /// Number of items queued.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }
}

impl<T> BoxStealer<T> {
    /// Takes the oldest item.
    pub fn steal(&self) -> Steal<Box<T>> {
        match self.raw.steal() {
            Steal::Success(p) => Steal::Success(unbox(p)),
            Steal::Empty => Steal::Empty,
            Steal::Retry => Steal::Retry,
        }
    }

    /// An estimate of the number of items.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True if the deque looked empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}

impl<T> Clone for BoxStealer<T> {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
            leftovers: self.leftovers.clone(),
            _items: PhantomData,
        }
    }
}

impl<T> core::fmt::Debug for BoxWorker<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BoxWorker")
            .field("len", &self.len())
            .finish()
    }
}

impl<T> core::fmt::Debug for BoxStealer<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BoxStealer")
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its drops.
    #[derive(Debug)]
    struct Tracked<'a>(u64, &'a AtomicUsize);
    impl Drop for Tracked<'_> {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn leftovers_and_refused_items_are_dropped_once() {
        let drops = AtomicUsize::new(0);
        {
            let (w, s) = boxed::<Tracked<'_>>(4);
            for i in 0..4 {
                w.push(Box::new(Tracked(i, &drops))).unwrap();
            }
            // Full: the item comes back, and is dropped here.
            let Err(back) = w.push(Box::new(Tracked(9, &drops))) else {
                panic!("a full deque took the item");
            };
            assert_eq!(back.0, 9);
            drop(back);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert_eq!(w.pop().map(|t| t.0), Some(3));
            assert_eq!(drops.load(Ordering::SeqCst), 2);
            let s2 = s.clone();
            drop(w);
            drop(s);
            // A stealer still holds the deque: nothing dropped yet.
            assert_eq!(drops.load(Ordering::SeqCst), 2);
            drop(s2);
        }
        assert_eq!(drops.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn every_item_is_taken_once_across_threads() {
        const N: u64 = if cfg!(miri) { 200 } else { 20_000 };
        let (w, s) = boxed::<u64>(256);
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    let mut empty = 0;
                    while empty < 1000 {
                        match s.steal() {
                            Steal::Success(b) => {
                                got.push(*b);
                                empty = 0;
                            }
                            Steal::Empty => {
                                empty += 1;
                                std::thread::yield_now();
                            }
                            Steal::Retry => {}
                        }
                    }
                    got
                })
            })
            .collect();
        let mut mine = Vec::new();
        for i in 0..N {
            let mut item = Box::new(i);
            while let Err(back) = w.push(item) {
                item = back;
                if let Some(b) = w.pop() {
                    mine.push(*b);
                }
            }
        }
        while let Some(b) = w.pop() {
            mine.push(*b);
        }
        for t in thieves {
            mine.extend(t.join().unwrap());
        }
        mine.sort_unstable();
        assert_eq!(mine, (0..N).collect::<Vec<_>>());
    }
}
