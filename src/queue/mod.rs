//! The queue family: the closable queue of the seed's pipeline article, bounded buffers, two
//! lock-free rings, and crossbeam's queues as the yardstick.
//!
//! Every queue implements [`Queue`]. The scenarios ([`Queues`]) record each operation's
//! invocation and response ([`crate::lincheck`]) and judge the history against a sequential
//! `VecDeque` model, besides accounting for every item: nothing lost, nothing delivered twice,
//! the bound never exceeded.
//!
//! Correct: [`ClosableQueue`], [`BoundedBuffer`], [`MpmcRing`], [`SpscRing`], and the
//! crossbeam adapters [`CrossbeamArrayQueue`], [`CrossbeamSegQueue`], [`CrossbeamChannel`].
//! Intentionally racy: [`IfNotWhileBuffer`], [`NotifyOneBuffer`], [`CheckThenPushQueue`],
//! [`RelaxedSpscRing`], [`LoadStoreIndexRing`], [`CloseRacesPushQueue`], [`EarlyJoinQueue`].

mod bounded;
mod closable;
pub mod generate;
mod handoff;
mod parking;
mod reference;
mod ring;
mod scenarios;
mod spsc;

pub use self::bounded::{
    BoundedBuffer, CheckThenPushQueue, IfNotWhileBuffer, LatestFirstBuffer, Monitor,
    NotifyOneBuffer,
};
pub use self::closable::{
    ClosableQueue, CloseRacesPushQueue, EarlyJoinQueue, Iter, TaskDoneError, TaskQueue,
};
pub use self::handoff::{Handoff, HandoffBuffer, TimeoutLosesHandoffBuffer};
pub use self::reference::{CrossbeamArrayQueue, CrossbeamChannel, CrossbeamSegQueue};
pub use self::ring::{LoadStoreIndexRing, MpmcRing};
pub use self::scenarios::{Queues, TaskQueues};
pub use self::spsc::{RelaxedSpscRing, SpscRing};

use crate::runtime::Backoff;
use crate::runtime::Runtime;
use std::fmt;
use std::time::Duration;

/// Why a push did not happen. Every variant hands the item back: nothing is dropped.
#[derive(PartialEq, Eq)]
pub enum PushError<T> {
    /// The queue was at its capacity.
    Full(T),
    /// The queue was closed.
    Closed(T),
    /// A blocking push gave up after its timeout (the queue stayed full).
    Timeout(T),
}

impl<T> PushError<T> {
    /// The item that was not pushed.
    pub fn into_inner(self) -> T {
        match self {
            PushError::Full(t) | PushError::Closed(t) | PushError::Timeout(t) => t,
        }
    }
    fn describe(&self) -> &'static str {
        match self {
            PushError::Full(_) => "the queue is full",
            PushError::Closed(_) => "the queue is closed",
            PushError::Timeout(_) => "timed out: the queue stayed full",
        }
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The item need not be Debug; say which case it is.
        f.write_str(match self {
            PushError::Full(_) => "Full(..)",
            PushError::Closed(_) => "Closed(..)",
            PushError::Timeout(_) => "Timeout(..)",
        })
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "push refused: {} (the item is handed back)",
            self.describe()
        )
    }
}

impl<T> std::error::Error for PushError<T> {}

/// Why a pop returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopError {
    /// Nothing to take now (the queue is open).
    Empty,
    /// The queue is closed and drained: no item will ever come.
    Closed,
    /// A blocking pop gave up after its timeout (the queue stayed empty and open).
    Timeout,
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PopError::Empty => "the queue is empty",
            PopError::Closed => "the queue is closed and drained",
            PopError::Timeout => "timed out: the queue stayed empty",
        })
    }
}

impl std::error::Error for PopError {}

/// A queue that cannot be built as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityError {
    /// The queue's name.
    pub queue: &'static str,
    /// The capacity asked for (`None`: unbounded).
    pub requested: Option<usize>,
    /// Why not.
    pub reason: &'static str,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.requested {
            Some(c) => write!(f, "{} with capacity {c}: {}", self.queue, self.reason),
            None => write!(f, "{} unbounded: {}", self.queue, self.reason),
        }
    }
}

impl std::error::Error for CapacityError {}

/// Checks a capacity request for a queue that must be bounded (rings, buffers).
pub(crate) fn bounded_capacity(
    queue: &'static str,
    capacity: Option<usize>,
) -> Result<usize, CapacityError> {
    let err = |reason| CapacityError {
        queue,
        requested: capacity,
        reason,
    };
    match capacity {
        None => Err(err("this queue is bounded; give it a capacity")),
        Some(0) => Err(err(
            "capacity must be at least 1 (a zero-capacity rendezvous is not supported)",
        )),
        Some(c) if c > usize::MAX / 4 => Err(err("capacity too large")),
        Some(c) => Ok(c),
    }
}

