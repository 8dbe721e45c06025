//! The checkers' side of the runtime: the primitives [`crate::Loom`] and [`crate::Shuttle`] hand
//! out are thin wrappers around the checker's own, generic over a [`Checker`] backend. Around
//! each checker operation a wrapper
//!
//! - counts the operation against the run's per-execution operation cap;
//! - records it in the trace (when traces are on): value, ordering, thread, source location;
//! - keeps the wait registry: which thread holds which lock, who waits on what, how many
//!   notifications a condvar has pending. A thread about to block when every other thread is
//!   stuck too is a deadlock, reported right there, the same way under loom and shuttle, before
//!   the checker notices it in its own words;
//! - marks its frames, so that a panic is attributed by *where it started*: inside the checker's
//!   code ([`Origin::Checker`]), inside racelab's ([`Origin::Harness`]), or in the structure
//!   under test ([`Origin::User`]). An engine's limit or machinery is never mistaken for a bug
//!   of the structure, and no panic text is parsed to tell them apart.
//!
//! All model threads of an execution run on the engine's OS thread, one at a time, and switch
//! only inside checker operations, so the per-execution context is an OS-thread-local that no
//! borrow ever spans a checker call. Outside a racelab engine (a downstream crate's own
//! `loom::model` over racelab structures) the wrappers only delegate.

mod atomic;
mod cell;
mod condvar;
mod ctx;
mod lock;
mod origin;
mod thread;

pub use self::atomic::ModelAtomic;
pub(crate) use self::atomic::{fence, timer_fires, yield_now};
pub use self::cell::ModelCell;
pub use self::condvar::ModelCondvar;
pub use self::ctx::TraceMode;
pub(crate) use self::ctx::*;
pub use self::lock::{ModelGuard, ModelMutex, ModelReadGuard, ModelRwLock, ModelWriteGuard};
pub use self::origin::Origin;
pub(crate) use self::origin::*;
pub use self::thread::{ModelJoinHandle, ModelThread};
pub(crate) use self::thread::{current, park, spawn};

use super::{
    AtomicBoolApi, AtomicInt, AtomicIntApi, AtomicPtrApi, CellApi, JoinApi, MutexApi, RwLockApi,
    ThreadApi,
};
use crate::scenario::BugClass;
use crate::trace::{CondvarOp, Event, EventKind, LockOp, ThreadOp, Trace, Value};
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};

type Loc = &'static Location<'static>;

// ------------------------------------------------------------------------------------------
// The backend a checker provides.

