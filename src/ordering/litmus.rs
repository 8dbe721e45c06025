//! The store-buffering litmus test (SB): each thread stores to its own location, then loads the
//! other's. Under sequential consistency at least one load sees a 1; `r1 = r2 = 0` needs a
//! store to sit in a store buffer past the following load.
//!
//! This is the one reordering x86-TSO allows, so here stress on real hardware *can* see what
//! loom sees, and shuttle cannot. The outcome histograms of the report show the set of outcomes
//! each engine could observe at all.

use crate::runtime::{AtomicIntApi, DefaultRuntime, Runtime};
use crate::scenario::{BugClass, Outcome, Scenario, Subject};
use crate::trace;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::{self, Acquire, Relaxed, Release, SeqCst};

/// The orderings of an SB variant.
pub trait SbOrdering: 'static {
    /// The catalogue name.
    const NAME: &'static str;
    /// The stores' ordering.
    const STORE: Ordering;
    /// The loads' ordering.
    const LOAD: Ordering;
    /// Whether a `SeqCst` fence separates each store from the following load.
    const FENCE: bool;
}

/// **Intentionally racy** (if you expect sequential consistency): SB with `Relaxed`.
/// `r1 = r2 = 0` is allowed by C11 and happens on x86.
#[derive(Debug)]
pub struct StoreBufferingRelaxed<R: Runtime = DefaultRuntime>(PhantomData<R>);
impl<R: Runtime> SbOrdering for StoreBufferingRelaxed<R> {
    const NAME: &'static str = "StoreBufferingRelaxed";
    const STORE: Ordering = Relaxed;
    const LOAD: Ordering = Relaxed;
    const FENCE: bool = false;
}

/// **Intentionally racy** (if you expect sequential consistency): SB with Release stores and
/// Acquire loads. Release/Acquire order a store with *earlier* accesses and a load with *later*
/// ones; a store followed by a load is exactly the pair they leave unordered.
#[derive(Debug)]
pub struct StoreBufferingAcqRel<R: Runtime = DefaultRuntime>(PhantomData<R>);
impl<R: Runtime> SbOrdering for StoreBufferingAcqRel<R> {
    const NAME: &'static str = "StoreBufferingAcqRel";
    const STORE: Ordering = Release;
    const LOAD: Ordering = Acquire;
    const FENCE: bool = false;
}

/// SB with a `SeqCst` fence between each store and load (`mfence` on x86): `r1 = r2 = 0` is
/// forbidden. Fences rather than `SeqCst` accesses, because loom models `SeqCst` accesses as
/// `AcqRel` and would report a false alarm on the access-only version.
#[derive(Debug)]
pub struct StoreBufferingSeqCstFence<R: Runtime = DefaultRuntime>(PhantomData<R>);
impl<R: Runtime> SbOrdering for StoreBufferingSeqCstFence<R> {
    const NAME: &'static str = "StoreBufferingSeqCstFence";
    const STORE: Ordering = Relaxed;
    const LOAD: Ordering = Relaxed;
    const FENCE: bool = true;
}

/// The SB litmus scenario for variant `O`.
pub struct StoreBuffering<O>(PhantomData<fn() -> O>);

impl<O> Default for StoreBuffering<O> {
    fn default() -> Self {
        StoreBuffering(PhantomData)
    }
}

fn side<R: Runtime, O: SbOrdering>(mine: &R::AtomicUsize, theirs: &R::AtomicUsize) -> usize {
    mine.store(1, O::STORE);
    if O::FENCE {
        R::fence(SeqCst);
    }
    let r = theirs.load(O::LOAD);
    trace::event(|| format!("store 1, load other → {r}"));
    r
}

impl<O: SbOrdering> Subject for StoreBuffering<O> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            Scenario::<R>::builder("store buffering", || {
                (R::AtomicUsize::new(0), R::AtomicUsize::new(0))
            })
            .observing::<usize>()
            .thread(|(x, y)| side::<R, O>(x, y))
            .thread(|(x, y)| side::<R, O>(y, x))
            .check(|_, r| {
                if r[0] == 0 && r[1] == 0 {
                    Outcome::forbidden(
                        BugClass::WeakMemory,
                        "r1 = 0, r2 = 0: both loads passed both stores",
                    )
                } else {
                    Outcome::ok(format!("r1 = {}, r2 = {}", r[0], r[1]))
                }
            }),
        ]
    }
}
