//! [`Shuttle`]: shuttle's randomized (random, PCT) and exhaustive (DFS) schedulers.

use super::{CondvarApi, MutexGuard, PlainCell, Runtime};
use shuttle::sync::atomic::{AtomicBool, AtomicUsize};
use shuttle::sync::{Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use shuttle::thread::JoinHandle;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// shuttle's primitives. Only usable inside a shuttle execution (see [`crate::engine::shuttle`]).
///
/// shuttle is sequentially consistent: every atomic operation sees the latest store. It
/// therefore cannot observe a bug that needs a stale (weak-memory) read; those are loom's. It
/// preempts only at synchronisation operations, so an unsynchronised cell access is invisible
/// to it. In exchange it scales to much larger tests than loom.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shuttle;

shuttle::thread_local! {
    static THREAD_INDEX: Cell<Option<usize>> = Cell::new(None);
}

super::delegate_atomics!(AtomicUsize, AtomicBool);
type ShuttleMutexGuard<'a, T> = shuttle::sync::MutexGuard<'a, T>;
super::delegate_std_shaped_locks!(
    Mutex,
    ShuttleMutexGuard,
    RwLock,
    RwLockReadGuard,
    RwLockWriteGuard,
    JoinHandle
);

impl CondvarApi<Shuttle> for Condvar {
    fn new() -> Self {
        Condvar::new()
    }
    fn wait<'a, T: Send + 'static>(
        &self,
        g: MutexGuard<'a, Shuttle, T>,
    ) -> MutexGuard<'a, Shuttle, T> {
        Condvar::wait(self, g).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn wait_timeout<'a, T: Send + 'static>(
        &self,
        g: MutexGuard<'a, Shuttle, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, Shuttle, T>, bool) {
        let (g, r) = Condvar::wait_timeout(self, g, timeout)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (g, r.timed_out())
    }
    fn notify_one(&self) {
        Condvar::notify_one(self)
    }
    fn notify_all(&self) {
        Condvar::notify_all(self)
    }
}

impl Runtime for Shuttle {
    const NAME: &'static str = "shuttle";
    const MODEL: bool = true;
    type AtomicUsize = AtomicUsize;
    type AtomicBool = AtomicBool;
    type Mutex<T: Send + 'static> = Mutex<T>;
    type ParkingLotMutex<T: Send + 'static> = Mutex<T>;
    type RwLock<T: Send + Sync + 'static> = RwLock<T>;
    type Condvar = Condvar;
    type Arc<T: Send + Sync + 'static> = Arc<T>;
    type UnsafeCell<T: Send + 'static> = PlainCell<T>;
    type JoinHandle<T: Send + 'static> = JoinHandle<T>;

    fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        shuttle::thread::spawn(f)
    }
    fn yield_now() {
        shuttle::thread::yield_now()
    }
    fn spin_loop() {
        shuttle::hint::spin_loop()
    }
    fn fence(order: Ordering) {
        shuttle::sync::atomic::fence(order)
    }
    fn thread_index() -> Option<usize> {
        THREAD_INDEX.with(Cell::get)
    }
    fn set_thread_index(index: Option<usize>) {
        THREAD_INDEX.with(|c| c.set(index))
    }
    fn thread_token() -> usize {
        THREAD_INDEX.with(|c| std::ptr::from_ref(c) as usize)
    }
}

const _: Ordering = Ordering::Relaxed;
