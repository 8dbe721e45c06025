//! The queue family's part of an entry: a queue type behind fn pointers, so tests and tools can
//! build and drive every registered queue by iterating the catalogue instead of naming types.

use crate::queue::generate::ExploreFn;
use crate::queue::{CapacityError, PopError, PushError, Queue};
use std::time::Duration;

/// An item of any type, for the drop accounting of [`QueueHooks::open_parcels`].
pub type Parcel = Box<dyn std::any::Any + Send>;

/// A [`Queue`] of `T` as a trait object: the same operations, with its name.
pub trait DynQueue<T>: Send + Sync {
    /// The type's name ([`Queue::NAME`]).
    fn name(&self) -> &'static str;
    /// [`Queue::try_push`].
    ///
    /// # Errors
    /// As [`Queue::try_push`].
    fn try_push(&self, item: T) -> Result<(), PushError<T>>;
    /// [`Queue::try_pop`].
    ///
    /// # Errors
    /// As [`Queue::try_pop`].
    fn try_pop(&self) -> Result<T, PopError>;
    /// [`Queue::push`].
    ///
    /// # Errors
    /// As [`Queue::push`].
    fn push(&self, item: T) -> Result<(), PushError<T>>;
    /// [`Queue::pop`].
    ///
    /// # Errors
    /// As [`Queue::pop`].
    fn pop(&self) -> Result<T, PopError>;
    /// [`Queue::push_timeout`].
    ///
    /// # Errors
    /// As [`Queue::push_timeout`].
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>>;
    /// [`Queue::pop_timeout`].
    ///
    /// # Errors
    /// As [`Queue::pop_timeout`].
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError>;
    /// [`Queue::close`].
    fn close(&self) -> bool;
    /// [`Queue::is_closed`].
    fn is_closed(&self) -> bool;
    /// [`Queue::len`].
    fn len(&self) -> usize;
    /// [`Queue::is_empty`].
    fn is_empty(&self) -> bool;
    /// [`Queue::capacity`].
    fn capacity(&self) -> Option<usize>;
}

/// A queue behind [`DynQueue`]. A wrapper rather than an impl for every [`Queue`], so that a
/// concrete queue's methods stay unambiguous where both traits are in scope.
struct Erased<Q>(Q);

impl<T: Send + 'static, Q: Queue<T>> DynQueue<T> for Erased<Q> {
    fn name(&self) -> &'static str {
        Q::NAME
    }
    fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        self.0.try_push(item)
    }
    fn try_pop(&self) -> Result<T, PopError> {
        self.0.try_pop()
    }
    fn push(&self, item: T) -> Result<(), PushError<T>> {
        self.0.push(item)
    }
    fn pop(&self) -> Result<T, PopError> {
        self.0.pop()
    }
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        self.0.push_timeout(item, timeout)
    }
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        self.0.pop_timeout(timeout)
    }
    fn close(&self) -> bool {
        self.0.close()
    }
    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn capacity(&self) -> Option<usize> {
        self.0.capacity()
    }
}

/// Builds a queue of the entry's type holding `T`s, with [`Queue::with_capacity`].
pub type OpenFn<T> = fn(capacity: Option<usize>) -> Result<Box<dyn DynQueue<T>>, CapacityError>;

fn open<T: Send + 'static, Q: Queue<T>>(
    capacity: Option<usize>,
) -> Result<Box<dyn DynQueue<T>>, CapacityError> {
    Ok(Box::new(Erased(Q::with_capacity(capacity)?)))
}

/// What a queue entry adds: the queue type behind fn pointers, and what its declaration allows.
/// Built from the type, so nothing here is written by hand.
#[derive(Debug, Clone, Copy)]
pub struct QueueHooks {
    /// A queue of `u64` on the default runtime (real threads).
    pub open: OpenFn<u64>,
    /// The same queue type holding [`Parcel`]s, whose drops a test can count.
    pub open_parcels: OpenFn<Parcel>,
    /// Lincheck-style exploration with generated programs (`racelab explore`), when the entry is
    /// declared explorable.
    pub explore: Option<ExploreFn>,
    /// The explorer for this type, whether or not the entry is declared explorable.
    explorer: ExploreFn,
    /// [`Queue::SPSC`]: generated programs would break its contract.
    pub spsc: bool,
    /// [`Queue::MODEL_CHECKABLE`]: whether loom and shuttle can see its synchronisation at all.
    /// When false the entry's model-checker expectations are skips, and it is never explored
    /// nor fuzzed.
    pub model_checkable: bool,
}

impl QueueHooks {
    /// The hooks of queue type `Q`, whose twin holding parcels is `P` (the same type).
    pub(super) fn of<Q: Queue<u64>, P: Queue<Parcel>>() -> QueueHooks {
        QueueHooks {
            open: open::<u64, Q>,
            open_parcels: open::<Parcel, P>,
            explore: None,
            explorer: crate::queue::generate::explore::<Q>,
            spsc: Q::SPSC,
            model_checkable: Q::MODEL_CHECKABLE,
        }
    }
    /// The same hooks, with generated-program exploration allowed.
    ///
    /// # Panics
    /// For an SPSC ring or a queue the model checkers cannot run: a declaration error.
    pub(super) fn explorable(self) -> QueueHooks {
        assert!(
            !self.spsc && self.model_checkable,
            "only a multi-producer queue the model checkers can run may be explored"
        );
        QueueHooks {
            explore: Some(self.explorer),
            ..self
        }
    }
}
