use super::Counter;
use crate::runtime::{DefaultRuntime, MutexApi, Runtime, RwLockApi};
use crate::trace;

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
