use super::Counter;
use crate::runtime::{DefaultRuntime, MutexApi, Runtime};
use crate::trace;

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
/// [`super::MutexCounter`], which holds one guard across the read and the write.
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
