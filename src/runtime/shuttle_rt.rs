//! [`Shuttle`]: shuttle's randomized (random, PCT) and exhaustive (DFS) schedulers.

use super::PlainCell;
use super::model::{self, Checker};
use shuttle::sync::atomic::{
    AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicPtr, AtomicU8,
    AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
};
use shuttle::sync::{Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use shuttle::thread::JoinHandle;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;

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

super::delegate_atomics!(
    u8 => AtomicU8, u16 => AtomicU16, u32 => AtomicU32, u64 => AtomicU64,
    usize => AtomicUsize, i8 => AtomicI8, i16 => AtomicI16, i32 => AtomicI32,
    i64 => AtomicI64, isize => AtomicIsize; AtomicBool, AtomicPtr
);

impl<T: Send + 'static> super::MutexApi<T> for Mutex<T> {
    type Guard<'a> = shuttle::sync::MutexGuard<'a, T>;
    fn new(value: T) -> Self {
        Mutex::new(value)
    }
    fn lock(&self) -> Self::Guard<'_> {
        Mutex::lock(self).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        match Mutex::try_lock(self) {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

impl<T: Send + Sync + 'static> super::RwLockApi<T> for RwLock<T> {
    type ReadGuard<'a> = RwLockReadGuard<'a, T>;
    type WriteGuard<'a> = RwLockWriteGuard<'a, T>;
    fn new(value: T) -> Self {
        RwLock::new(value)
    }
    fn read(&self) -> Self::ReadGuard<'_> {
        RwLock::read(self).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn write(&self) -> Self::WriteGuard<'_> {
        RwLock::write(self).unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Checker for Shuttle {
    const CHECKER: &'static str = "shuttle";
    const MAX_THREADS: Option<usize> = None;
    const EXHAUSTIVE: bool = false;
    const WEAK_MEMORY: bool = false;
    type RawMutex<T: Send + 'static> = Mutex<T>;
    type RawRwLock<T: Send + Sync + 'static> = RwLock<T>;
    type RawCondvar = Condvar;
    type RawJoin<T: Send + 'static> = JoinHandle<T>;
    type RawThread = shuttle::thread::Thread;

    fn cv_new() -> Condvar {
        Condvar::new()
    }
    fn cv_wait<'a, T: Send + 'static>(
        cv: &Condvar,
        g: model::RawGuard<'a, Self, T>,
    ) -> model::RawGuard<'a, Self, T> {
        Condvar::wait(cv, g).unwrap_or_else(std::sync::PoisonError::into_inner)
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
        shuttle::thread::spawn(f)
    }
    fn raw_join<T: Send + 'static>(h: JoinHandle<T>) -> std::thread::Result<T> {
        h.join()
    }
    fn raw_join_thread<T: Send + 'static>(h: &JoinHandle<T>) -> shuttle::thread::Thread {
        h.thread().clone()
    }
    fn raw_current() -> shuttle::thread::Thread {
        shuttle::thread::current()
    }
    fn raw_unpark(t: &shuttle::thread::Thread) {
        t.unpark()
    }
    fn random() -> u64 {
        shuttle::rand::RngCore::next_u64(&mut shuttle::rand::thread_rng())
    }
    fn raw_park() {
        shuttle::thread::park()
    }
    fn raw_yield() {
        shuttle::thread::yield_now()
    }
    fn raw_spin_loop() {
        shuttle::hint::spin_loop()
    }
    fn raw_fence(o: Ordering) {
        shuttle::sync::atomic::fence(o)
    }
    fn key() -> usize {
        // shuttle's thread-locals cost a hash-map lookup; its task id is a field read.
        shuttle::current::get_current_task().map_or(0, usize::from)
    }
    fn set_tid(_: usize) {}
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
        // racelab's scheduler sees the recorded stop at this scheduling point and ends the
        // execution: shuttle tears the tasks down without reporting a failure (it would print
        // one for a panic). Outside racelab's engines nobody stops it, so unwind instead.
        shuttle::thread::yield_now();
        std::panic::resume_unwind(Box::new(model::Signal::Stop))
    }
}

super::model::model_runtime!(Shuttle, shuttle::sync::atomic, arc = Arc<T>, cell = PlainCell<T>);
