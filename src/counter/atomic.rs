use super::Counter;
use crate::runtime::{AtomicIntApi, DefaultRuntime, Runtime};
use crate::trace;
use std::sync::atomic::Ordering::Relaxed;

/// One `fetch_add`: the read-modify-write is a single indivisible instruction (`lock xadd` on
/// x86). The twin of [`super::LoadStoreCounter`].
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
