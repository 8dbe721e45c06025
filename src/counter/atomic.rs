//! Counters without a lock: one `fetch_add` ([`AtomicCounter`]), and its two racy twins that
//! split the read-modify-write into a load and a store ([`LoadStoreCounter`]) or drop
//! synchronisation altogether ([`UnsyncCellCounter`]).

use super::Counter;
use crate::runtime::{AtomicIntApi, CellApi, DefaultRuntime, Runtime};
use crate::trace;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

/// One `fetch_add`: the read-modify-write is a single indivisible instruction (`lock xadd` on
/// x86). The twin of [`LoadStoreCounter`].
///
/// `Relaxed` is enough: a counter publishes no other memory, every RMW sees the latest value in
/// the modification order, and `join` orders the final read after every increment.
#[derive(Debug)]
pub struct AtomicCounter<R: Runtime = DefaultRuntime> {
    value: R::AtomicUsize,
}

impl<R: Runtime> Counter for AtomicCounter<R> {
    const NAME: &'static str = "AtomicCounter";
    type On<Q: Runtime> = AtomicCounter<Q>;
    fn new() -> Self {
        AtomicCounter {
            value: R::AtomicUsize::new(0),
        }
    }
    fn increment(&self) {
        let v = self.value.fetch_add(1, Relaxed);
        trace::event(|| format!("fetch_add → {v}"));
    }
    fn get(&self) -> usize {
        let v = self.value.load(Relaxed);
        trace::event(|| format!("read → {v}"));
        v
    }
}

/// **Intentionally racy:** an atomic load, then an atomic store of the value plus one. Each
/// access is atomic; the increment is not.
///
/// ```text
/// T1: load → 0
/// T2: load → 0
/// T2: store 1
/// T1: store 1      ← T2's increment is lost
/// ```
///
/// The accesses are `SeqCst` on purpose: the bug is atomicity, not ordering, and no ordering
/// fixes it. The twin is [`AtomicCounter`] (one `fetch_add`).
#[derive(Debug)]
pub struct LoadStoreCounter<R: Runtime = DefaultRuntime> {
    value: R::AtomicUsize,
}

impl<R: Runtime> Counter for LoadStoreCounter<R> {
    const NAME: &'static str = "LoadStoreCounter";
    type On<Q: Runtime> = LoadStoreCounter<Q>;
    fn new() -> Self {
        LoadStoreCounter {
            value: R::AtomicUsize::new(0),
        }
    }
    fn increment(&self) {
        let v = self.value.load(SeqCst);
        trace::event(|| format!("load → {v}"));
        self.value.store(v + 1, SeqCst);
        trace::event(|| format!("store {}", v + 1));
    }
    fn get(&self) -> usize {
        let v = self.value.load(SeqCst);
        trace::event(|| format!("read → {v}"));
        v
    }
}

/// **Intentionally racy:** increments a plain integer in an `UnsafeCell` with no
/// synchronisation at all: a data race, undefined behaviour in Rust.
///
/// ```text
/// T1: cell += 1   (read 0 …
/// T2: cell += 1   (read 0, write 1)
/// T1:              … write 1)     ← and the compiler may do worse
/// ```
///
/// loom tracks every access to its `UnsafeCell` and reports two unordered accesses as a
/// *causality violation*. shuttle cannot see it: it preempts only at synchronisation
/// operations, and a cell access is not one. The stress engine does not run it: executing a
/// data race on real threads is undefined behaviour, not an experiment. The twin is
/// [`AtomicCounter`].
#[derive(Debug)]
pub struct UnsyncCellCounter<R: Runtime = DefaultRuntime> {
    value: R::UnsafeCell<usize>,
}

// SAFETY: none, and that is the point: this impl lets threads share the cell without
// synchronisation. The type exists to be caught by loom's cell tracking; racelab never runs it
// on real threads (its catalogue entry skips the stress engine).
unsafe impl<R: Runtime> Sync for UnsyncCellCounter<R> {}
// SAFETY: the cell holds a `usize`, which may move between threads.
unsafe impl<R: Runtime> Send for UnsyncCellCounter<R> {}

impl<R: Runtime> Counter for UnsyncCellCounter<R> {
    const NAME: &'static str = "UnsyncCellCounter";
    type On<Q: Runtime> = UnsyncCellCounter<Q>;
    fn new() -> Self {
        UnsyncCellCounter {
            value: R::UnsafeCell::new(0),
        }
    }
    fn increment(&self) {
        // SAFETY: not sound under concurrency (see the type's docs); sound when the caller
        // increments from one thread at a time, which is all racelab's own non-loom use does.
        let v = self.value.with_mut(|p| unsafe {
            *p += 1;
            *p
        });
        trace::event(|| format!("cell += 1 → {v}"));
    }
    fn get(&self) -> usize {
        // SAFETY: as for `increment`.
        let v = self.value.with(|p| unsafe { *p });
        trace::event(|| format!("read → {v}"));
        v
    }
}
