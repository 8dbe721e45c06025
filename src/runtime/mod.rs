//! The family of primitives every racelab structure is built from.
//!
//! A structure is generic over a [`Runtime`] (`AtomicCounter<R: Runtime = DefaultRuntime>`), and
//! takes its atomics, locks, condition variables, cells and threads from it. One binary can then
//! run the *same* structure on real threads ([`Std`]), under loom's exhaustive C11 model
//! ([`Loom`]) and under shuttle's randomized schedulers ([`Shuttle`]). Monomorphised over `Std`,
//! the abstraction compiles down to the std types it names and costs nothing.
//!
//! The shape follows crossbeam's `primitive` facade and tokio's `loom` module, with one change:
//! instead of choosing the backend with a `cfg` for the whole build, the backend is a type
//! parameter, so the three coexist in one process. `--cfg loom` still makes [`DefaultRuntime`]
//! = [`Loom`], keeping the ecosystem's `RUSTFLAGS="--cfg loom"` convention for downstream crates.
//!
//! # What there is
//!
//! | std | racelab | notes |
//! |---|---|---|
//! | `AtomicU8` … `AtomicU64`, `AtomicUsize`, `AtomicI8` … `AtomicI64`, `AtomicIsize` | `R::AtomicU8` … | [`AtomicIntApi`] |
//! | `AtomicBool` | `R::AtomicBool` | [`AtomicBoolApi`] |
//! | `AtomicPtr<T>` | `R::AtomicPtr<T>` | [`AtomicPtrApi`] |
//! | `fence` | [`Runtime::fence`] | loom models `fence(SeqCst)` fully |
//! | `Mutex<T>`, `RwLock<T>`, `Condvar` | `R::Mutex<T>`, `R::RwLock<T>`, `R::Condvar` | poisoning ignored |
//! | `parking_lot::Mutex<T>` | `R::ParkingLotMutex<T>` | the checker's mutex under the checkers |
//! | `Barrier`, `Once` | `R::Barrier`, `R::Once` | built from the runtime's mutex and condvar under the checkers (loom has neither) |
//! | `Arc<T>` | `R::Arc<T>` | loom's own `Arc` under loom, so leaks are reported |
//! | `UnsafeCell<T>` | `R::UnsafeCell<T>` | loom's closure API; loom reports data races on it |
//! | `thread::spawn`, `JoinHandle`, `park`, `Thread::unpark` | [`Runtime::spawn`], `R::JoinHandle<T>`, [`Runtime::park`], [`ThreadApi::unpark`] | |
//! | `yield_now`, `hint::spin_loop` | [`Runtime::yield_now`], [`Runtime::spin_loop`] | a spin loop *yields* under the checkers |
//!
//! Bring the method sets into scope with `use racelab::runtime::prelude::*`.
//!
//! # What the checkers see
//!
//! Under [`Loom`] and [`Shuttle`] every primitive is a thin wrapper (in `model`) that, around the
//! checker's own operation:
//! - records the operation in the counterexample trace (value, ordering, source location,
//!   thread name) when traces are on ([`crate::trace`]);
//! - keeps a registry of who holds which lock and who waits on what, so that a deadlock is
//!   reported the same way on every engine: which thread waits on which lock, condvar, join or
//!   park, where;
//! - marks the frames of the checker's own code, so that a panic raised *inside* the checker
//!   (a checker's limit, or its machinery) is told apart from a panic of the structure under test
//!   by where it started, not by its text.
//!
//! On [`Std`] nothing of this runs, except that a thread about to block (contended lock, condvar
//! wait, join, park, barrier) registers the wait while a stress run is watching, so a stress
//! hang names what each thread waits on and condvar waiters can be released.
//!
//! Rules that keep all three honest:
//! - model-checker types (loom's, shuttle's) may only be created inside that checker's execution;
//!   the engines in [`crate::engine`] take care of that for scenarios;
//! - spin loops call [`Runtime::spin_loop`], which is a CPU hint on `Std` and a *yield* under the
//!   checkers (a spin loop that never yields would be an infinite schedule to them);
//! - std's lock poisoning is ignored (a panicking thread already fails the run), so the lock API
//!   is the same on all three.

