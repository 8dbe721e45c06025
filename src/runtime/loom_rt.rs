//! [`Loom`]: loom's exhaustive C11 model checker.

use super::{CellApi, CondvarApi, MutexGuard, Runtime};
use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use loom::thread::JoinHandle;
use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// loom's primitives. Only usable inside a loom model (see [`crate::engine::loom`]).
///
/// loom explores every interleaving up to a preemption bound *and* the weak-memory behaviours
/// that C11 allows (a Relaxed load may return a stale value), so it sees ordering bugs shuttle
/// cannot. Its cost is exponential in the number of operations: keep scenarios small.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loom;

loom::thread_local! {
    static THREAD_INDEX: Cell<Option<usize>> = Cell::new(None);
}

super::delegate_atomics!(AtomicUsize, AtomicBool);
type LoomMutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
super::delegate_std_shaped_locks!(
    Mutex,
    LoomMutexGuard,
    RwLock,
    RwLockReadGuard,
    RwLockWriteGuard,
    JoinHandle
);

impl CondvarApi<Loom> for Condvar {
    fn new() -> Self {
        Condvar::new()
    }
    fn wait<'a, T: Send + 'static>(&self, g: MutexGuard<'a, Loom, T>) -> MutexGuard<'a, Loom, T> {
        Condvar::wait(self, g).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn wait_timeout<'a, T: Send + 'static>(
        &self,
        g: MutexGuard<'a, Loom, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, Loom, T>, bool) {
        let (g, r) =
            Condvar::wait_timeout(self, g, timeout).unwrap_or_else(std::sync::PoisonError::into_inner);
        (g, r.timed_out())
    }
    fn notify_one(&self) {
        Condvar::notify_one(self)
    }
    fn notify_all(&self) {
        Condvar::notify_all(self)
    }
}

impl<T: Send + Sync + 'static> super::ArcApi<T> for Arc<T> {
    fn new(value: T) -> Self {
        Arc::new(value)
    }
}

impl<T: Send + 'static> CellApi<T> for loom::cell::UnsafeCell<T> {
    fn new(value: T) -> Self {
        loom::cell::UnsafeCell::new(value)
    }
    fn with<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*const T) -> U,
    {
        loom::cell::UnsafeCell::with(self, f)
    }
    fn with_mut<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*mut T) -> U,
    {
        loom::cell::UnsafeCell::with_mut(self, f)
    }
}

impl Runtime for Loom {
    const NAME: &'static str = "loom";
    const MODEL: bool = true;
    type AtomicUsize = AtomicUsize;
    type AtomicBool = AtomicBool;
    type Mutex<T: Send + 'static> = Mutex<T>;
    type ParkingLotMutex<T: Send + 'static> = Mutex<T>;
    type RwLock<T: Send + Sync + 'static> = RwLock<T>;
    type Condvar = Condvar;
    type Arc<T: Send + Sync + 'static> = Arc<T>;
    type UnsafeCell<T: Send + 'static> = loom::cell::UnsafeCell<T>;
    type JoinHandle<T: Send + 'static> = JoinHandle<T>;

    fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        loom::thread::spawn(f)
    }
    fn yield_now() {
        loom::thread::yield_now()
    }
    fn spin_loop() {
        // loom::hint::spin_loop yields to the model, so a spin loop is a finite schedule.
        loom::hint::spin_loop()
    }
    fn thread_index() -> Option<usize> {
        THREAD_INDEX.with(Cell::get)
    }
    fn set_thread_index(index: Option<usize>) {
        THREAD_INDEX.with(|c| c.set(index))
    }
}
