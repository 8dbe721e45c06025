//! The counter family: the lost-update experiment of the seed article, and its fixes.
//!
//! Python's `count += 1` is read, add, write. Two threads that interleave read-read-write-write
//! lose an increment; the article measured that a stress run happened to lose nothing (thanks to
//! the GIL and luck). Here every variant is checked by every engine, so luck is taken out.
//!
//! Racy: [`LoadStoreCounter`], [`SplitLockCounter`], [`WrongLockCounter`], [`UnsyncCellCounter`].
//! Correct: [`AtomicCounter`], [`MutexCounter`], [`ParkingLotCounter`], [`RwLockCounter`],
//! [`ShardedCounter`].

mod atomic;
mod locked;
mod sharded;

pub use self::atomic::{AtomicCounter, LoadStoreCounter, UnsyncCellCounter};
pub use self::locked::{
    MutexCounter, ParkingLotCounter, RwLockCounter, SplitLockCounter, WrongLockCounter,
};
pub use self::sharded::ShardedCounter;

use crate::runtime::Runtime;
use crate::scenario::{BugClass, Outcome, Scenario, Subject};
use std::marker::PhantomData;

/// A shared counter.
pub trait Counter: Send + Sync + 'static {
    /// The type's name, as in the catalogue.
    const NAME: &'static str;
    /// The same strategy on runtime `Q` (how one generic scenario builds it on every runtime).
    type On<Q: Runtime>: Counter;
    /// A counter at zero.
    fn new() -> Self;
    /// Adds one.
    fn increment(&self);
    /// The current value.
    fn get(&self) -> usize;
}

/// The counter scenarios for counter type `C` (any runtime instance of it).
///
/// - `2 threads × 1 increment` and `3 threads × 1 increment`: the final value must equal the
///   number of increments, else **lost update**.
/// - `increment vs read`: T1 increments once, T2 twice, T3 reads twice. A read must never go
///   backwards or exceed the increments started (an **atomicity violation** made visible), and
///   the final value must be 3.
pub struct Counters<C>(PhantomData<fn() -> C>);

impl<C> Default for Counters<C> {
    fn default() -> Self {
        Counters(PhantomData)
    }
}

fn increments<R: Runtime, C: Counter>(threads: usize) -> Scenario<R> {
    Scenario::<R>::builder(format!("{threads} threads × 1 increment"), C::On::<R>::new)
        .threads(threads, |c| c.increment())
        .check(move |c, _| {
            let n = c.get();
            if n == threads {
                Outcome::ok(format!("counter = {n}"))
            } else {
                Outcome::forbidden(
                    BugClass::LostUpdate,
                    format!("counter = {n}, expected {threads}"),
                )
            }
        })
}

fn increment_vs_read<R: Runtime, C: Counter>() -> Scenario<R> {
    Scenario::<R>::builder("increment vs read", C::On::<R>::new)
        .observing::<Vec<usize>>()
        .thread(|c| {
            c.increment();
            Vec::new()
        })
        .thread(|c| {
            c.increment();
            c.increment();
            Vec::new()
        })
        .thread(|c| vec![c.get(), c.get()])
        .check(|c, seen| {
            let reads = &seen[2];
            let n = c.get();
            if reads[1] < reads[0] {
                Outcome::forbidden(
                    BugClass::AtomicityViolation,
                    format!(
                        "read {} then {}: the counter went backwards",
                        reads[0], reads[1]
                    ),
                )
            } else if reads[1] > 3 {
                Outcome::forbidden(
                    BugClass::AtomicityViolation,
                    format!("read {} with only 3 increments started", reads[1]),
                )
            } else if n != 3 {
                Outcome::forbidden(BugClass::LostUpdate, format!("counter = {n}, expected 3"))
            } else {
                Outcome::ok(format!("reads {}, {}; counter = 3", reads[0], reads[1]))
            }
        })
}

impl<C: Counter> Subject for Counters<C> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            increments::<R, C>(2),
            increments::<R, C>(3),
            increment_vs_read::<R, C>(),
        ]
    }
}