mod loom_rt;
pub(crate) mod model;
mod shuttle_rt;
mod std_rt;
pub(crate) mod sync;
mod time;
mod wait;

pub use self::loom_rt::{Loom, PanicSafe};
pub use self::model::{
    ModelAtomic, ModelCell, ModelCondvar, ModelGuard, ModelJoinHandle, ModelMutex, ModelReadGuard,
    ModelRwLock, ModelThread, ModelWriteGuard,
};
pub use self::shuttle_rt::Shuttle;
pub(crate) use self::std_rt::watch as std_rt_watch;
pub use self::std_rt::{PlainCell, Std};
pub use self::sync::{Barrier, Once};
pub use self::time::{Capabilities, Deadline, wait_while};
pub(crate) use self::wait::Parker;
pub(crate) use self::wait::spin_first;
pub use self::wait::{Backoff, Signal, wait_read};

use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Every method-set trait, for `use racelab::runtime::prelude::*`.
pub mod prelude {
    pub use super::{
        ArcApi, AtomicBoolApi, AtomicIntApi, AtomicPtrApi, BarrierApi, CellApi, CondvarApi,
        JoinApi, MutexApi, OnceApi, Runtime, RwLockApi, ThreadApi,
    };
    pub use super::{Deadline, wait_while};
}

/// The runtime that un-annotated structures use: [`Std`], or [`Loom`] under `--cfg loom`.
#[cfg(not(loom))]
pub type DefaultRuntime = Std;
/// The runtime that un-annotated structures use: [`Std`], or [`Loom`] under `--cfg loom`.
#[cfg(loom)]
pub type DefaultRuntime = Loom;