/// What a model checker provides to racelab's wrappers. Implemented by [`crate::Loom`] and
/// [`crate::Shuttle`]; not meant to be implemented elsewhere.
#[doc(hidden)]
pub trait Checker: Sized + Send + Sync + 'static {
    /// `"loom"` or `"shuttle"`.
    const CHECKER: &'static str;
    /// How many threads one execution may create, the driver included (loom: 5).
    const MAX_THREADS: Option<usize>;
    /// Whether it explores every interleaving within its bound.
    const EXHAUSTIVE: bool;
    /// Whether it models weak memory (stale loads).
    const WEAK_MEMORY: bool;
    /// The checker's mutex.
    type RawMutex<T: Send + 'static>: MutexApi<T>;
    /// The checker's reader-writer lock.
    type RawRwLock<T: Send + Sync + 'static>: RwLockApi<T>;
    /// The checker's condvar.
    type RawCondvar: Send + Sync + 'static;
    /// The checker's join handle.
    type RawJoin<T: Send + 'static>: Send + 'static;
    /// The checker's thread handle.
    type RawThread: Clone + Send + Sync + 'static;
    /// A new condvar.
    fn cv_new() -> Self::RawCondvar;
    /// Waits on `cv`, releasing and retaking the lock of `g`.
    fn cv_wait<'a, T: Send + 'static>(
        cv: &Self::RawCondvar,
        g: RawGuard<'a, Self, T>,
    ) -> RawGuard<'a, Self, T>;
    /// `notify_one`.
    fn cv_notify_one(cv: &Self::RawCondvar);
    /// `notify_all`.
    fn cv_notify_all(cv: &Self::RawCondvar);
    /// Spawns a checker thread.
    fn raw_spawn<F, T>(f: F) -> Self::RawJoin<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
    /// Joins a checker thread.
    fn raw_join<T: Send + 'static>(h: Self::RawJoin<T>) -> std::thread::Result<T>;
    /// The thread of a join handle.
    fn raw_join_thread<T: Send + 'static>(h: &Self::RawJoin<T>) -> Self::RawThread;
    /// The calling thread.
    fn raw_current() -> Self::RawThread;
    /// `Thread::unpark`.
    fn raw_unpark(t: &Self::RawThread);
    /// `park`.
    fn raw_park();
    /// `yield_now`.
    fn raw_yield();
    /// `spin_loop`.
    fn raw_spin_loop();
    /// `fence`.
    fn raw_fence(o: Ordering);
    /// A number that identifies the calling model thread in this execution, cheap to read
    /// (loom: a thread-local racelab sets; shuttle: the task id). The context maps it to the
    /// thread's id.
    fn key() -> usize;
    /// Called first thing on a new thread with its id (loom stores it in the thread-local that
    /// `key` reads; shuttle has its task id already).
    fn set_tid(t: usize);
    /// The calling thread's scenario index (a checker thread-local).
    fn index() -> Option<usize>;
    /// Sets it.
    fn set_index(i: Option<usize>);
    /// The address of a checker thread-local of the calling thread.
    fn token() -> usize;
    /// The engine's next choice of data (shuttle: the scheduler's `next_u64`, which racelab's
    /// schedulers record for replay and the proptest engine draws from its choices). Called
    /// only when the engine chooses when timers fire; loom never does.
    fn random() -> u64;
    /// Ends the current execution now: a failure or a stop has been recorded in the context.
    /// loom: unwinds out of the model with a [`Signal`]; shuttle: yields to racelab's scheduler,
    /// which ends the execution without a panic (shuttle prints every task panic).
    fn stop_execution() -> !;
}

/// The guard of a checker's raw mutex.
pub type RawGuard<'a, B, T> = <<B as Checker>::RawMutex<T> as MutexApi<T>>::Guard<'a>;

/// racelab's own unwinding payloads, raised with `resume_unwind` (so no panic hook runs and the
/// panic record of the user's panic, if any, is kept). Told apart by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The engine stopped the execution: a failure or a cap has been recorded.
    Stop,
}

