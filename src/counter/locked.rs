//! Counters behind a lock: std's `Mutex` ([`MutexCounter`]), parking_lot's, and a `RwLock`; and
//! the two racy twins of [`MutexCounter`] that hold a lock the wrong way: released between the
//! read and the write ([`SplitLockCounter`]), or a different lock per thread
//! ([`WrongLockCounter`]).

use super::Counter;
use crate::runtime::{AtomicIntApi, DefaultRuntime, MutexApi, Runtime, RwLockApi};
use crate::trace;
use std::sync::atomic::Ordering::Relaxed;

/// A `usize` behind `std::sync::Mutex` (the checker's own mutex under loom and shuttle). One
/// guard spans the read and the write. The Python article's `LockingCounter`.
#[derive(Debug)]
pub struct MutexCounter<R: Runtime = DefaultRuntime> {
    value: R::Mutex<usize>,
}

impl<R: Runtime> Counter for MutexCounter<R> {
    const NAME: &'static str = "MutexCounter";
    type On<Q: Runtime> = MutexCounter<Q>;
    fn new() -> Self {
        MutexCounter {
            value: R::Mutex::new(0),
        }
    }
    fn increment(&self) {
        let mut g = self.value.lock();
        *g += 1;
        let v = *g;
        drop(g);
        trace::event(|| format!("locked += 1 → {v}"));
    }
    fn get(&self) -> usize {
        let v = *self.value.lock();
        trace::event(|| format!("read → {v}"));
        v
    }
}

/// A `usize` behind `parking_lot::Mutex` on real threads. Under loom and shuttle it uses the
/// checker's mutex: that checks how the lock is used, not parking_lot's own algorithm.
#[derive(Debug)]
pub struct ParkingLotCounter<R: Runtime = DefaultRuntime> {
    value: R::ParkingLotMutex<usize>,
}

impl<R: Runtime> Counter for ParkingLotCounter<R> {
    const NAME: &'static str = "ParkingLotCounter";
    type On<Q: Runtime> = ParkingLotCounter<Q>;
    fn new() -> Self {
        ParkingLotCounter {
            value: R::ParkingLotMutex::new(0),
        }
    }
    fn increment(&self) {
        let mut g = self.value.lock();
        *g += 1;
        let v = *g;
        drop(g);
        trace::event(|| format!("locked += 1 → {v}"));
    }
    fn get(&self) -> usize {
        let v = *self.value.lock();
        trace::event(|| format!("read → {v}"));
        v
    }
}

/// A `usize` behind `std::sync::RwLock`: increments take the write lock, reads the read lock.
#[derive(Debug)]
pub struct RwLockCounter<R: Runtime = DefaultRuntime> {
    value: R::RwLock<usize>,
}

impl<R: Runtime> Counter for RwLockCounter<R> {
    const NAME: &'static str = "RwLockCounter";
    type On<Q: Runtime> = RwLockCounter<Q>;
    fn new() -> Self {
        RwLockCounter {
            value: R::RwLock::new(0),
        }
    }
    fn increment(&self) {
        let mut g = self.value.write();
        *g += 1;
        let v = *g;
        drop(g);
        trace::event(|| format!("write-locked += 1 → {v}"));
    }
    fn get(&self) -> usize {
        let v = *self.value.read();
        trace::event(|| format!("read-locked → {v}"));
        v
    }
}

/// **Intentionally racy:** reads the value under the lock, releases it, then takes the lock
/// again to write the value plus one. Every access is locked; the increment is not atomic.
///
/// ```text
/// T1: read → 0      (lock released)
/// T2: read → 0
/// T2: write 1
/// T1: write 1       ← lost update
/// ```
///
/// An **atomicity violation**: the lock protects the data but not the invariant. A reader can
/// also see the counter go backwards (T2 writes 2, T1's stale write sets 1). The twin is
/// [`MutexCounter`], which holds one guard across the read and the write.
#[derive(Debug)]
pub struct SplitLockCounter<R: Runtime = DefaultRuntime> {
    value: R::Mutex<usize>,
}

impl<R: Runtime> Counter for SplitLockCounter<R> {
    const NAME: &'static str = "SplitLockCounter";
    type On<Q: Runtime> = SplitLockCounter<Q>;
    fn new() -> Self {
        SplitLockCounter {
            value: R::Mutex::new(0),
        }
    }
    fn increment(&self) {
        let v = *self.value.lock();
        trace::event(|| format!("read → {v} (unlock)"));
        *self.value.lock() = v + 1;
        trace::event(|| format!("write {}", v + 1));
    }
    fn get(&self) -> usize {
        let v = *self.value.lock();
        trace::event(|| format!("get → {v}"));
        v
    }
}

/// **Intentionally racy:** one counter, two locks. Even-numbered threads increment under lock A,
/// odd-numbered ones under lock B, like two modules that each believe they own the counter.
/// Each critical section is correct on its own; they do not exclude each other.
///
/// ```text
/// T1: lock A
/// T1: load → 0
/// T2: lock B        ← nothing stops T2
/// T2: load → 0
/// T2: store 1
/// T1: store 1       ← lost update
/// ```
///
/// The protected value is read and written with `Relaxed` atomics, as a plain variable would be
/// inside a critical section (the lock supplies the ordering); this keeps the racy stress run
/// free of undefined behaviour. The twin is [`MutexCounter`]: one lock for one datum.
/// Threads outside a scenario (no thread index) all use lock A.
#[derive(Debug)]
pub struct WrongLockCounter<R: Runtime = DefaultRuntime> {
    locks: [R::Mutex<()>; 2],
    value: R::AtomicUsize,
}

impl<R: Runtime> Counter for WrongLockCounter<R> {
    const NAME: &'static str = "WrongLockCounter";
    type On<Q: Runtime> = WrongLockCounter<Q>;
    fn new() -> Self {
        WrongLockCounter {
            locks: [R::Mutex::new(()), R::Mutex::new(())],
            value: R::AtomicUsize::new(0),
        }
    }
    fn increment(&self) {
        let which = R::thread_index().unwrap_or(0) % 2;
        let _guard = self.locks[which].lock();
        trace::event(|| format!("lock {}", ["A", "B"][which]));
        let v = self.value.load(Relaxed);
        trace::event(|| format!("load → {v}"));
        self.value.store(v + 1, Relaxed);
        trace::event(|| format!("store {}", v + 1));
    }
    fn get(&self) -> usize {
        let _guard = self.locks[0].lock();
        let v = self.value.load(Relaxed);
        trace::event(|| format!("read → {v}"));
        v
    }
}
