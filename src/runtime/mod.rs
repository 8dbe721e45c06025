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
//! Rules that keep all three honest:
//! - model-checker types (loom's, shuttle's) may only be created inside that checker's execution;
//!   the engines in [`crate::engine`] take care of that for scenarios;
//! - spin loops call [`Runtime::spin_loop`], which is a CPU hint on `Std` and a *yield* under the
//!   checkers (a spin loop that never yields would be an infinite schedule to them);
//! - std's lock poisoning is ignored (a panicking thread already fails the run), so the lock API
//!   is the same on all three.

mod loom_rt;
mod shuttle_rt;
mod std_rt;

pub use self::loom_rt::{Loom, PanicSafe};
pub use self::shuttle_rt::Shuttle;
pub use self::std_rt::{PlainCell, Std};

use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;
use std::time::Duration;

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

    /// `AtomicUsize`.
    type AtomicUsize: AtomicUsizeApi;
    /// `AtomicBool`.
    type AtomicBool: AtomicBoolApi;
    /// `std::sync::Mutex` (poisoning ignored).
    type Mutex<T: Send + 'static>: MutexApi<T>;
    /// `parking_lot::Mutex` on [`Std`]; the checker's own mutex under [`Loom`] and [`Shuttle`],
    /// which checks how the lock is *used*, not parking_lot's implementation.
    type ParkingLotMutex<T: Send + 'static>: MutexApi<T>;
    /// `std::sync::RwLock` (poisoning ignored).
    type RwLock<T: Send + Sync + 'static>: RwLockApi<T>;
    /// `std::sync::Condvar`, waiting on this runtime's [`Runtime::Mutex`].
    type Condvar: CondvarApi<Self>;
    /// `std::sync::Arc`; loom's own `Arc` under [`Loom`], so leaks are reported.
    type Arc<T: Send + Sync + 'static>: ArcApi<T>;
    /// An `UnsafeCell` with loom's closure API; loom tracks every access and reports a data race
    /// as a causality violation. The std and shuttle cells are unchecked.
    type UnsafeCell<T: Send + 'static>: CellApi<T>;
    /// A joinable thread handle.
    type JoinHandle<T: Send + 'static>: JoinApi<T>;

    /// Spawns a thread of this runtime.
    fn spawn<F, T>(f: F) -> Self::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
    /// `std::thread::yield_now`; a scheduling point under the checkers.
    fn yield_now();
    /// The body of a spin loop: `std::hint::spin_loop` on real threads, a yield under the
    /// checkers.
    fn spin_loop();
    /// `std::sync::atomic::fence`. loom models `fence(SeqCst)` fully (unlike `SeqCst` accesses,
    /// which it treats as `AcqRel`).
    fn fence(order: Ordering);
    /// The scenario thread index of the calling thread (set by the scenario driver), if any.
    fn thread_index() -> Option<usize>;
    /// Sets the calling thread's scenario thread index.
    fn set_thread_index(index: Option<usize>);
    /// A token that identifies the calling thread among the threads alive now (the address of a
    /// thread-local): cheap to read, so a single-producer structure can check its contract on
    /// every call.
    fn thread_token() -> usize;
}

/// The method set of `AtomicUsize`.
pub trait AtomicUsizeApi: Send + Sync + std::fmt::Debug + 'static {
    /// `AtomicUsize::new`.
    fn new(v: usize) -> Self;
    /// `AtomicUsize::load`.
    fn load(&self, order: Ordering) -> usize;
    /// `AtomicUsize::store`.
    fn store(&self, v: usize, order: Ordering);
    /// `AtomicUsize::swap`.
    fn swap(&self, v: usize, order: Ordering) -> usize;
    /// `AtomicUsize::fetch_add`.
    fn fetch_add(&self, v: usize, order: Ordering) -> usize;
    /// `AtomicUsize::fetch_sub`.
    fn fetch_sub(&self, v: usize, order: Ordering) -> usize;
    /// `AtomicUsize::fetch_or`.
    fn fetch_or(&self, v: usize, order: Ordering) -> usize;
    /// `AtomicUsize::compare_exchange`.
    fn compare_exchange(
        &self,
        current: usize,
        new: usize,
        success: Ordering,
        failure: Ordering,
    ) -> Result<usize, usize>;
    /// `AtomicUsize::compare_exchange_weak`.
    fn compare_exchange_weak(
        &self,
        current: usize,
        new: usize,
        success: Ordering,
        failure: Ordering,
    ) -> Result<usize, usize>;
}

