//! [`Loom`]: loom's exhaustive C11 model checker.

use super::model::{self, Checker};
use loom::sync::atomic::{
    AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicPtr, AtomicU8,
    AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
};
use loom::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use loom::thread::JoinHandle;
use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;

/// loom's primitives. Only usable inside a loom model (see [`crate::engine::loom`]).
///
/// loom explores every interleaving up to a preemption bound *and* the weak-memory behaviours
/// that C11 allows (a Relaxed load may return a stale value), so it sees ordering bugs shuttle
/// cannot. Its cost is exponential in the number of operations: keep scenarios small. It models
/// at most [`loom::MAX_THREADS`] threads per execution, the driver included (4 besides it);
/// racelab reports a scenario that needs more as *not run*, with the number.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loom;

loom::thread_local! {
    static THREAD_INDEX: Cell<Option<usize>> = Cell::new(None);
    static TID: Cell<usize> = Cell::new(0);
}

super::delegate_atomics!(
    u8 => AtomicU8, u16 => AtomicU16, u32 => AtomicU32, u64 => AtomicU64,
    usize => AtomicUsize, i8 => AtomicI8, i16 => AtomicI16, i32 => AtomicI32,
    i64 => AtomicI64, isize => AtomicIsize; AtomicBool, AtomicPtr
);

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

impl<T: Send + Sync + 'static> super::ArcApi<T> for PanicSafe<Arc<T>> {
    fn new(value: T) -> Self {
        PanicSafe::new(Arc::new(value))
    }
    fn try_unwrap(this: Self) -> Result<T, Self> {
        Arc::try_unwrap(this.into_inner()).map_err(PanicSafe::new)
    }
}

impl<T: Send + 'static> super::CellApi<T> for loom::cell::UnsafeCell<T> {
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

impl Checker for Loom {
    const CHECKER: &'static str = "loom";
    const MAX_THREADS: Option<usize> = Some(loom::MAX_THREADS);
    const EXHAUSTIVE: bool = true;
    const WEAK_MEMORY: bool = true;
    type RawMutex<T: Send + 'static> = Mutex<T>;
    type RawRwLock<T: Send + Sync + 'static> = RwLock<T>;
    type RawCondvar = Condvar;
    type RawJoin<T: Send + 'static> = JoinHandle<T>;
    type RawThread = loom::thread::Thread;

    fn cv_new() -> Condvar {
        Condvar::new()
    }
    fn cv_wait<'a, T: Send + 'static>(
        cv: &Condvar,
        g: model::RawGuard<'a, Self, T>,
    ) -> model::RawGuard<'a, Self, T> {
        PanicSafe::new(
            Condvar::wait(cv, g.into_inner()).unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
    fn cv_notify_one(cv: &Condvar) {
        cv.notify_one()
    }
    fn cv_notify_all(cv: &Condvar) {
        cv.notify_all()
    }
    fn raw_spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        loom::thread::spawn(f)
    }
    fn raw_join<T: Send + 'static>(h: JoinHandle<T>) -> std::thread::Result<T> {
        h.join()
    }
    fn raw_join_thread<T: Send + 'static>(h: &JoinHandle<T>) -> loom::thread::Thread {
        h.thread().clone()
    }
    fn raw_current() -> loom::thread::Thread {
        loom::thread::current()
    }
    fn raw_unpark(t: &loom::thread::Thread) {
        t.unpark()
    }
    fn random() -> u64 {
        // loom has no data choices: its timers fire only when nothing else can run.
        0
    }
    fn raw_park() {
        loom::thread::park()
    }
    fn raw_yield() {
        loom::thread::yield_now()
    }
    fn raw_spin_loop() {
        // loom::hint::spin_loop yields to the model, so a spin loop is a finite schedule.
        loom::hint::spin_loop()
    }
    fn raw_fence(o: Ordering) {
        loom::sync::atomic::fence(o)
    }
    fn key() -> usize {
        TID.with(Cell::get)
    }
    fn set_tid(t: usize) {
        TID.with(|c| c.set(t))
    }
    fn index() -> Option<usize> {
        THREAD_INDEX.with(Cell::get)
    }
    fn set_index(i: Option<usize>) {
        THREAD_INDEX.with(|c| c.set(i))
    }
    fn token() -> usize {
        THREAD_INDEX.with(|c| std::ptr::from_ref(c) as usize)
    }
    fn stop_execution() -> ! {
        // loom has no way to end an execution early but a panic; loom is silent about it, and
        // the engine recognises the payload by its type.
        std::panic::resume_unwind(Box::new(model::Signal::Stop))
    }
}

super::model::model_runtime!(Loom, loom::sync::atomic, arc = PanicSafe<Arc<T>>, cell = loom::cell::UnsafeCell<T>);
