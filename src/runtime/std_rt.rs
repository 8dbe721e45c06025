//! [`Std`]: real OS threads and std's primitives (parking_lot's mutex for `ParkingLotMutex`).

use super::{CellApi, CondvarApi, MutexGuard, Runtime};
use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Real threads and std's primitives. The runtime of the stress engine and the benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Std;

std::thread_local! {
    static THREAD_INDEX: Cell<Option<usize>> = const { Cell::new(None) };
}

super::delegate_atomics!(AtomicUsize, AtomicBool);
type StdMutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;
super::delegate_std_shaped_locks!(
    Mutex,
    StdMutexGuard,
    RwLock,
    RwLockReadGuard,
    RwLockWriteGuard,
    JoinHandle
);

impl<T: Send + 'static> super::MutexApi<T> for parking_lot::Mutex<T> {
    type Guard<'a> = parking_lot::MutexGuard<'a, T>;
    #[inline]
    fn new(value: T) -> Self {
        parking_lot::Mutex::new(value)
    }
    #[inline]
    fn lock(&self) -> Self::Guard<'_> {
        parking_lot::Mutex::lock(self)
    }
    #[inline]
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        parking_lot::Mutex::try_lock(self)
    }
}

impl CondvarApi<Std> for Condvar {
    #[inline]
    fn new() -> Self {
        Condvar::new()
    }
    #[inline]
    fn wait<'a, T: Send + 'static>(&self, g: MutexGuard<'a, Std, T>) -> MutexGuard<'a, Std, T> {
        Condvar::wait(self, g).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    #[inline]
    fn wait_timeout<'a, T: Send + 'static>(
        &self,
        g: MutexGuard<'a, Std, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, Std, T>, bool) {
        let (g, r) = Condvar::wait_timeout(self, g, timeout)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (g, r.timed_out())
    }
    #[inline]
    fn notify_one(&self) {
        Condvar::notify_one(self)
    }
    #[inline]
    fn notify_all(&self) {
        Condvar::notify_all(self)
    }
}

impl<T: Send + Sync + 'static> super::ArcApi<T> for Arc<T> {
    #[inline]
    fn new(value: T) -> Self {
        Arc::new(value)
    }
}

/// An unchecked `UnsafeCell` with loom's closure API, for the std and shuttle runtimes.
///
/// It is `Sync` so that a structure can share it, exactly like the `UnsafeCell` inside any lock;
/// the structure that shares it is responsible for synchronising the accesses.
#[derive(Debug, Default)]
pub struct PlainCell<T>(UnsafeCell<T>);

// SAFETY: `PlainCell` only hands out raw pointers; dereferencing them is `unsafe` at the use site,
// where the structure must show that accesses are synchronised (as `std::sync::Mutex` does for
// its own `UnsafeCell`). `T: Send` because another thread may end up owning the value.
unsafe impl<T: Send> Sync for PlainCell<T> {}

impl<T: Send + 'static> CellApi<T> for PlainCell<T> {
    #[inline]
    fn new(value: T) -> Self {
        PlainCell(UnsafeCell::new(value))
    }
    #[inline]
    fn with<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*const T) -> U,
    {
        f(self.0.get())
    }
    #[inline]
    fn with_mut<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*mut T) -> U,
    {
        f(self.0.get())
    }
}

impl Runtime for Std {
    const NAME: &'static str = "std";
    const MODEL: bool = false;
    type AtomicUsize = AtomicUsize;
    type AtomicBool = AtomicBool;
    type Mutex<T: Send + 'static> = Mutex<T>;
    type ParkingLotMutex<T: Send + 'static> = parking_lot::Mutex<T>;
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
        std::thread::spawn(f)
    }
    #[inline]
    fn yield_now() {
        std::thread::yield_now()
    }
    #[inline]
    fn spin_loop() {
        std::hint::spin_loop()
    }
    #[inline]
    fn fence(order: Ordering) {
        std::sync::atomic::fence(order)
    }
    #[inline]
    fn thread_index() -> Option<usize> {
        THREAD_INDEX.with(Cell::get)
    }
    #[inline]
    fn set_thread_index(index: Option<usize>) {
        THREAD_INDEX.with(|c| c.set(index))
    }
    #[inline]
    fn thread_token() -> usize {
        THREAD_INDEX.with(|c| std::ptr::from_ref(c) as usize)
    }
}

// Ordering is used by the delegation macro.
const _: Ordering = Ordering::Relaxed;