/// The method set of `AtomicBool`.
pub trait AtomicBoolApi: Send + Sync + std::fmt::Debug + 'static {
    /// `AtomicBool::new`.
    fn new(v: bool) -> Self;
    /// `AtomicBool::load`.
    fn load(&self, order: Ordering) -> bool;
    /// `AtomicBool::store`.
    fn store(&self, v: bool, order: Ordering);
    /// `AtomicBool::swap`.
    fn swap(&self, v: bool, order: Ordering) -> bool;
    /// `AtomicBool::compare_exchange`.
    fn compare_exchange(
        &self,
        current: bool,
        new: bool,
        success: Ordering,
        failure: Ordering,
    ) -> Result<bool, bool>;
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
    /// shuttle it never times out (both implement it as `wait`): a model has no clock, so a
    /// wait that nobody ends is reported as the deadlock it would be without the timeout.
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

/// The method set of `Arc`.
pub trait ArcApi<T>: Clone + Deref<Target = T> + Send + Sync + 'static {
    /// `Arc::new`.
    fn new(value: T) -> Self;
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
    /// Waits for the thread; `Err` carries its panic payload.
    fn join(self) -> std::thread::Result<T>;
}

/// Implements the atomic `*Api` traits for one backend's atomic types by delegation.
macro_rules! delegate_atomics {
    ($usize:ty, $bool:ty) => {
        impl $crate::runtime::AtomicUsizeApi for $usize {
            #[inline]
            fn new(v: usize) -> Self {
                <$usize>::new(v)
            }
            #[inline]
            fn load(&self, order: Ordering) -> usize {
                <$usize>::load(self, order)
            }
            #[inline]
            fn store(&self, v: usize, order: Ordering) {
                <$usize>::store(self, v, order)
            }
            #[inline]
            fn swap(&self, v: usize, order: Ordering) -> usize {
                <$usize>::swap(self, v, order)
            }
            #[inline]
            fn fetch_add(&self, v: usize, order: Ordering) -> usize {
                <$usize>::fetch_add(self, v, order)
            }
            #[inline]
            fn fetch_sub(&self, v: usize, order: Ordering) -> usize {
                <$usize>::fetch_sub(self, v, order)
            }
            #[inline]
            fn fetch_or(&self, v: usize, order: Ordering) -> usize {
                <$usize>::fetch_or(self, v, order)
            }
            #[inline]
            fn compare_exchange(
                &self,
                c: usize,
                n: usize,
                s: Ordering,
                f: Ordering,
            ) -> Result<usize, usize> {
                <$usize>::compare_exchange(self, c, n, s, f)
            }
            #[inline]
            fn compare_exchange_weak(
                &self,
                c: usize,
                n: usize,
                s: Ordering,
                f: Ordering,
            ) -> Result<usize, usize> {
                <$usize>::compare_exchange_weak(self, c, n, s, f)
            }
        }
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
        }
    };
}
pub(crate) use delegate_atomics;

/// Implements `MutexApi`, `RwLockApi` and `JoinApi` for a backend whose types follow std's
/// `LockResult` shape (std, loom, shuttle).
macro_rules! delegate_std_shaped_locks {
    ($mutex:ident, $guard:ident, $rwlock:ident, $rguard:ident, $wguard:ident, $join:ident) => {
        impl<T: Send + 'static> $crate::runtime::MutexApi<T> for $mutex<T> {
            type Guard<'a> = $guard<'a, T>;
            #[inline]
            fn new(value: T) -> Self {
                $mutex::new(value)
            }
            #[inline]
            fn lock(&self) -> $guard<'_, T> {
                $mutex::lock(self).unwrap_or_else(std::sync::PoisonError::into_inner)
            }
            #[inline]
            fn try_lock(&self) -> Option<$guard<'_, T>> {
                match $mutex::try_lock(self) {
                    Ok(g) => Some(g),
                    Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                    Err(std::sync::TryLockError::WouldBlock) => None,
                }
            }
        }
        impl<T: Send + Sync + 'static> $crate::runtime::RwLockApi<T> for $rwlock<T> {
            type ReadGuard<'a> = $rguard<'a, T>;
            type WriteGuard<'a> = $wguard<'a, T>;
            #[inline]
            fn new(value: T) -> Self {
                $rwlock::new(value)
            }
            #[inline]
            fn read(&self) -> $rguard<'_, T> {
                $rwlock::read(self).unwrap_or_else(std::sync::PoisonError::into_inner)
            }
            #[inline]
            fn write(&self) -> $wguard<'_, T> {
                $rwlock::write(self).unwrap_or_else(std::sync::PoisonError::into_inner)
            }
        }
        impl<T: Send + 'static> $crate::runtime::JoinApi<T> for $join<T> {
            #[inline]
            fn join(self) -> std::thread::Result<T> {
                $join::join(self)
            }
        }
    };
}
pub(crate) use delegate_std_shaped_locks;