/// The `Runtime` impl of a checker (and its condvar's `CondvarApi`), the same for loom and
/// shuttle but for the backend's own `Arc` and cell: every primitive is a model wrapper.
macro_rules! model_runtime {
    ($rt:ident, $($atomics:ident)::+, arc = $arc:ty, cell = $cell:ty) => {
        impl $crate::runtime::CondvarApi<$rt> for $crate::runtime::model::ModelCondvar<$rt> {
            fn new() -> Self {
                $crate::runtime::model::ModelCondvar::make()
            }
            #[track_caller]
            fn wait<'a, T: Send + 'static>(
                &self,
                g: $crate::runtime::MutexGuard<'a, $rt, T>,
            ) -> $crate::runtime::MutexGuard<'a, $rt, T> {
                self.wait_guard(g, ::std::panic::Location::caller())
            }
            /// Modelled time: the duration is not read; the engine chooses when the wait
            /// times out (see `CondvarApi::wait_timeout`).
            #[track_caller]
            fn wait_timeout<'a, T: Send + 'static>(
                &self,
                g: $crate::runtime::MutexGuard<'a, $rt, T>,
                _timeout: ::std::time::Duration,
            ) -> ($crate::runtime::MutexGuard<'a, $rt, T>, bool) {
                self.wait_timed(g, ::std::panic::Location::caller())
            }
            #[track_caller]
            fn notify_one(&self) {
                self.notify(false, ::std::panic::Location::caller())
            }
            #[track_caller]
            fn notify_all(&self) {
                self.notify(true, ::std::panic::Location::caller())
            }
        }

        impl $crate::runtime::Runtime for $rt {
            const NAME: &'static str = <$rt as $crate::runtime::model::Checker>::CHECKER;
            const MODEL: bool = true;
            const CAPS: $crate::runtime::Capabilities = $crate::runtime::Capabilities {
                checked: true,
                exhaustive: <$rt as $crate::runtime::model::Checker>::EXHAUSTIVE,
                fair: false,
                modelled_time: true,
                weak_memory: <$rt as $crate::runtime::model::Checker>::WEAK_MEMORY,
                max_threads: match <$rt as $crate::runtime::model::Checker>::MAX_THREADS {
                    Some(n) => Some(n - 1),
                    None => None,
                },
            };
            type AtomicU8 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicU8, $rt>;
            type AtomicU16 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicU16, $rt>;
            type AtomicU32 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicU32, $rt>;
            type AtomicU64 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicU64, $rt>;
            type AtomicUsize = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicUsize, $rt>;
            type AtomicI8 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicI8, $rt>;
            type AtomicI16 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicI16, $rt>;
            type AtomicI32 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicI32, $rt>;
            type AtomicI64 = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicI64, $rt>;
            type AtomicIsize = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicIsize, $rt>;
            type AtomicBool = $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicBool, $rt>;
            type AtomicPtr<T: 'static> =
                $crate::runtime::model::ModelAtomic<$($atomics)::+::AtomicPtr<T>, $rt>;
            type Mutex<T: Send + 'static> = $crate::runtime::model::ModelMutex<
                <$rt as $crate::runtime::model::Checker>::RawMutex<T>,
                $rt,
            >;
            type ParkingLotMutex<T: Send + 'static> = Self::Mutex<T>;
            type RwLock<T: Send + Sync + 'static> = $crate::runtime::model::ModelRwLock<
                <$rt as $crate::runtime::model::Checker>::RawRwLock<T>,
                $rt,
            >;
            type Condvar = $crate::runtime::model::ModelCondvar<$rt>;
            type Barrier = $crate::runtime::sync::Barrier<$rt>;
            type Once = $crate::runtime::sync::Once<$rt>;
            type Arc<T: Send + Sync + 'static> = $arc;
            type UnsafeCell<T: Send + 'static> = $crate::runtime::model::ModelCell<$cell, $rt>;
            type JoinHandle<T: Send + 'static> = $crate::runtime::model::ModelJoinHandle<T, $rt>;
            type Thread = $crate::runtime::model::ModelThread<$rt>;

            #[track_caller]
            fn spawn<F, T>(f: F) -> Self::JoinHandle<T>
            where
                F: FnOnce() -> T + Send + 'static,
                T: Send + 'static,
            {
                $crate::runtime::model::spawn::<$rt, F, T>(None, f)
            }
            #[track_caller]
            fn spawn_named<F, T>(name: &str, f: F) -> Self::JoinHandle<T>
            where
                F: FnOnce() -> T + Send + 'static,
                T: Send + 'static,
            {
                $crate::runtime::model::spawn::<$rt, F, T>(Some(name), f)
            }
            #[track_caller]
            fn yield_now() {
                $crate::runtime::model::yield_now::<$rt>(false)
            }
            #[track_caller]
            fn sleep(_d: ::std::time::Duration) {
                $crate::runtime::model::yield_now::<$rt>(false)
            }
            #[track_caller]
            fn timer_fires() -> bool {
                $crate::runtime::model::timer_fires::<$rt>()
            }
            #[track_caller]
            fn spin_loop() {
                $crate::runtime::model::yield_now::<$rt>(true)
            }
            #[track_caller]
            fn fence(order: ::std::sync::atomic::Ordering) {
                $crate::runtime::model::fence::<$rt>(order)
            }
            #[track_caller]
            fn park() {
                $crate::runtime::model::park::<$rt>()
            }
            fn current() -> Self::Thread {
                $crate::runtime::model::current::<$rt>()
            }
            fn thread_index() -> Option<usize> {
                $crate::runtime::model::index::<$rt>()
            }
            fn set_thread_index(index: Option<usize>) {
                $crate::runtime::model::set_index::<$rt>(index)
            }
            fn thread_token() -> usize {
                <$rt as $crate::runtime::model::Checker>::token()
            }
            fn attributed<U>(at: &'static ::std::panic::Location<'static>, f: impl FnOnce() -> U) -> U {
                $crate::runtime::model::attributed::<$rt, U>(at, f)
            }
        }
    };
}
pub(crate) use model_runtime;