/// A family of concurrency primitives: std, loom or shuttle.
///
/// Every associated type mirrors the std type of the same name; the small `*Api` traits below
/// give them one method set.
pub trait Runtime: Sized + Send + Sync + 'static {
    /// `"std"`, `"loom"` or `"shuttle"`.
    const NAME: &'static str;
    /// Whether this runtime is a model checker that controls the schedule (loom, shuttle).
    const MODEL: bool;
    /// What this runtime can show (weak memory, fairness, modelled time, thread limit).
    /// Structures read these rather than [`Runtime::NAME`] or [`Runtime::MODEL`].
    const CAPS: Capabilities;

    /// `AtomicU8`.
    type AtomicU8: AtomicIntApi<u8>;
    /// `AtomicU16`.
    type AtomicU16: AtomicIntApi<u16>;
    /// `AtomicU32`.
    type AtomicU32: AtomicIntApi<u32>;
    /// `AtomicU64`.
    type AtomicU64: AtomicIntApi<u64>;
    /// `AtomicUsize`.
    type AtomicUsize: AtomicIntApi<usize>;
    /// `AtomicI8`.
    type AtomicI8: AtomicIntApi<i8>;
    /// `AtomicI16`.
    type AtomicI16: AtomicIntApi<i16>;
    /// `AtomicI32`.
    type AtomicI32: AtomicIntApi<i32>;
    /// `AtomicI64`.
    type AtomicI64: AtomicIntApi<i64>;
    /// `AtomicIsize`.
    type AtomicIsize: AtomicIntApi<isize>;
    /// `AtomicBool`.
    type AtomicBool: AtomicBoolApi;
    /// `AtomicPtr<T>`.
    type AtomicPtr<T: 'static>: AtomicPtrApi<T>;
    /// `std::sync::Mutex` (poisoning ignored).
    type Mutex<T: Send + 'static>: MutexApi<T>;
    /// `parking_lot::Mutex` on [`Std`]; the checker's own mutex under [`Loom`] and [`Shuttle`],
    /// which checks how the lock is *used*, not parking_lot's implementation.
    type ParkingLotMutex<T: Send + 'static>: MutexApi<T>;
    /// `std::sync::RwLock` (poisoning ignored).
    type RwLock<T: Send + Sync + 'static>: RwLockApi<T>;
    /// `std::sync::Condvar`, waiting on this runtime's [`Runtime::Mutex`].
    type Condvar: CondvarApi<Self>;
    /// `std::sync::Barrier`.
    type Barrier: BarrierApi;
    /// `std::sync::Once`.
    type Once: OnceApi;
    /// `std::sync::Arc`; loom's own `Arc` under [`Loom`], so leaks are reported.
    type Arc<T: Send + Sync + 'static>: ArcApi<T>;
    /// An `UnsafeCell` with loom's closure API; loom tracks every access and reports a data race
    /// as a causality violation. The std and shuttle cells are unchecked.
    type UnsafeCell<T: Send + 'static>: CellApi<T>;
    /// A joinable thread handle.
    type JoinHandle<T: Send + 'static>: JoinApi<T, Thread = Self::Thread>;
    /// A handle to a thread, to unpark it (`std::thread::Thread`).
    type Thread: ThreadApi;

    /// Spawns a thread of this runtime. Traces and wait reports name it `thread#1`, `thread#2`, …
    /// in spawn order (a scenario's own threads are `T1`, `T2`, …).
    fn spawn<F, T>(f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
    /// Spawns a thread named after its role: traces and wait reports call the threads spawned
    /// with `"resize"` `resize#1`, `resize#2`, … in spawn order; on real threads it is the OS
    /// thread's name.
    fn spawn_named<F, T>(name: &str, f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
    /// `std::thread::yield_now`; a scheduling point under the checkers.
    fn yield_now();
    /// Sleeps for `d` (real threads); under the checkers a scheduling point where others run.
    #[track_caller]
    fn sleep(d: Duration);
    /// Whether a modelled timer fires at this point (see [`Deadline::passed`]). Real threads
    /// never ask.
    #[doc(hidden)]
    #[track_caller]
    fn timer_fires() -> bool {
        false
    }
    /// The body of a spin loop: `std::hint::spin_loop` on real threads, a yield under the
    /// checkers.
    fn spin_loop();
    /// `std::sync::atomic::fence`. loom models `fence(SeqCst)` fully (unlike `SeqCst` accesses,
    /// which it treats as `AcqRel`).
    fn fence(order: Ordering);
    /// `std::thread::park`: blocks until the calling thread's token is made available by
    /// [`ThreadApi::unpark`] (on real threads it may also wake spuriously; callers loop).
    fn park();
    /// `std::thread::current`: a handle to the calling thread, to unpark it from another.
    fn current() -> Self::Thread;
    /// The calling thread's index among the scenario's threads: `Some(0)` for the first thread a
    /// scenario adds, `Some(1)` for the second, and so on; `None` on the scenario's driver and on
    /// threads a structure spawns itself. Engines set it on every engine (stress and the
    /// benchmarks included), so a structure may use it to pick a slot or a side (Peterson's lock
    /// does). Traces name scenario thread `i` as `T{i+1}`.
    fn thread_index() -> Option<usize>;
    /// Sets the calling thread's scenario thread index (engines and drivers call this).
    #[doc(hidden)]
    fn set_thread_index(index: Option<usize>);
    /// A token that identifies the calling thread among the threads alive now (the address of a
    /// thread-local): cheap to read, so a single-producer structure can check its contract on
    /// every call.
    fn thread_token() -> usize;
    /// Runs `f`, attributing the primitive operations it makes to `at` in traces and wait
    /// reports: for composite primitives (barrier, once), so a report names the user's call.
    #[doc(hidden)]
    fn attributed<U>(at: &'static std::panic::Location<'static>, f: impl FnOnce() -> U) -> U {
        let _ = at;
        f()
    }
}

/// A value an atomic integer holds: every std integer type.
pub trait AtomicInt:
    Copy + Eq + Ord + std::fmt::Debug + std::fmt::Display + Send + Sync + 'static
{
    /// The value, widened for traces.
    fn widen(self) -> i128;
}

macro_rules! atomic_ints {
    ($($t:ty),*) => {$(
        impl AtomicInt for $t {
            #[inline]
            fn widen(self) -> i128 {
                self as i128
            }
        }
    )*};
}
atomic_ints!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// The method set of the atomic integers (`AtomicUsize`, `AtomicI32`, …).
pub trait AtomicIntApi<V: AtomicInt>: Send + Sync + std::fmt::Debug + 'static {
    /// `new`.
    fn new(v: V) -> Self;
    /// `load`.
    fn load(&self, order: Ordering) -> V;
    /// `store`.
    fn store(&self, v: V, order: Ordering);
    /// `swap`.
    fn swap(&self, v: V, order: Ordering) -> V;
    /// `compare_exchange`.
    fn compare_exchange(
        &self,
        current: V,
        new: V,
        success: Ordering,
        failure: Ordering,
    ) -> Result<V, V>;
    /// `compare_exchange_weak`.
    fn compare_exchange_weak(
        &self,
        current: V,
        new: V,
        success: Ordering,
        failure: Ordering,
    ) -> Result<V, V>;
    /// `fetch_add` (wrapping).
    fn fetch_add(&self, v: V, order: Ordering) -> V;
    /// `fetch_sub` (wrapping).
    fn fetch_sub(&self, v: V, order: Ordering) -> V;
    /// `fetch_and`.
    fn fetch_and(&self, v: V, order: Ordering) -> V;
    /// `fetch_nand`.
    fn fetch_nand(&self, v: V, order: Ordering) -> V;
    /// `fetch_or`.
    fn fetch_or(&self, v: V, order: Ordering) -> V;
    /// `fetch_xor`.
    fn fetch_xor(&self, v: V, order: Ordering) -> V;
    /// `fetch_max`.
    fn fetch_max(&self, v: V, order: Ordering) -> V;
    /// `fetch_min`.
    fn fetch_min(&self, v: V, order: Ordering) -> V;
    /// `fetch_update`.
    fn fetch_update<F>(&self, set: Ordering, fetch: Ordering, f: F) -> Result<V, V>
    where
        F: FnMut(V) -> Option<V>;
    /// `into_inner`.
    fn into_inner(self) -> V;
}

