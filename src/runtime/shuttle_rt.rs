//! [`Shuttle`]: shuttle's randomized (random, PCT) and exhaustive (DFS) schedulers.

use super::model::{self, Checker, ModelAtomic, ModelCell, ModelCondvar, ModelMutex, ModelRwLock};
use super::{CondvarApi, MutexGuard, PlainCell, Runtime};
use shuttle::sync::atomic::{
    AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicPtr, AtomicU8,
    AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
};
use shuttle::sync::{Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use shuttle::thread::JoinHandle;
use std::cell::Cell;
use std::panic::Location;
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

impl CondvarApi<Shuttle> for ModelCondvar<Shuttle> {
    fn new() -> Self {
        ModelCondvar::make()
    }
    #[track_caller]
    fn wait<'a, T: Send + 'static>(
        &self,
        g: MutexGuard<'a, Shuttle, T>,
    ) -> MutexGuard<'a, Shuttle, T> {
        self.wait_guard(g, Location::caller())
    }
    #[track_caller]
    fn wait_timeout<'a, T: Send + 'static>(
        &self,
        g: MutexGuard<'a, Shuttle, T>,
        _timeout: Duration,
    ) -> (MutexGuard<'a, Shuttle, T>, bool) {
        (self.wait_guard(g, Location::caller()), false)
    }
    #[track_caller]
    fn notify_one(&self) {
        self.notify(false, Location::caller())
    }
    #[track_caller]
    fn notify_all(&self) {
        self.notify(true, Location::caller())
    }
}

impl Runtime for Shuttle {
    const NAME: &'static str = "shuttle";
    const MODEL: bool = true;
    type AtomicU8 = ModelAtomic<AtomicU8, Shuttle>;
    type AtomicU16 = ModelAtomic<AtomicU16, Shuttle>;
    type AtomicU32 = ModelAtomic<AtomicU32, Shuttle>;
    type AtomicU64 = ModelAtomic<AtomicU64, Shuttle>;
    type AtomicUsize = ModelAtomic<AtomicUsize, Shuttle>;
    type AtomicI8 = ModelAtomic<AtomicI8, Shuttle>;
    type AtomicI16 = ModelAtomic<AtomicI16, Shuttle>;
    type AtomicI32 = ModelAtomic<AtomicI32, Shuttle>;
    type AtomicI64 = ModelAtomic<AtomicI64, Shuttle>;
    type AtomicIsize = ModelAtomic<AtomicIsize, Shuttle>;
    type AtomicBool = ModelAtomic<AtomicBool, Shuttle>;
    type AtomicPtr<T: 'static> = ModelAtomic<AtomicPtr<T>, Shuttle>;
    type Mutex<T: Send + 'static> = ModelMutex<Mutex<T>, Shuttle>;
    type ParkingLotMutex<T: Send + 'static> = ModelMutex<Mutex<T>, Shuttle>;
    type RwLock<T: Send + Sync + 'static> = ModelRwLock<RwLock<T>, Shuttle>;
    type Condvar = ModelCondvar<Shuttle>;
    type Barrier = super::sync::Barrier<Shuttle>;
    type Once = super::sync::Once<Shuttle>;
    type Arc<T: Send + Sync + 'static> = Arc<T>;
    type UnsafeCell<T: Send + 'static> = ModelCell<PlainCell<T>, Shuttle>;
    type JoinHandle<T: Send + 'static> = model::ModelJoinHandle<T, Shuttle>;
    type Thread = model::ModelThread<Shuttle>;

    #[track_caller]
    fn spawn<F, T>(f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        model::spawn::<Shuttle, F, T>(f)
    }
    #[track_caller]
    fn yield_now() {
        model::yield_now::<Shuttle>(false)
    }
    #[track_caller]
    fn spin_loop() {
        model::yield_now::<Shuttle>(true)
    }
    #[track_caller]
    fn fence(order: Ordering) {
        model::fence::<Shuttle>(order)
    }
    #[track_caller]
    fn park() {
        model::park::<Shuttle>()
    }
    fn current() -> Self::Thread {
        model::current::<Shuttle>()
    }
    fn thread_index() -> Option<usize> {
        model::index::<Shuttle>()
    }
    fn set_thread_index(index: Option<usize>) {
        model::set_index::<Shuttle>(index)
    }
    fn thread_token() -> usize {
        <Shuttle as Checker>::token()
    }
    fn attributed<U>(at: &'static Location<'static>, f: impl FnOnce() -> U) -> U {
        model::attributed::<Shuttle, U>(at, f)
    }
}
