//! The spin lock ([`SpinLock`]: one `swap` takes it, a `Release` store frees it) and its two
//! racy twins: a test and a set in two steps ([`TestThenSetLock`]), and a `Relaxed` release
//! ([`RelaxedUnlockSpinLock`]).

use super::RawLock;
use crate::runtime::{AtomicBoolApi, DefaultRuntime, Runtime};
use crate::trace;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// A test-and-test-and-set spin lock: `compare_exchange(false, true)` takes the lock in one
/// indivisible step; while it is held, waiters spin on a plain load (which stays in their own
/// cache) and only retry when it reads free. A failed compare-exchange writes nothing, unlike a
/// failed `swap(true)`; that matters to the cache and, as it turned out, to loom, for which
/// every failed swap is one more store to order.
///
/// On real threads the wait is `std::hint::spin_loop`; under the checkers it is a yield. On an
/// oversubscribed machine (more threads than cores) a spinning waiter can burn the whole time
/// slice of the holder's core: the benchmarks show that collapse.
///
/// [`RelaxedUnlockSpinLock`] is its racy twin: the same lock with a `Relaxed` release.
pub type SpinLock<R = DefaultRuntime> = Spin<R, false>;

/// **Intentionally racy:** [`SpinLock`] released with `store(false, Relaxed)`. The lock still
/// excludes (the entry compare-exchange is unchanged), but the release no longer publishes the
/// critical section: the next holder's `Acquire` synchronises with nothing, so it may see the
/// previous holder's writes late, or not at all.
///
/// ```text
/// T1: lock (CAS false → true, Acquire); data = 1; unlock: store(false, Relaxed)
/// T2: lock (CAS false → true, Acquire): reads T1's Relaxed store, no happens-before
/// T2: data += 1                           → concurrent with T1's write (loom: causality violation)
/// ```
///
/// Only loom can see it: shuttle is sequentially consistent, and on x86 a `Relaxed` store is
/// the same `mov` as a `Release` one.
pub type RelaxedUnlockSpinLock<R = DefaultRuntime> = Spin<R, true>;

/// The spin lock of [`SpinLock`] and [`RelaxedUnlockSpinLock`]; `RELAXED_UNLOCK` is the bug.
#[derive(Debug)]
pub struct Spin<R: Runtime = DefaultRuntime, const RELAXED_UNLOCK: bool = false> {
    /// `true` while held.
    locked: R::AtomicBool,
    /// Where waiters wait (a spin on real threads; see [`super::Parker`]).
    parker: super::Parker<R>,
}

impl<R: Runtime, const RELAXED_UNLOCK: bool> Spin<R, RELAXED_UNLOCK> {
    /// The wait's read (see `super::wait_read` for the checkers' version).
    fn still_locked(&self) -> bool {
        if !R::CAPS.fair {
            R::fence(SeqCst);
            self.locked.load(SeqCst)
        } else {
            self.locked.load(Relaxed)
        }
    }
}

impl<R: Runtime, const RELAXED_UNLOCK: bool> RawLock for Spin<R, RELAXED_UNLOCK> {
    const NAME: &'static str = if RELAXED_UNLOCK {
        "RelaxedUnlockSpinLock"
    } else {
        "SpinLock"
    };
    const PARKS_UNDER_MODELS: bool = true;
    type Rt = R;
    type On<Q: Runtime> = Spin<Q, RELAXED_UNLOCK>;
    fn new() -> Self {
        Spin {
            locked: R::AtomicBool::new(false),
            parker: super::Parker::new(),
        }
    }
    fn lock(&self) {
        // Acquire: everything the previous holder wrote before its Release store ..
        while self
            .locked
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_err()
        {
            // Test before retrying the swap: a load stays in this core's cache while the lock
            // is held, where a swap would take the line from the holder. (Under the checkers
            // the load is SeqCst; see `super::wait_read`.)
            self.parker.wait_while(|| self.still_locked());
        }
        // .. is visible from here on.
        trace::event(|| "compare_exchange → acquired".to_string());
    }
    fn try_lock(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_ok()
    }
    fn unlock(&self) {
        if RELAXED_UNLOCK {
            // The bug: Relaxed publishes nothing.
            self.locked.store(false, Relaxed);
        } else {
            // Release: publishes the critical section's writes to the next Acquire swap.
            self.locked.store(false, Release);
        }
        self.parker.wake();
    }
}

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
/// The twin is [`SpinLock`], whose `swap` tests and sets in one indivisible step.
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
