//! `Barrier` and `Once` built from a runtime's own mutex and condvar, so the checkers see them
//! (loom has neither: its `Barrier` is a stub that panics). On real threads the barrier is the
//! same code over std's primitives (so a stress run can name and release its waiters); `Once` is
//! std's.

use super::{BarrierApi, CondvarApi, MutexApi, OnceApi, Runtime};
use std::panic::Location;

/// `std::sync::Barrier` over the runtime's mutex and condvar: `n` threads meet, one of them is
/// the leader, and the barrier can be reused (a generation count tells rounds apart, so a
/// thread of the next round cannot be released by this round's last arrival).
pub struct Barrier<R: Runtime> {
    n: usize,
    /// (threads arrived in this generation, generation).
    state: R::Mutex<(usize, u64)>,
    cv: R::Condvar,
}

impl<R: Runtime> BarrierApi for Barrier<R> {
    fn new(n: usize) -> Self {
        assert!(n > 0, "a barrier needs at least one thread");
        Barrier {
            n,
            state: R::Mutex::new((0, 0)),
            cv: R::Condvar::new(),
        }
    }
    #[track_caller]
    fn wait(&self) -> bool {
        let at = Location::caller();
        R::attributed(at, || {
            let mut g = self.state.lock();
            let generation = g.1;
            g.0 += 1;
            if g.0 == self.n {
                g.0 = 0;
                g.1 += 1;
                drop(g);
                self.cv.notify_all();
                true
            } else {
                while g.1 == generation {
                    g = self.cv.wait(g);
                }
                false
            }
        })
    }
}

/// `std::sync::Once` for the checkers: a flag read `Acquire` on the fast path, and a mutex that
/// serialises the first callers; the one that finds the flag clear runs `f`, stores the flag
/// `Release`, and every other caller returns only after that (through the mutex or the flag).
pub struct Once<R: Runtime> {
    done: R::AtomicBool,
    lock: R::Mutex<bool>,
}

impl<R: Runtime> OnceApi for Once<R> {
    fn new() -> Self {
        use super::AtomicBoolApi;
        Once {
            done: R::AtomicBool::new(false),
            lock: R::Mutex::new(false),
        }
    }
    #[track_caller]
    fn call_once<F: FnOnce()>(&self, f: F) {
        use super::AtomicBoolApi;
        use std::sync::atomic::Ordering::{Acquire, Release};
        let at = Location::caller();
        R::attributed(at, || {
            // Acquire: pairs with the Release store below, so `f`'s effects are visible here.
            if self.done.load(Acquire) {
                return;
            }
            let mut g = self.lock.lock();
            if !*g {
                f();
                *g = true;
                // Release: publishes `f`'s effects to the fast path of later callers.
                self.done.store(true, Release);
            }
        })
    }
    fn is_completed(&self) -> bool {
        use super::AtomicBoolApi;
        self.done.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl OnceApi for std::sync::Once {
    #[inline]
    fn new() -> Self {
        std::sync::Once::new()
    }
    #[inline]
    fn call_once<F: FnOnce()>(&self, f: F) {
        std::sync::Once::call_once(self, f)
    }
    #[inline]
    fn is_completed(&self) -> bool {
        std::sync::Once::is_completed(self)
    }
}