/// The method set of `AtomicBool`.
pub trait AtomicBoolApi: Send + Sync + std::fmt::Debug + 'static {
    /// `new`.
    fn new(v: bool) -> Self;
    /// `load`.
    fn load(&self, order: Ordering) -> bool;
    /// `store`.
    fn store(&self, v: bool, order: Ordering);
    /// `swap`.
    fn swap(&self, v: bool, order: Ordering) -> bool;
    /// `compare_exchange`.
    fn compare_exchange(
        &self,
        current: bool,
        new: bool,
        success: Ordering,
        failure: Ordering,
    ) -> Result<bool, bool>;
    /// `compare_exchange_weak`.
    fn compare_exchange_weak(
        &self,
        current: bool,
        new: bool,
        success: Ordering,
        failure: Ordering,
    ) -> Result<bool, bool>;
    /// `fetch_and`.
    fn fetch_and(&self, v: bool, order: Ordering) -> bool;
    /// `fetch_nand`.
    fn fetch_nand(&self, v: bool, order: Ordering) -> bool;
    /// `fetch_or`.
    fn fetch_or(&self, v: bool, order: Ordering) -> bool;
    /// `fetch_xor`.
    fn fetch_xor(&self, v: bool, order: Ordering) -> bool;
    /// `fetch_update`.
    fn fetch_update<F>(&self, set: Ordering, fetch: Ordering, f: F) -> Result<bool, bool>
    where
        F: FnMut(bool) -> Option<bool>;
    /// `into_inner`.
    fn into_inner(self) -> bool;
}

