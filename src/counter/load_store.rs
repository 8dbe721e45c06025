use super::Counter;
use crate::runtime::{AtomicIntApi, DefaultRuntime, Runtime};
use crate::trace;
use std::sync::atomic::Ordering::SeqCst;

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
/// fixes it. The twin is [`super::AtomicCounter`] (one `fetch_add`).
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
