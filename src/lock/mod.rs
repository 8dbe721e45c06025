//! The lock family: hand-built locks, made from the runtime's atomics so that loom checks the
//! lock itself, not only its use.
//!
//! Racy: [`TestThenSetLock`] (every engine sees it), [`PetersonAcqRel`] (a store-buffering bug:
//! loom sees it, x86 stress can, shuttle cannot), [`RelaxedUnlockSpinLock`] (a release too weak
//! to publish the critical section: only loom sees it). Correct: [`SpinLock`], [`TicketLock`],
//! [`PetersonSeqCst`]. [`LockCounter`] puts any of them around a counter, and the
//! [`Locks`] scenarios check mutual exclusion directly.

mod peterson;
mod spin;
mod ticket;

pub use self::peterson::{PetersonAcqRel, PetersonSeqCst};
pub use self::spin::{RelaxedUnlockSpinLock, Spin, SpinLock, TestThenSetLock};
pub use self::ticket::TicketLock;

use crate::counter::{Counter, Counters};
use crate::runtime::{AtomicIntApi, CellApi, Runtime};
pub(crate) use crate::runtime::{Parker, wait_read};
use crate::scenario::{BugClass, Outcome, Scenario, Subject};
use crate::trace;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;

/// A raw lock: `lock`, `try_lock`, `unlock`, no guard and no data (lock_api's `RawMutex`
/// shape). The trait is safe: a racy implementation is allowed to break its promise, and
/// racelab's job is to catch that.
pub trait RawLock: Send + Sync + 'static {
    /// The type's name, as in the catalogue.
    const NAME: &'static str;
    /// The most threads the algorithm supports (Peterson's: 2).
    const MAX_THREADS: usize = usize::MAX;
    /// Whether its waiters park under the model checkers (`Parker`); if not, loom runs only
    /// its 2-thread scenarios (see [`LOOM_NO_FAIRNESS`]).
    const PARKS_UNDER_MODELS: bool = false;
    /// The runtime its atomics come from.
    type Rt: Runtime;
    /// The same lock on runtime `Q`.
    type On<Q: Runtime>: RawLock<Rt = Q>;
    /// An unlocked lock.
    fn new() -> Self;
    /// Blocks (spins) until the lock is held.
    fn lock(&self);
    /// Takes the lock if that needs no waiting.
    fn try_lock(&self) -> bool;
    /// Releases the lock; only its holder may call this.
    fn unlock(&self);
}

/// A counter protected by lock `L`: the value is read and written with `Relaxed` atomics, as a
/// plain variable would be (the lock supplies the ordering; with a racy lock the run stays free
/// of undefined behaviour).
pub struct LockCounter<L: RawLock> {
    lock: L,
    value: <L::Rt as Runtime>::AtomicUsize,
}

impl<L: RawLock> Counter for LockCounter<L> {
    const NAME: &'static str = L::NAME;
    type On<Q: Runtime> = LockCounter<L::On<Q>>;
    fn new() -> Self {
        LockCounter {
            lock: L::new(),
            value: AtomicIntApi::new(0),
        }
    }
    fn increment(&self) {
        self.lock.lock();
        let v = self.value.load(Relaxed);
        trace::event(|| format!("load → {v}"));
        self.value.store(v + 1, Relaxed);
        trace::event(|| format!("store {}", v + 1));
        self.lock.unlock();
    }
    fn get(&self) -> usize {
        self.lock.lock();
        let v = self.value.load(Relaxed);
        self.lock.unlock();
        v
    }
}

/// The shared state of a mutual-exclusion scenario.
pub struct Exclusion<L: RawLock> {
    lock: L,
    inside: <L::Rt as Runtime>::AtomicUsize,
    violations: <L::Rt as Runtime>::AtomicUsize,
    /// Plain data the critical section writes, under the checkers: loom reports a write that
    /// the lock does not order after the previous holder's (a causality violation), which is
    /// how a lock whose release is too weak fails its *own* scenario. The read-modify-writes on
    /// `inside` always see the latest value, so they alone cannot show that.
    data: <L::Rt as Runtime>::UnsafeCell<u64>,
}

// SAFETY: `data` is the only field that is not `Send + Sync` by itself (a checker's cell). It
// is written only inside the critical section and only under the model checkers, where loom
// checks every access and shuttle runs one thread at a time; a racy lock's overlapping writes
// are exactly what loom reports. The other fields are atomics and the lock.
unsafe impl<L: RawLock> Sync for Exclusion<L> {}
// SAFETY: as above; the cell holds a `u64`.
unsafe impl<L: RawLock> Send for Exclusion<L> {}

fn critical_section<L: RawLock>(s: &Exclusion<L>) {
    s.lock.lock();
    let n = s.inside.fetch_add(1, Relaxed) + 1;
    trace::event(|| format!("enter ({n} inside)"));
    if n > 1 {
        s.violations.fetch_add(1, Relaxed);
    }
    if <L::Rt as Runtime>::MODEL {
        // SAFETY: the lock is held. If it does not exclude (or does not order this write after
        // the previous holder's), loom reports the concurrent access as a causality violation,
        // which is what this scenario is after; shuttle runs one thread at a time. On real
        // threads the cell is not touched: a racy lock would make it a real data race.
        s.data.with_mut(|p| unsafe { *p += 1 });
    }
    s.inside.fetch_sub(1, Relaxed);
    trace::event(|| "leave".to_string());
    s.lock.unlock();
}

fn exclusion<R: Runtime, L: RawLock<Rt = R>>(threads: usize) -> Scenario<R> {
    Scenario::<R>::builder(format!("{threads} threads: mutual exclusion"), || {
        Exclusion {
            lock: L::new(),
            inside: AtomicIntApi::new(0),
            violations: AtomicIntApi::new(0),
            data: CellApi::new(0),
        }
    })
    .threads(threads, critical_section::<L>)
    .check(|s, _| match s.violations.load(Relaxed) {
        0 => Outcome::ok("one thread at a time"),
        _ => Outcome::forbidden(
            BugClass::MutualExclusion,
            "two threads in the critical section at once",
        ),
    })
}

/// The lock scenarios for lock `L`: mutual exclusion with 2 threads (and 3 where the algorithm
/// allows), and the counter scenarios on a [`LockCounter<L>`] (2 threads, and 3 where allowed).
pub struct Locks<L>(PhantomData<fn() -> L>);

impl<L> Default for Locks<L> {
    fn default() -> Self {
        Locks(PhantomData)
    }
}

/// Why loom does not run the 3-thread scenarios of a lock whose waiters spin under the checkers.
pub const LOOM_NO_FAIRNESS: &str = "loom has no fairness: with two threads spinning it explores schedules in which they yield to each other forever and the holder never runs, which exhausts its branch budget; checked with 2 threads under loom, 3 under shuttle";

impl<L: RawLock> Subject for Locks<L> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        let mut v = vec![exclusion::<R, L::On<R>>(2)];
        if L::MAX_THREADS >= 3 {
            v.push(exclusion::<R, L::On<R>>(3));
        }
        v.extend(
            Counters::<LockCounter<L>>::default()
                .scenarios::<R>()
                .into_iter()
                .filter(|s| s.threads() <= L::MAX_THREADS),
        );
        if R::CAPS.exhaustive && !L::PARKS_UNDER_MODELS {
            v = v
                .into_iter()
                .map(|s| {
                    if s.threads() > 2 {
                        s.skip(LOOM_NO_FAIRNESS)
                    } else {
                        s
                    }
                })
                .collect();
        }
        v
    }
}