/// A concurrent FIFO queue of `T`, bounded or not, that can be closed.
///
/// The trait is safe to implement wrongly on purpose: the racy variants break its promises, and
/// the scenarios catch them. The promises are those of a linearizable FIFO queue with close:
/// each operation takes effect at one instant between its call and its return; after `close`
/// every push is refused with its item handed back, while pops go on until the queue is drained.
pub trait Queue<T: Send + 'static>: Send + Sync + 'static {
    /// The type's name, as in the catalogue.
    const NAME: &'static str;
    /// Whether `push`/`pop` block natively (a condition variable), rather than by retrying
    /// `try_push`/`try_pop`. The model checkers run blocking scenarios only on blocking queues.
    const BLOCKING: bool = false;
    /// Whether a blocking `push`/`pop` parks the thread (a condition variable, a
    /// [`Signal`](crate::runtime::Signal)) rather than retrying `try_push`/`try_pop` (the
    /// default methods). The model checkers run blocking operations only on queues that park:
    /// a retrying wait is a spin, which they cannot schedule fairly.
    const PARKS: bool = Self::BLOCKING;
    /// Single producer, single consumer: one thread pushes and one pops (and the producer
    /// closes).
    const SPSC: bool = false;
    /// Whether the model checkers can run it (crossbeam's std atomics are invisible to them).
    const MODEL_CHECKABLE: bool = true;
    /// The runtime its primitives come from.
    type Rt: Runtime;
    /// The same queue on runtime `Q`.
    type On<Q: Runtime>: Queue<T, Rt = Q>;
    /// A queue holding at most `capacity` items, or unbounded (`None`) if it supports that.
    ///
    /// # Errors
    /// Capacity 0, or an unbounded request to a bounded-only queue (and vice versa).
    fn with_capacity(capacity: Option<usize>) -> Result<Self, CapacityError>
    where
        Self: Sized;
    /// Pushes without waiting.
    ///
    /// # Errors
    /// [`PushError::Full`] or [`PushError::Closed`], with the item.
    fn try_push(&self, item: T) -> Result<(), PushError<T>>;
    /// Pops without waiting.
    ///
    /// # Errors
    /// [`PopError::Empty`], or [`PopError::Closed`] once closed and drained.
    fn try_pop(&self) -> Result<T, PopError>;
    /// Pushes, waiting while the queue is full, for at most `timeout` (`None`: no limit).
    ///
    /// The default retries `try_push`, spinning then yielding, until its [`Deadline`](crate::runtime::Deadline) passes
    /// (under the model checkers, where the engine fires the timer: see
    /// [`crate::runtime::Deadline`]).
    ///
    /// # Errors
    /// [`PushError::Closed`], or [`PushError::Timeout`], with the item.
    fn push_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PushError<T>> {
        let mut wait = Backoff::<Self::Rt>::new(timeout);
        let mut item = item;
        loop {
            match self.try_push(item) {
                Err(PushError::Full(back)) => item = back,
                done => return done,
            }
            if !wait.step() {
                return Err(PushError::Timeout(item));
            }
        }
    }
    /// Pops, waiting while the queue is empty and open, for at most `timeout` (`None`: no
    /// limit). Defaults as for [`Queue::push_timeout`].
    ///
    /// # Errors
    /// [`PopError::Closed`] once closed and drained, or [`PopError::Timeout`].
    fn pop_timeout(&self, timeout: Option<Duration>) -> Result<T, PopError> {
        let mut wait = Backoff::<Self::Rt>::new(timeout);
        loop {
            match self.try_pop() {
                Err(PopError::Empty) => {}
                done => return done,
            }
            if !wait.step() {
                return Err(PopError::Timeout);
            }
        }
    }
    /// Pushes, waiting while the queue is full.
    ///
    /// # Errors
    /// [`PushError::Closed`] with the item.
    fn push(&self, item: T) -> Result<(), PushError<T>> {
        self.push_timeout(item, None)
    }
    /// Pops, waiting while the queue is empty and open.
    ///
    /// # Errors
    /// [`PopError::Closed`] once closed and drained.
    fn pop(&self) -> Result<T, PopError> {
        self.pop_timeout(None)
    }
    /// Closes the queue: later pushes are refused, pops drain what is left, and waiting
    /// threads wake. Returns whether this call closed it (false if it was already closed).
    fn close(&self) -> bool;
    /// Whether the queue is closed.
    fn is_closed(&self) -> bool;
    /// The number of items now (a snapshot; exact only when no operation runs concurrently).
    fn len(&self) -> usize;
    /// Whether [`Queue::len`] is 0.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bound, or `None` if unbounded.
    fn capacity(&self) -> Option<usize>;
}
