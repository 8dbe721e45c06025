use super::Counter;
use crate::runtime::{AtomicIntApi, DefaultRuntime, MutexApi, Runtime};
use crate::trace;
use std::sync::atomic::Ordering::Relaxed;

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
/// free of undefined behaviour. The twin is [`super::MutexCounter`]: one lock for one datum.
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