/// The method set of `AtomicPtr<T>`.
pub trait AtomicPtrApi<T>: Send + Sync + std::fmt::Debug + 'static {
    /// `new`.
    fn new(p: *mut T) -> Self;
    /// `load`.
    fn load(&self, order: Ordering) -> *mut T;
    /// `store`.
    fn store(&self, p: *mut T, order: Ordering);
    /// `swap`.
    fn swap(&self, p: *mut T, order: Ordering) -> *mut T;
    /// `compare_exchange`.
    fn compare_exchange(
        &self,
        current: *mut T,
        new: *mut T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<*mut T, *mut T>;
    /// `compare_exchange_weak`.
    fn compare_exchange_weak(
        &self,
        current: *mut T,
        new: *mut T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<*mut T, *mut T>;
    /// `fetch_update`.
    fn fetch_update<F>(&self, set: Ordering, fetch: Ordering, f: F) -> Result<*mut T, *mut T>
    where
        F: FnMut(*mut T) -> Option<*mut T>;
    /// `into_inner`.
    fn into_inner(self) -> *mut T;
}

/// The method set of a mutex. Poisoning is ignored.
pub trait MutexApi<T>: Send + Sync + 'static {
    /// The RAII guard.
    type Guard<'a>: DerefMut<Target = T>
    where
        Self: 'a;
    /// Creates an unlocked mutex.
    fn new(value: T) -> Self;
    /// Blocks until the lock is held.
    fn lock(&self) -> Self::Guard<'_>;
    /// Takes the lock if it is free.
    fn try_lock(&self) -> Option<Self::Guard<'_>>;
}

/// The guard of `R::Mutex<T>`.
pub type MutexGuard<'a, R, T> = <<R as Runtime>::Mutex<T> as MutexApi<T>>::Guard<'a>;

/// The method set of a reader-writer lock. Poisoning is ignored.
pub trait RwLockApi<T>: Send + Sync + 'static {
    /// The shared guard.
    type ReadGuard<'a>: Deref<Target = T>
    where
        Self: 'a;
    /// The exclusive guard.
    type WriteGuard<'a>: DerefMut<Target = T>
    where
        Self: 'a;
    /// Creates an unlocked lock.
    fn new(value: T) -> Self;
    /// Takes a shared lock.
    fn read(&self) -> Self::ReadGuard<'_>;
    /// Takes the exclusive lock.
    fn write(&self) -> Self::WriteGuard<'_>;
}

/// The method set of a condition variable paired with `R::Mutex`.
pub trait CondvarApi<R: Runtime>: Send + Sync + 'static {
    /// Creates a condition variable.
    fn new() -> Self;
    /// Releases the guard's lock, waits for a notification (or a spurious wakeup), relocks.
    fn wait<'a, T: Send + 'static>(&self, guard: MutexGuard<'a, R, T>) -> MutexGuard<'a, R, T>;
    /// [`CondvarApi::wait`] with a timeout; the flag is true when it timed out. Under loom and
    /// shuttle time is modelled and the duration is not read: the engine chooses where the wait
    /// times out, and it always does when nothing else can run (see [`Deadline`]).
    fn wait_timeout<'a, T: Send + 'static>(
        &self,
        guard: MutexGuard<'a, R, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, R, T>, bool);
    /// Wakes one waiter.
    fn notify_one(&self);
    /// Wakes every waiter.
    fn notify_all(&self);
}

/// The method set of `std::sync::Barrier`.
pub trait BarrierApi: Send + Sync + 'static {
    /// A barrier for `n` threads.
    ///
    /// # Panics
    /// If `n` is 0 (std accepts it and never blocks; a zero-thread barrier is always a mistake
    /// in a test).
    fn new(n: usize) -> Self;
    /// Blocks until `n` threads have called `wait`; returns true on exactly one of them (the
    /// leader), as `BarrierWaitResult::is_leader` does.
    fn wait(&self) -> bool;
}

/// The method set of `std::sync::Once`.
pub trait OnceApi: Send + Sync + 'static {
    /// A `Once` that has not run.
    fn new() -> Self;
    /// Runs `f` if no call has run it yet; every call returns after `f` has completed.
    fn call_once<F: FnOnce()>(&self, f: F);
    /// Whether a `call_once` has completed.
    fn is_completed(&self) -> bool;
}

