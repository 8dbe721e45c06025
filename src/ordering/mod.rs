//! The memory-ordering family: message passing, lazy initialisation and a store-buffering
//! litmus test. Here the engines disagree: loom models C11's weak memory and sees stale reads;
//! shuttle is sequentially consistent and cannot; real x86 hardware (TSO) keeps stores in order
//! and loads in order, so only the store-buffering litmus shows up in an x86 stress run.
//!
//! Every payload is an atomic accessed `Relaxed` rather than a plain cell, so the racy variants
//! stay free of undefined behaviour on real threads; loom still sees the stale values.

mod litmus;
mod once;
mod publish;

pub use self::litmus::{
    SbOrdering, StoreBuffering, StoreBufferingAcqRel, StoreBufferingRelaxed,
    StoreBufferingSeqCstFence,
};
pub use self::once::{AcquireReleaseOnceInit, OnceInit, OnceOrdering, RelaxedOnceInit};
pub use self::publish::{MessagePassing, Publication, RelaxedPublish, ReleaseAcquirePublish};

/// An ordering variant as the catalogue registers it: its scenarios, and the name of the
/// orderings it runs them with (the variant trait's `NAME`, so the name is written once).
pub trait OrderingVariant: crate::scenario::Subject + Default {
    /// The catalogue name, e.g. `RelaxedPublish`.
    const NAME: &'static str;
}

impl<P: Publication> OrderingVariant for MessagePassing<P> {
    const NAME: &'static str = P::NAME;
}

impl<O: OnceOrdering> OrderingVariant for OnceInit<O> {
    const NAME: &'static str = O::NAME;
}

impl<O: SbOrdering> OrderingVariant for StoreBuffering<O> {
    const NAME: &'static str = O::NAME;
}
