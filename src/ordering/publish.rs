//! Publication: a writer stores a payload, then raises a flag; a reader that sees the flag must
//! see the payload.

use crate::runtime::{AtomicBoolApi, AtomicIntApi, DefaultRuntime, Runtime};
use crate::scenario::{BugClass, Outcome, Scenario, Subject};
use crate::trace;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::{self, Acquire, Relaxed, Release};

/// The payload the writer publishes.
pub const PAYLOAD: usize = 42;

/// Payload, then flag, with the given orderings.
#[derive(Debug)]
pub struct Slot<R: Runtime> {
    data: R::AtomicUsize,
    ready: R::AtomicBool,
}

impl<R: Runtime> Slot<R> {
    fn new() -> Self {
        Slot {
            data: R::AtomicUsize::new(0),
            ready: R::AtomicBool::new(false),
        }
    }
    fn publish(&self, store: Ordering) {
        self.data.store(PAYLOAD, Relaxed);
        trace::event(|| format!("data = {PAYLOAD}"));
        self.ready.store(true, store);
        trace::event(|| "ready = true".to_string());
    }
    fn read(&self, load: Ordering) -> Option<usize> {
        let ready = self.ready.load(load);
        trace::event(|| format!("ready → {ready}"));
        ready.then(|| {
            let d = self.data.load(Relaxed);
            trace::event(|| format!("data → {d}"));
            d
        })
    }
}

/// A publication protocol: its flag's store and load orderings.
pub trait Publication: 'static {
    /// The catalogue name.
    const NAME: &'static str;
    /// The flag store's ordering.
    const STORE: Ordering;
    /// The flag load's ordering.
    const LOAD: Ordering;
}

/// **Intentionally racy:** payload and flag both stored and loaded `Relaxed`. Nothing orders the
/// payload store before the flag store *for the reader*, so it can see the flag and a stale
/// payload.
///
/// ```text
/// T1: data = 42
/// T1: ready = true
/// T2: ready → true
/// T2: data → 0        ← the flag's store carried no happens-before
/// ```
///
/// loom sees it. shuttle (sequentially consistent) cannot, and neither does x86 stress: TSO keeps
/// the two stores in order and the two loads in order, so only a compiler reordering could show
/// it there (ARM and POWER show it in hardware). The twin is [`ReleaseAcquirePublish`].
#[derive(Debug)]
pub struct RelaxedPublish<R: Runtime = DefaultRuntime>(PhantomData<R>);

impl<R: Runtime> Publication for RelaxedPublish<R> {
    const NAME: &'static str = "RelaxedPublish";
    const STORE: Ordering = Relaxed;
    const LOAD: Ordering = Relaxed;
}

/// The flag stored `Release` and loaded `Acquire`: everything before the store ..
/// .. is visible after a load that returns `true`.
#[derive(Debug)]
pub struct ReleaseAcquirePublish<R: Runtime = DefaultRuntime>(PhantomData<R>);

impl<R: Runtime> Publication for ReleaseAcquirePublish<R> {
    const NAME: &'static str = "ReleaseAcquirePublish";
    const STORE: Ordering = Release;
    const LOAD: Ordering = Acquire;
}

/// The message-passing scenario for publication protocol `P`.
pub struct MessagePassing<P>(PhantomData<fn() -> P>);

impl<P> Default for MessagePassing<P> {
    fn default() -> Self {
        MessagePassing(PhantomData)
    }
}

impl<P: Publication> Subject for MessagePassing<P> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![
            Scenario::<R>::builder("message passing", Slot::<R>::new)
                .observing::<Option<usize>>()
                .thread(|s| {
                    s.publish(P::STORE);
                    None
                })
                .thread(|s| s.read(P::LOAD))
                .check(|_, seen| match seen[1] {
                    None => Outcome::ok("flag not yet seen"),
                    Some(PAYLOAD) => Outcome::ok(format!("flag seen, data = {PAYLOAD}")),
                    Some(d) => Outcome::forbidden(
                        BugClass::WeakMemory,
                        format!("flag seen but data = {d} (stale), expected {PAYLOAD}"),
                    ),
                }),
        ]
    }
}