/// The method set of `Arc`.
pub trait ArcApi<T>: Clone + Deref<Target = T> + Send + Sync + 'static {
    /// `Arc::new`.
    fn new(value: T) -> Self;
    /// `Arc::try_unwrap`: the value, if this is the last reference.
    ///
    /// # Errors
    /// The `Arc` back, if other references are alive.
    fn try_unwrap(this: Self) -> Result<T, Self>;
}

/// The method set of loom's `UnsafeCell`.
pub trait CellApi<T>: 'static {
    /// Creates a cell.
    fn new(value: T) -> Self;
    /// Reads through a shared pointer. Loom records the access.
    fn with<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*const T) -> U;
    /// Writes through a unique pointer. Loom records the access and reports a concurrent one.
    fn with_mut<F, U>(&self, f: F) -> U
    where
        F: FnOnce(*mut T) -> U;
}

/// The method set of a join handle.
pub trait JoinApi<T>: Send + 'static {
    /// The handle of the thread, to unpark it.
    type Thread: ThreadApi;
    /// Waits for the thread; `Err` carries its panic payload.
    fn join(self) -> std::thread::Result<T>;
    /// The thread's handle.
    fn thread(&self) -> Self::Thread;
}

/// The method set of a thread handle (`std::thread::Thread`).
pub trait ThreadApi: Clone + Send + Sync + 'static {
    /// Makes the thread's park token available, waking it if it is parked.
    fn unpark(&self);
}

