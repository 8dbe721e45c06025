//! Double-checked lazy initialisation.

use crate::runtime::{AtomicBoolApi, AtomicIntApi, DefaultRuntime, MutexApi, Runtime};
use crate::scenario::{BugClass, Outcome, Scenario, Subject};
use crate::trace;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::{self, Acquire, Relaxed, Release};

/// The value the initialiser computes.
pub const VALUE: usize = 7;

/// A lazily initialised value: a fast path that reads `ready` without the lock, a slow path
/// that initialises under it.
#[derive(Debug)]
pub struct Lazy<R: Runtime> {
    ready: R::AtomicBool,
    value: R::AtomicUsize,
    init: R::Mutex<()>,
}

impl<R: Runtime> Lazy<R> {
    fn new() -> Self {
        Lazy {
            ready: R::AtomicBool::new(false),
            value: R::AtomicUsize::new(0),
            init: R::Mutex::new(()),
        }
    }
    fn get(&self, load: Ordering, store: Ordering) -> usize {
        if !self.ready.load(load) {
            let _g = self.init.lock();
            if !self.ready.load(Relaxed) {
                self.value.store(VALUE, Relaxed);
                self.ready.store(true, store);
                trace::event(|| format!("initialised: value = {VALUE}, ready = true"));
            }
        } else {
            trace::event(|| "ready → true (fast path)".to_string());
        }
        let v = self.value.load(Relaxed);
        trace::event(|| format!("value → {v}"));
        v
    }
}

/// The orderings of a double-checked initialisation's fast-path load and publishing store.
pub trait OnceOrdering: 'static {
    /// The catalogue name.
    const NAME: &'static str;
    /// The fast path's load of `ready`.
    const LOAD: Ordering;
    /// The initialiser's store of `ready`.
    const STORE: Ordering;
}

/// **Intentionally racy:** double-checked initialisation with `Relaxed` on the fast path. A
/// thread that sees `ready` without taking the lock has no happens-before edge to the value's
/// store, and can read the value uninitialised.
///
/// ```text
/// T1: initialised: value = 7, ready = true   (under the lock)
/// T2: ready → true (fast path)
/// T2: value → 0                               ← uninitialised
/// ```
///
/// The classic broken double-checked locking. loom sees it; shuttle and x86 stress cannot (see
/// [`super::RelaxedPublish`]). The twin is [`AcquireReleaseOnceInit`] (what `std::sync::Once`
/// does).
#[derive(Debug)]
pub struct RelaxedOnceInit<R: Runtime = DefaultRuntime>(PhantomData<R>);

impl<R: Runtime> OnceOrdering for RelaxedOnceInit<R> {
    const NAME: &'static str = "RelaxedOnceInit";
    const LOAD: Ordering = Relaxed;
    const STORE: Ordering = Relaxed;
}

/// Double-checked initialisation with an `Acquire` fast-path load paired with a `Release`
/// store of `ready`: a thread that sees `ready` sees the value.
#[derive(Debug)]
pub struct AcquireReleaseOnceInit<R: Runtime = DefaultRuntime>(PhantomData<R>);

impl<R: Runtime> OnceOrdering for AcquireReleaseOnceInit<R> {
    const NAME: &'static str = "AcquireReleaseOnceInit";
    const LOAD: Ordering = Acquire;
    const STORE: Ordering = Release;
}

/// Two threads call `get`; both must see the initialised value.
pub struct OnceInit<O>(PhantomData<fn() -> O>);

impl<O> Default for OnceInit<O> {
    fn default() -> Self {
        OnceInit(PhantomData)
    }
}

impl<O: OnceOrdering> Subject for OnceInit<O> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            Scenario::<R>::builder("two threads get", Lazy::<R>::new)
                .observing::<usize>()
                .threads(2, |l| l.get(O::LOAD, O::STORE))
                .check(|_, seen| {
                    if seen.iter().all(|&v| v == VALUE) {
                        Outcome::ok(format!("both read {VALUE}"))
                    } else {
                        Outcome::forbidden(
                            BugClass::WeakMemory,
                            format!("a thread read {:?}: uninitialised value seen", seen),
                        )
                    }
                }),
        ]
    }
}
