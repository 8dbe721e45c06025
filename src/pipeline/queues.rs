//! Which queues join a pipeline's stages: a family of queue types, one per item type.
//!
//! A stage's input holds its own item type, and each stage may change it, so a pipeline needs
//! not one queue type but a family of them: [`StageQueues::Of<T, R>`] is the queue of `T`s on
//! runtime `R`. Four
//! families come with racelab, and a queue of your own joins them in three lines:
//!
//! ```
//! use racelab::pipeline::{Pipeline, StageQueues};
//! use racelab::queue::BoundedBuffer;
//! use racelab::runtime::Runtime;
//!
//! /// My queue, for every item type (here the project's own bounded buffer).
//! struct Mine;
//! impl StageQueues for Mine {
//!     const NAME: &'static str = "mine";
//!     type Of<T: Send + 'static, R: Runtime> = BoundedBuffer<T, R>;
//! }
//!
//! let report = Pipeline::<u32>::builder()
//!     .queues::<Mine>()
//!     .stage("double", 2, |x| Ok::<_, String>(x * 2))
//!     .run(0..100)
//!     .unwrap();
//! assert_eq!(report.outputs.len(), 100);
//! ```
//!
//! What a stage asks of its queue is the [`Queue`] trait's promise: FIFO, bounded at the
//! pipeline's capacity, `close` refusing later pushes (item handed back) while pops drain.
//! Blocking `push` and `pop` should park (`Queue::PARKS`): a queue whose blocking operations
//! retry (crossbeam's `ArrayQueue` adapter) works on real threads but spins while it waits, and
//! the model checkers cannot schedule a spin fairly.

use crate::queue::{BoundedBuffer, ClosableQueue, CrossbeamChannel, MpmcRing, Queue};
use crate::runtime::Runtime;

/// A family of queues for a pipeline: [`StageQueues::Of<T, R>`] holds `T`s, on runtime `R`
/// (real threads, loom or shuttle), so one family serves every engine.
pub trait StageQueues: 'static {
    /// The family's name, for reports and benchmark ids.
    const NAME: &'static str;
    /// The queue of `T`s on runtime `R`.
    type Of<T: Send + 'static, R: Runtime>: Queue<T>;
}

/// The article's [`ClosableQueue`] (a mutex and condition variables): the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Closable;

impl StageQueues for Closable {
    const NAME: &'static str = "ClosableQueue";
    type Of<T: Send + 'static, R: Runtime> = ClosableQueue<T, R>;
}

/// The textbook monitor, [`BoundedBuffer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounded;

impl StageQueues for Bounded {
    const NAME: &'static str = "BoundedBuffer";
    type Of<T: Send + 'static, R: Runtime> = BoundedBuffer<T, R>;
}

/// The lock-free [`MpmcRing`], whose blocking operations park on a signal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rings;

impl StageQueues for Rings {
    const NAME: &'static str = "MpmcRing";
    type Of<T: Send + 'static, R: Runtime> = MpmcRing<T, R>;
}

/// crossbeam's bounded channel, behind racelab's [`CrossbeamChannel`] adapter (its close
/// refuses later sends). Real threads only: the model checkers cannot see crossbeam's atomics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Channels;

impl StageQueues for Channels {
    const NAME: &'static str = "CrossbeamChannel";
    type Of<T: Send + 'static, R: Runtime> = CrossbeamChannel<T, R>;
}
