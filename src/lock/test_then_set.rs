use super::RawLock;
use crate::runtime::{AtomicBoolApi, DefaultRuntime, Runtime};
use crate::trace;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// **Intentionally racy:** waits until the flag reads free, *then* stores "locked". The test
/// and the set are two steps, so two threads can both see it free.
///
/// ```text
/// T1: load → free
/// T2: load → free
/// T2: store locked      (T2 enters)
/// T1: store locked      (T1 enters too)
/// ```
///
/// The twin is [`super::SpinLock`], whose `swap` tests and sets in one indivisible step.
#[derive(Debug)]
pub struct TestThenSetLock<R: Runtime = DefaultRuntime> {
    locked: R::AtomicBool,
}

impl<R: Runtime> RawLock for TestThenSetLock<R> {
    const NAME: &'static str = "TestThenSetLock";
    type Rt = R;
    type On<Q: Runtime> = TestThenSetLock<Q>;
    fn new() -> Self {
        TestThenSetLock {
            locked: R::AtomicBool::new(false),
        }
    }
    fn lock(&self) {
        while self.locked.load(Acquire) {
            R::spin_loop();
        }
        trace::event(|| "load → free".to_string());
        self.locked.store(true, Relaxed);
        trace::event(|| "store locked".to_string());
    }
    fn try_lock(&self) -> bool {
        if self.locked.load(Acquire) {
            return false;
        }
        self.locked.store(true, Relaxed);
        true
    }
    fn unlock(&self) {
        self.locked.store(false, Release);
    }
}