/// Implements the atomic `*Api` traits for one backend's atomic types by delegation.
macro_rules! delegate_atomics {
    ($($int:ty => $atomic:ty),* ; $bool:ty, $ptr:ident) => {
        $(impl $crate::runtime::AtomicIntApi<$int> for $atomic {
            #[inline]
            fn new(v: $int) -> Self {
                <$atomic>::new(v)
            }
            #[inline]
            fn load(&self, order: Ordering) -> $int {
                <$atomic>::load(self, order)
            }
            #[inline]
            fn store(&self, v: $int, order: Ordering) {
                <$atomic>::store(self, v, order)
            }
            #[inline]
            fn swap(&self, v: $int, order: Ordering) -> $int {
                <$atomic>::swap(self, v, order)
            }
            #[inline]
            fn compare_exchange(
                &self,
                c: $int,
                n: $int,
                s: Ordering,
                f: Ordering,
            ) -> Result<$int, $int> {
                <$atomic>::compare_exchange(self, c, n, s, f)
            }
            #[inline]
            fn compare_exchange_weak(
                &self,
                c: $int,
                n: $int,
                s: Ordering,
                f: Ordering,
            ) -> Result<$int, $int> {
                <$atomic>::compare_exchange_weak(self, c, n, s, f)
            }
            #[inline]
            fn fetch_add(&self, v: $int, order: Ordering) -> $int {
                <$atomic>::fetch_add(self, v, order)
            }
            #[inline]
            fn fetch_sub(&self, v: $int, order: Ordering) -> $int {
                <$atomic>::fetch_sub(self, v, order)
            }
            #[inline]
            fn fetch_and(&self, v: $int, order: Ordering) -> $int {
                <$atomic>::fetch_and(self, v, order)
            }
            #[inline]
            fn fetch_nand(&self, v: $int, order: Ordering) -> $int {
                <$atomic>::fetch_nand(self, v, order)
            }
            #[inline]
            fn fetch_or(&self, v: $int, order: Ordering) -> $int {
                <$atomic>::fetch_or(self, v, order)
            }
            #[inline]
            fn fetch_xor(&self, v: $int, order: Ordering) -> $int {
                <$atomic>::fetch_xor(self, v, order)
            }
            #[inline]
            fn fetch_max(&self, v: $int, order: Ordering) -> $int {
                <$atomic>::fetch_max(self, v, order)
            }
            #[inline]
            fn fetch_min(&self, v: $int, order: Ordering) -> $int {
                <$atomic>::fetch_min(self, v, order)
            }
            #[inline]
            fn fetch_update<F>(&self, s: Ordering, f: Ordering, g: F) -> Result<$int, $int>
            where
                F: FnMut($int) -> Option<$int>,
            {
                <$atomic>::fetch_update(self, s, f, g)
            }
            #[inline]
            fn into_inner(self) -> $int {
                <$atomic>::into_inner(self)
            }
        })*
        impl $crate::runtime::AtomicBoolApi for $bool {
            #[inline]
            fn new(v: bool) -> Self {
                <$bool>::new(v)
            }
            #[inline]
            fn load(&self, order: Ordering) -> bool {
                <$bool>::load(self, order)
            }
            #[inline]
            fn store(&self, v: bool, order: Ordering) {
                <$bool>::store(self, v, order)
            }
            #[inline]
            fn swap(&self, v: bool, order: Ordering) -> bool {
                <$bool>::swap(self, v, order)
            }
            #[inline]
            fn compare_exchange(
                &self,
                c: bool,
                n: bool,
                s: Ordering,
                f: Ordering,
            ) -> Result<bool, bool> {
                <$bool>::compare_exchange(self, c, n, s, f)
            }
            #[inline]
            fn compare_exchange_weak(
                &self,
                c: bool,
                n: bool,
                s: Ordering,
                f: Ordering,
            ) -> Result<bool, bool> {
                <$bool>::compare_exchange_weak(self, c, n, s, f)
            }
            #[inline]
            fn fetch_and(&self, v: bool, order: Ordering) -> bool {
                <$bool>::fetch_and(self, v, order)
            }
            #[inline]
            fn fetch_nand(&self, v: bool, order: Ordering) -> bool {
                <$bool>::fetch_nand(self, v, order)
            }
            #[inline]
            fn fetch_or(&self, v: bool, order: Ordering) -> bool {
                <$bool>::fetch_or(self, v, order)
            }
            #[inline]
            fn fetch_xor(&self, v: bool, order: Ordering) -> bool {
                <$bool>::fetch_xor(self, v, order)
            }
            #[inline]
            fn fetch_update<F>(&self, s: Ordering, f: Ordering, g: F) -> Result<bool, bool>
            where
                F: FnMut(bool) -> Option<bool>,
            {
                <$bool>::fetch_update(self, s, f, g)
            }
            #[inline]
            fn into_inner(self) -> bool {
                <$bool>::into_inner(self)
            }
        }
        impl<T: 'static> $crate::runtime::AtomicPtrApi<T> for $ptr<T> {
            #[inline]
            fn new(p: *mut T) -> Self {
                $ptr::new(p)
            }
            #[inline]
            fn load(&self, order: Ordering) -> *mut T {
                $ptr::load(self, order)
            }
            #[inline]
            fn store(&self, p: *mut T, order: Ordering) {
                $ptr::store(self, p, order)
            }
            #[inline]
            fn swap(&self, p: *mut T, order: Ordering) -> *mut T {
                $ptr::swap(self, p, order)
            }
            #[inline]
            fn compare_exchange(
                &self,
                c: *mut T,
                n: *mut T,
                s: Ordering,
                f: Ordering,
            ) -> Result<*mut T, *mut T> {
                $ptr::compare_exchange(self, c, n, s, f)
            }
            #[inline]
            fn compare_exchange_weak(
                &self,
                c: *mut T,
                n: *mut T,
                s: Ordering,
                f: Ordering,
            ) -> Result<*mut T, *mut T> {
                $ptr::compare_exchange_weak(self, c, n, s, f)
            }
            #[inline]
            fn fetch_update<F>(&self, s: Ordering, f: Ordering, g: F) -> Result<*mut T, *mut T>
            where
                F: FnMut(*mut T) -> Option<*mut T>,
            {
                $ptr::fetch_update(self, s, f, g)
            }
            #[inline]
            fn into_inner(self) -> *mut T {
                $ptr::into_inner(self)
            }
        }
    };
}
pub(crate) use delegate_atomics;
