//! Per-job affinity inside the pool: the set of workers a job may run on,
//! and the pool's table of the sets in use.
//!
//! A job carries its set as a small id in its header's state word (see
//! `job/header.rs`), so a task that is woken again and again finds its set
//! without holding it. Ids are handed out by [`AffinitySets::intern`]: one
//! per distinct set, for the life of the pool.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Error;
use crate::options::{Affinity, AffinityKind};
use crate::sync::spin_lock::SpinLock;

/// The most distinct sets one pool keeps (ids `1..=MAX_SETS`; 0 is "any
/// worker"): what fits the header's id bits.
pub(crate) const MAX_SETS: usize = (1 << 20) - 1;

/// A set of worker indices, as a bitmap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct WorkerSet {
    bits: Box<[u64]>,
    len: usize,
}

impl WorkerSet {
    fn new(workers: usize, members: impl IntoIterator<Item = usize>) -> Self {
        let mut bits = vec![0u64; workers.div_ceil(64)].into_boxed_slice();
        for m in members {
            bits[m / 64] |= 1 << (m % 64);
        }
        let len = bits.iter().map(|w| w.count_ones() as usize).sum();
        Self { bits, len }
    }

    /// True if worker `index` is in the set (false for any index past the
    /// pool's workers, the participant slot's included).
    #[inline]
    pub(crate) fn contains(&self, index: usize) -> bool {
        self.bits
            .get(index / 64)
            .is_some_and(|w| w & (1 << (index % 64)) != 0)
    }

    /// The `k`th member (`k < len`), in index order.
    pub(crate) fn nth(&self, mut k: usize) -> usize {
        for (i, &w) in self.bits.iter().enumerate() {
            let n = w.count_ones() as usize;
            if k < n {
                let mut w = w;
                for _ in 0..k {
                    w &= w - 1;
                }
                return i * 64 + w.trailing_zeros() as usize;
            }
            k -= n;
        }
        unreachable!("WorkerSet::nth past the end")
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// The pool's sets, by id.
pub(crate) struct AffinitySets {
    inner: SpinLock<Table>,
}

#[derive(Default)]
struct Table {
    by_id: Vec<Arc<WorkerSet>>,
    ids: HashMap<Arc<WorkerSet>, u32>,
}

impl AffinitySets {
    pub(crate) fn new() -> Self {
        Self {
            inner: SpinLock::new(Table::default()),
        }
    }

    /// Checks `affinity` against a pool of `workers` workers (pinned to
    /// `pinned[i]` if it pins them) and returns its id and set.
    pub(crate) fn intern(
        &self,
        affinity: &Affinity,
        workers: usize,
        pinned: Option<&[usize]>,
    ) -> Result<(u32, Arc<WorkerSet>), Error> {
        if affinity.ids().is_empty() {
            return Err(Error::EmptyAffinity);
        }
        let members = match affinity.kind() {
            AffinityKind::Workers => {
                if let Some(&w) = affinity.ids().iter().find(|&&w| w >= workers) {
                    return Err(Error::NoSuchWorker { worker: w, workers });
                }
                affinity.ids().to_vec()
            }
            AffinityKind::Cores => {
                let pinned = pinned.ok_or(Error::AffinityNeedsPinning)?;
                let mut members = Vec::with_capacity(affinity.ids().len());
                for &core in affinity.ids() {
                    match pinned.iter().position(|&c| c == core) {
                        Some(w) => members.push(w),
                        None => return Err(Error::NoWorkerOnCore { core }),
                    }
                }
                members
            }
        };
        let set = WorkerSet::new(workers, members);
        let mut table = self.inner.lock();
        if let Some((set, &id)) = table.ids.get_key_value(&set) {
            return Ok((id, set.clone()));
        }
        if table.by_id.len() >= MAX_SETS {
            return Err(Error::TooManyAffinitySets { max: MAX_SETS });
        }
        let set = Arc::new(set);
        table.by_id.push(set.clone());
        let id = table.by_id.len() as u32;
        table.ids.insert(set.clone(), id);
        Ok((id, set))
    }

    /// The set with id `id` (from `intern`).
    pub(crate) fn get(&self, id: u32) -> Arc<WorkerSet> {
        self.inner.lock().by_id[id as usize - 1].clone()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn sets_are_checked_and_shared() {
        let sets = AffinitySets::new();
        let (a, s) = sets
            .intern(&Affinity::workers([3, 1, 3]), 70, None)
            .unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.contains(1) && s.contains(3) && !s.contains(2) && !s.contains(70));
        assert_eq!((s.nth(0), s.nth(1)), (1, 3));
        let (b, _) = sets.intern(&Affinity::workers([1, 3]), 70, None).unwrap();
        assert_eq!(a, b, "the same set gets the same id");
        let (c, s) = sets.intern(&Affinity::worker(69), 70, None).unwrap();
        assert_ne!(a, c);
        assert_eq!(s.nth(0), 69);
        assert!(Arc::ptr_eq(&sets.get(c), &s));
        assert!(matches!(
            sets.intern(&Affinity::worker(70), 70, None),
            Err(Error::NoSuchWorker {
                worker: 70,
                workers: 70
            })
        ));
        assert!(matches!(
            sets.intern(&Affinity::workers([]), 70, None),
            Err(Error::EmptyAffinity)
        ));
        assert!(matches!(
            sets.intern(&Affinity::cores([0]), 70, None),
            Err(Error::AffinityNeedsPinning)
        ));
        let (_, s) = sets
            .intern(&Affinity::cores([5]), 2, Some(&[4, 5]))
            .unwrap();
        assert!(s.contains(1) && !s.contains(0));
        assert!(matches!(
            sets.intern(&Affinity::cores([6]), 2, Some(&[4, 5])),
            Err(Error::NoWorkerOnCore { core: 6 })
        ));
    }
}
