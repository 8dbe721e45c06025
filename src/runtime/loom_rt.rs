//! [`Loom`]: loom's exhaustive C11 model checker.

use super::{CellApi, CondvarApi, MutexGuard, Runtime};
use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use loom::thread::JoinHandle;
use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
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

/// A loom handle (guard or `Arc`) that is *leaked* instead of dropped while its thread unwinds.
///
/// When loom finds a deadlock it panics inside one model thread and tears the execution down;
/// the other threads' guards then unwind with no active loom thread, and their `Drop` (which
/// calls into loom's runtime) panics again, which aborts the process. An execution that panicked
/// is over, so leaking its handles loses nothing, and the deadlock becomes a catchable failure.
pub struct PanicSafe<G>(ManuallyDrop<G>);

impl<G> PanicSafe<G> {
    fn new(inner: G) -> Self {
        PanicSafe(ManuallyDrop::new(inner))
    }
    fn into_inner(self) -> G {
        let mut me = ManuallyDrop::new(self);
        // SAFETY: `me` is never dropped (it is in a `ManuallyDrop`), so the inner value is taken
        // exactly once and `PanicSafe::drop` never sees the emptied slot.
        unsafe { ManuallyDrop::take(&mut me.0) }
    }
}

impl<G> Drop for PanicSafe<G> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // SAFETY: `drop` runs once, and nothing uses `self.0` afterwards.
            unsafe { ManuallyDrop::drop(&mut self.0) }
        }
    }
}

impl<G: Deref> Deref for PanicSafe<G> {
    type Target = G::Target;
    fn deref(&self) -> &G::Target {
        &self.0
    }
}

impl<G: DerefMut> DerefMut for PanicSafe<G> {
    fn deref_mut(&mut self) -> &mut G::Target {
        &mut self.0
    }
}

impl<G: Clone> Clone for PanicSafe<G> {
    fn clone(&self) -> Self {
        PanicSafe::new((*self.0).clone())
    }
}

impl<T: Send + 'static> super::MutexApi<T> for Mutex<T> {
    type Guard<'a> = PanicSafe<loom::sync::MutexGuard<'a, T>>;
    fn new(value: T) -> Self {
        Mutex::new(value)
    }
    fn lock(&self) -> Self::Guard<'_> {
        PanicSafe::new(Mutex::lock(self).unwrap_or_else(std::sync::PoisonError::into_inner))
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        match Mutex::try_lock(self) {
            Ok(g) => Some(PanicSafe::new(g)),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(PanicSafe::new(p.into_inner())),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

impl<T: Send + Sync + 'static> super::RwLockApi<T> for RwLock<T> {
    type ReadGuard<'a> = PanicSafe<RwLockReadGuard<'a, T>>;
    type WriteGuard<'a> = PanicSafe<RwLockWriteGuard<'a, T>>;
    fn new(value: T) -> Self {
        RwLock::new(value)
    }
    fn read(&self) -> Self::ReadGuard<'_> {
        PanicSafe::new(RwLock::read(self).unwrap_or_else(std::sync::PoisonError::into_inner))
    }
    fn write(&self) -> Self::WriteGuard<'_> {
        PanicSafe::new(RwLock::write(self).unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl<T: Send + 'static> super::JoinApi<T> for JoinHandle<T> {
    fn join(self) -> std::thread::Result<T> {
        JoinHandle::join(self)
    }
}

impl CondvarApi<Loom> for Condvar {
    fn new() -> Self {
        Condvar::new()
    }
    fn wait<'a, T: Send + 'static>(&self, g: MutexGuard<'a, Loom, T>) -> MutexGuard<'a, Loom, T> {
        PanicSafe::new(
            Condvar::wait(self, g.into_inner()).unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
    fn wait_timeout<'a, T: Send + 'static>(
        &self,
        g: MutexGuard<'a, Loom, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, Loom, T>, bool) {
        let (g, r) = Condvar::wait_timeout(self, g.into_inner(), timeout)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (PanicSafe::new(g), r.timed_out())
    }
    fn notify_one(&self) {
        Condvar::notify_one(self)
    }
    fn notify_all(&self) {
        Condvar::notify_all(self)
    }
}

impl<T: Send + Sync + 'static> super::ArcApi<T> for PanicSafe<Arc<T>> {
    fn new(value: T) -> Self {
        PanicSafe::new(Arc::new(value))
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
    type Arc<T: Send + Sync + 'static> = PanicSafe<Arc<T>>;
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
    fn fence(order: Ordering) {
        loom::sync::atomic::fence(order)
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
